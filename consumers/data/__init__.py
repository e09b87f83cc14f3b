"""Data files marketers may edit: the interest taxonomy."""
