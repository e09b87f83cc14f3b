"""Offline sentiment of brand mentions (VADER plus a brand lexicon kept as data).

The campaign's third goal is to find Twitter followers who speak negatively of the brand; this
package scores mentions and folds them into one per-user summary. See ``scoring`` for the API and
``evaluation`` for the quality figure measured on ``tests/data/mentions_labelled.jsonl``.
"""
