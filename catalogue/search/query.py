"""A resident's query as words to search: without stop words, and without the words of a
question or a wish when it has other words. Apart from the index, so the bot can normalise a
query (catalogue/search/demand.py) without loading numpy."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from catalogue.search import forms
from catalogue.search.forms import form_key
from catalogue.search.text import STOP_KEYS
from catalogue.search.text import WEAK_WORDS
from catalogue.search.text import query_words
from catalogue.search.text import search_key
from catalogue.search.types import QueryNote

# Bounds that keep the longest query within the cost of a few ordinary ones.
MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 8
MAX_WORD_CHARS = 32
MIN_WORD_CHARS = 2


@dataclass(frozen=True)
class QueryTerms:
    keys: list[str]
    words: list[str]  # the normalised word each key came from
    note: QueryNote | None


def analyse_query(query: str) -> QueryTerms:
    """Search keys of the query's words, without repeats, stop words or one-letter words."""
    text = query[:MAX_QUERY_CHARS]
    shortened = len(query) > MAX_QUERY_CHARS
    all_words = query_words(text)
    keys: list[str] = []
    kept: list[str] = []
    for word in all_words:
        key = search_key(word)[:MAX_WORD_CHARS]
        if len(word) < MIN_WORD_CHARS or key in STOP_KEYS or key in keys:
            continue
        keys.append(key)
        kept.append(word)
    # Words of a question or a wish count only in a query of nothing else.
    weak = _weak_forms(forms.FORMS)
    strong = [form_key(word[:MAX_WORD_CHARS]) not in weak for word in kept]
    if any(strong) and not all(strong):
        keys = [key for key, keep in zip(keys, strong, strict=True) if keep]
        kept = [word for word, keep in zip(kept, strong, strict=True) if keep]
    if len(keys) > MAX_QUERY_WORDS:
        keys, kept, shortened = keys[:MAX_QUERY_WORDS], kept[:MAX_QUERY_WORDS], True
    if keys:
        note = QueryNote.SHORTENED if shortened else None
    elif not text.strip():
        note = QueryNote.EMPTY
    elif all_words and all(len(word) < MIN_WORD_CHARS for word in all_words):
        note = QueryNote.TOO_SHORT
    else:
        note = QueryNote.NOTHING_TO_SEARCH
    return QueryTerms(keys, kept, note)


@lru_cache(maxsize=2)
def _weak_forms(forms_in_use: str) -> frozenset[str]:
    return frozenset(form_key(word) for word in WEAK_WORDS)
