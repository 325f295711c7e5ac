"""Word forms: every form of a word finds the others, in Russian and English.

A word's *form* is its Snowball stem (PyStemmer, the Russian stemmer for Cyrillic words and
the English one for Latin words): "пенсионерам" and "пенсионеры" are both "пенсионер",
"dancing" and "dance" both "danc". The index keeps each vocabulary word's form beside its
search key (`catalogue.search.text`), and a query word's form also matches as a prefix of the
catalogue's forms, which joins a verb with its noun: "рисовать" (stem "рисова") finds
"рисование" ("рисован"), "программировать" finds "программирование".

pymorphy3's dictionary lemmas were measured against Snowball stems on the labelled queries
(`bench/search.py --forms pymorphy`): a lemma keeps a verb apart from its noun ("рисовать",
"рисование") and knows no English, so the stems serve residents better; see docs/search.md
for the figures. `FORMS` names the one in use, and the bench switches it to compare.
"""

from __future__ import annotations

from functools import lru_cache

import Stemmer

from catalogue.search.text import is_cyrillic
from catalogue.search.text import search_key

SNOWBALL = "snowball"
PYMORPHY = "pymorphy"
FORMS = SNOWBALL

_RUSSIAN = Stemmer.Stemmer("russian")
_ENGLISH = Stemmer.Stemmer("english")
_morph = None


def use(forms: str) -> None:
    """Switch the word forms in use (the bench compares them); clears the cache."""
    global FORMS
    if forms not in {SNOWBALL, PYMORPHY}:
        raise ValueError(forms)
    FORMS = forms
    form.cache_clear()
    form_key.cache_clear()


@lru_cache(maxsize=1 << 17)
def form(word: str) -> str:
    """The form of a normalised word (see the module docstring)."""
    if FORMS == PYMORPHY:
        return _lemma(word)
    if is_cyrillic(word):
        return _RUSSIAN.stemWord(word)
    if word.isascii():
        return _ENGLISH.stemWord(word)
    return word


@lru_cache(maxsize=1 << 17)
def form_key(word: str) -> str:
    """The search key of the word's form: forms compared across spellings and scripts."""
    return search_key(form(word))


def _lemma(word: str) -> str:
    global _morph
    if not is_cyrillic(word):
        return word
    if _morph is None:
        import pymorphy3

        _morph = pymorphy3.MorphAnalyzer()
    return _morph.parse(word)[0].normal_form
