"""Catalogue search: fuzzy, in Russian and English, either script, any word order."""
