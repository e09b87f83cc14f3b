"""authstream: Auth0 logins and signups to enriched, searchable user profiles in Elasticsearch."""

__version__ = "0.1.0"
