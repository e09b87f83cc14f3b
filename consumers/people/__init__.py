"""Finding people: full-text search over profiles and one customer looked up with provenance."""
