"""Unit tests of the offline mention sentiment (consumers/sentiment)."""
