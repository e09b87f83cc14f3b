"""Kibana for the marketer: saved objects generated from the layout, imported over the API."""
