"""The in-memory search index: fuzzy, in Russian and English, either script, any word order.

A query runs in memory, in one pass; the database is only read to build the index
(`catalogue.search.engine`).

1. The query's words become search keys (`catalogue.search.text`), one Latin
   spelling in which Cyrillic and transliterated words meet.
2. Each key is matched against the *vocabulary*, the distinct keys of every indexed text
   (offer titles in every language, keywords, provider and venue names): by rapidfuzz
   ratio (typos), by prefix (short or unfinished words) and by stem (Russian endings). A
   catalogue has far fewer distinct words than texts, so this stays cheap as it grows.
3. An inverted index (vocabulary entry → offers, weighted by the field the word is in)
   turns word matches into per-offer scores; rare words count for more than common ones.
4. Filters are masks over per-offer facts held by the index. Session facts are kept per
   session, so "this weekend at a step-free venue" needs one session that is both.
5. Offers matching every word come first, then by score, then by the soonest session.
"""

from __future__ import annotations

import bisect
import math
import time
from array import array
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import tzinfo
from enum import StrEnum

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz import process

from catalogue.models import OfferFormat
from catalogue.models import OfferKind
from catalogue.search.forms import form_key
from catalogue.search.query import MAX_QUERY_CHARS
from catalogue.search.query import MAX_QUERY_WORDS
from catalogue.search.query import MAX_WORD_CHARS
from catalogue.search.query import MIN_WORD_CHARS
from catalogue.search.query import QueryTerms
from catalogue.search.query import analyse_query
from catalogue.search.text import STOP_KEYS
from catalogue.search.text import compound_parts
from catalogue.search.text import index_words
from catalogue.search.text import is_cyrillic
from catalogue.search.text import other_layout
from catalogue.search.text import search_key
from catalogue.search.text import stem
from catalogue.search.text import words as text_words
from catalogue.search.types import NO_FILTERS
from catalogue.search.types import CatalogueSnapshot
from catalogue.search.types import CatalogueVersion
from catalogue.search.types import Correction
from catalogue.search.types import DateRange
from catalogue.search.types import GeoPoint
from catalogue.search.types import Matched
from catalogue.search.types import OfferFacts
from catalogue.search.types import SearchFilters
from catalogue.search.types import SearchHit
from catalogue.search.types import SearchResults
from catalogue.search.types import Suggestions
from catalogue.search.types import When

# Vocabulary entries one query word may stand for ("eng" → english, engineering, …).
MAX_EXPANSIONS = 24

# Similarities on rapidfuzz's 0–100 scale. One typo in a five-letter word scores 80.
FUZZY_CUTOFF = 78
FUZZY_MIN_CHARS = 4
# A prefix scores between PREFIX_FLOOR (a tiny part of the word) and 100 (all of it).
PREFIX_FLOOR = 80
STEM_SCORE = 90
# Another form of the word ("пенсионерам" for "пенсионеры"), and a form that continues the
# query word's ("рисова|ние" for "рисовать"), and a word of the same synonym group.
FORM_SCORE = 96
FORM_PREFIX_MIN_CHARS = 5
FORM_PREFIX_CAP = 92
SYNONYM_SCORE = 90
SYNONYM_PREFIX_CAP = 86
SUGGESTION_CUTOFF = 65
# A correction is applied at once only to a word of CORRECTION_MIN_CHARS or more, when the
# closest word is this close, in the script the word was typed in: "фестевыль" becomes
# "фестиваль" (75), but "hello" never becomes "дело".
CORRECTION_CUTOFF = 74
CORRECTION_MIN_CHARS = 5
# A compound query word that matches less than this well is also read as its parts.
COMPOUND_SPLIT_BELOW = 90
# The other keyboard layout is tried when the query's words match less than LAYOUT_TRY on
# average, and taken when it matches LAYOUT_MARGIN better and either at least LAYOUT_TAKE on
# average or half its words at LAYOUT_WORD or better.
LAYOUT_TRY = 90.0
LAYOUT_TAKE = 75.0
LAYOUT_WORD = 90.0
LAYOUT_MARGIN = 25.0
MAX_SUGGESTIONS = 5
# Words kept per search key to offer as "did you mean" ("керамика", "keramika", …).
MAX_SPELLINGS = 4

EARTH_RADIUS_KM = 6371.0088
NO_SESSION = np.iinfo(np.int64).max


class IndexedField(StrEnum):
    """Where a word was found; a title says more about an offer than its venue does.
    In order of weight: an offer's weightiest field for a word comes first."""

    TITLE = "title"
    KEYWORD = "keyword"
    PROVIDER = "provider"
    FESTIVAL = "festival"
    VENUE = "venue"
    ATTRIBUTE = "attribute"  # words for the offer's kind, format and price, see below
    AUDIENCE = "audience"  # its tracks, their categories, words for its ages
    ADDRESS = "address"  # of the venues of its upcoming sessions
    DESCRIPTION = "description"


FIELD_WEIGHTS = {
    IndexedField.TITLE: 1.0,
    IndexedField.KEYWORD: 0.9,
    IndexedField.PROVIDER: 0.7,
    IndexedField.FESTIVAL: 0.65,
    IndexedField.VENUE: 0.6,
    IndexedField.ATTRIBUTE: 0.6,
    IndexedField.AUDIENCE: 0.55,
    IndexedField.ADDRESS: 0.45,
    IndexedField.DESCRIPTION: 0.4,
}
_FIELD_CODES = {name: code for code, name in enumerate(IndexedField)}
_WEIGHT_BY_CODE = np.array([FIELD_WEIGHTS[name] for name in IndexedField], dtype=np.float32)
# Residents name what an offer is as often as what it is about: "курсы английского",
# "мастер-класс по керамике", "free lectures". Stems and typos are matched as usual.
KIND_WORDS = {
    OfferKind.COURSE: "course курс",
    OfferKind.MASTER_CLASS: "master class masterclass мастер-класс",
    OfferKind.LECTURE: "lecture talk лекция",
    OfferKind.EXCURSION: "excursion tour экскурсия",
    OfferKind.WORKSHOP: "workshop мастерская практикум",
    OfferKind.FESTIVAL_EVENT: "festival event фестиваль событие",
}
ONLINE_WORDS = "online онлайн"
FREE_WORDS = "free бесплатно"
# Words for who an offer is for, from its ages.
CHILDREN_WORDS = "children kids дети детский ребенок"  # up to 12
TEENAGER_WORDS = "teenagers teens подростки школьники"  # 12 to 18
SENIOR_WORDS = "seniors пожилые пенсионеры"  # from 55


# ---------------------------------------------------------------- query analysis


@dataclass(frozen=True)
class _QueryWord:
    word: str  # normalised, as typed
    key: str
    expansions: dict[int, float]  # vocabulary id → similarity 0–100

    @property
    def best(self) -> float:
        return max(self.expansions.values(), default=0.0)


# ---------------------------------------------------------------- the index


@dataclass(frozen=True)
class _Vocabulary:
    """Distinct search keys, sorted (for prefixes) and grouped by length (for fuzzy)."""

    keys: list[str]
    lengths: np.ndarray
    by_length: np.ndarray  # vocabulary ids ordered by key length
    keys_by_length: list[str]
    length_starts: np.ndarray  # length_starts[n]: first position in by_length of length n
    stems: dict[str, list[int]]
    forms: dict[str, list[int]]  # form key (catalogue.search.forms) → vocabulary ids
    spellings: list[tuple[str, ...]]  # normalised words seen for each key
    synonyms: dict[str, frozenset[str]]  # form key → form keys of its synonym group

    @classmethod
    def build(
        cls, keys: list[str], spellings: list[tuple[str, ...]], synonym_groups: list[list[str]]
    ) -> _Vocabulary:
        lengths = np.fromiter((len(key) for key in keys), dtype=np.int32, count=len(keys))
        by_length = np.argsort(lengths, kind="stable").astype(np.int32)
        longest = int(lengths.max(initial=0))
        length_starts = np.searchsorted(lengths[by_length], np.arange(longest + 2))
        stems: dict[str, list[int]] = {}
        for term, key in enumerate(keys):
            key_stem = stem(key)
            if key_stem:
                stems.setdefault(key_stem, []).append(term)
        word_forms: dict[str, list[int]] = {}
        for term, options in enumerate(spellings):
            for word_form in {form_key(word) for word in options}:
                word_forms.setdefault(word_form, []).append(term)
        synonyms: dict[str, frozenset[str]] = {}
        for group in synonym_groups:
            members = frozenset(form_key(word) for entry in group for word in text_words(entry))
            for member in members:
                synonyms[member] = synonyms.get(member, frozenset()) | (members - {member})
        return cls(
            keys=keys,
            lengths=lengths,
            by_length=by_length,
            keys_by_length=[keys[term] for term in by_length],
            length_starts=length_starts,
            stems=stems,
            forms=word_forms,
            spellings=spellings,
            synonyms=synonyms,
        )

    def expand(self, key: str, word: str) -> dict[int, float]:
        """Vocabulary ids the query word (its search key and normalised spelling) may stand
        for, with a similarity of 0–100."""
        found: dict[int, float] = {}

        def keep(term: int, score: float) -> None:
            if score > found.get(term, 0.0):
                found[term] = score

        if len(key) >= FUZZY_MIN_CHARS:
            for term, score in self._fuzzy(key, FUZZY_CUTOFF, MAX_EXPANSIONS):
                keep(term, score)
        for term in self._prefixed(key):
            keep(term, PREFIX_FLOOR + (100 - PREFIX_FLOOR) * len(key) / self.lengths[term])
        key_stem = stem(key)
        for term in self.stems.get(key_stem, ()) if key_stem else ():
            keep(term, STEM_SCORE)
        word_form = form_key(word)
        for term in self.forms.get(word_form, ()):
            keep(term, FORM_SCORE)
        if len(word_form) >= FORM_PREFIX_MIN_CHARS and word_form != key:
            for term in self._prefixed(word_form):
                keep(term, self._prefix_score(word_form, term, FORM_PREFIX_CAP))
        for synonym in self.synonyms.get(word_form, ()):
            for term in self.forms.get(synonym, ()):
                keep(term, SYNONYM_SCORE)
            if len(synonym) >= FORM_PREFIX_MIN_CHARS:
                for term in self._prefixed(synonym):
                    keep(term, self._prefix_score(synonym, term, SYNONYM_PREFIX_CAP))
        best = sorted(found.items(), key=lambda item: -item[1])[:MAX_EXPANSIONS]
        return dict(best)

    def _prefix_score(self, prefix: str, term: int, cap: float) -> float:
        return min(cap, PREFIX_FLOOR + (100 - PREFIX_FLOOR) * len(prefix) / self.lengths[term])

    def closest(self, key: str, cutoff: float = SUGGESTION_CUTOFF) -> list[tuple[int, float]]:
        """For "did you mean" and corrections: the nearest keys, closest first."""
        return self._fuzzy(key, cutoff, MAX_SUGGESTIONS * 2)

    def _fuzzy(self, key: str, cutoff: float, limit: int) -> list[tuple[int, float]]:
        # Indel similarity s needs |a - b| <= (1 - s)(a + b): only nearby lengths can pass.
        ratio = cutoff / 100
        shortest = math.ceil(len(key) * ratio / (2 - ratio))
        longest = math.floor(len(key) * (2 - ratio) / ratio)
        last = len(self.length_starts) - 1
        start = self.length_starts[min(shortest, last)]
        stop = self.length_starts[min(longest + 1, last)]
        matches = process.extract(
            key,
            self.keys_by_length[start:stop],
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=cutoff,
            limit=limit,
        )
        return [(int(self.by_length[start + index]), score) for _, score, index in matches]

    def _prefixed(self, key: str) -> Iterable[int]:
        start = bisect.bisect_left(self.keys, key)
        # The last code point sorts after every continuation of `key`.
        stop = bisect.bisect_left(self.keys, key + "\U0010ffff", lo=start)
        if stop - start <= MAX_EXPANSIONS:
            return range(start, stop)
        # Many words share a short prefix: the shortest are the likeliest completions.
        shortest = np.argpartition(self.lengths[start:stop], MAX_EXPANSIONS)[:MAX_EXPANSIONS]
        return (start + int(position) for position in shortest)

    def spelling(self, term: int, scripts: Sequence[bool]) -> str | None:
        """A word the catalogue uses for this key, in the first of the scripts (True:
        Cyrillic) it has one in; None when it has none in any of them."""
        options = self.spellings[term]
        for cyrillic in scripts:
            for word in options:
                if is_cyrillic(word) == cyrillic:
                    return word
        return None


@dataclass(frozen=True)
class _TextMatch:
    score: np.ndarray  # per offer, 0–100, rounded to 0.1 so near-equal scores tie
    all_words: np.ndarray
    any_word: np.ndarray
    unmatched: list[int]  # positions of query keys the vocabulary has nothing for


@dataclass(frozen=True)
class _Sessions:
    """Upcoming sessions grouped by offer position, each group in start order."""

    offsets: np.ndarray  # offer position p owns sessions offsets[p]:offsets[p + 1]
    starts: np.ndarray  # epoch seconds
    ends: np.ndarray
    venues: np.ndarray  # venue position; the last position stands for "no venue"


@dataclass(frozen=True)
class _Venues:
    latitude: np.ndarray  # NaN where unknown, and in the last, "no venue" slot
    longitude: np.ndarray
    step_free: np.ndarray


@dataclass(frozen=True)
class SearchIndex:
    """The catalogue prepared for search; immutable once built, safe to share."""

    version: CatalogueVersion
    offer_ids: np.ndarray  # position → Offer.id
    vocabulary: _Vocabulary
    posting_offsets: np.ndarray  # vocabulary id t owns postings offsets[t]:offsets[t + 1]
    posting_offers: np.ndarray  # offer positions
    posting_fields: np.ndarray  # code of the field the word is in (IndexedField order)
    idf: np.ndarray
    free: np.ndarray
    formats: np.ndarray  # OfferFormat as codes, see _FORMAT_CODES
    languages: np.ndarray
    language_codes: dict[str, int]
    age_min: np.ndarray
    age_max: np.ndarray
    track_offers: dict[int, np.ndarray]
    category_offers: dict[int, np.ndarray]
    sessions: _Sessions
    venues: _Venues
    built_at: float = field(default_factory=time.monotonic)

    @property
    def size(self) -> int:
        return len(self.offer_ids)

    @classmethod
    def build(cls, snapshot: CatalogueSnapshot) -> SearchIndex:
        return _IndexBuilder(snapshot).build()

    def search(
        self,
        query: str,
        filters: SearchFilters = NO_FILTERS,
        *,
        now: datetime,
        zone: tzinfo,
        limit: int = 10,
        locale: str | None = None,
        correct: bool = True,
    ) -> SearchResults:
        """Offers for `query` and `filters`, best first; `zone` is the resident's, `locale`
        their language (corrections and suggestions in its script come first).

        With `correct`, a query typed with the wrong keyboard layout is searched as it
        reads in the other one, and a query that finds nothing is searched again with the
        closest words the catalogue knows; `searched` and `correction` of the results say
        so. When even that finds nothing, the results are the nearest offers (`nearest`).
        """
        terms = analyse_query(query)
        browsing = not terms.keys
        if browsing and not filters.active() and filters.near is None:
            return SearchResults([], 0, terms.note)
        window = _time_window(filters.when, now, zone) if filters.when else None
        if browsing:
            found = self._apply_filters(None, filters, now, window)
            if found.positions.size == 0:
                suggestions = self._suggest([], None, filters, now, window, locale)
                return SearchResults([], 0, terms.note, suggestions)
            return SearchResults(self._rank(found, None, limit), found.positions.size, terms.note)
        words = self._read(terms)
        searched, correction = None, None
        if correct:
            swapped = self._other_layout(query, words)
            if swapped is not None:
                searched, correction = swapped
                terms = analyse_query(searched)
                words = self._read(terms)
        text = self._match_text(words)
        found = self._apply_filters(text, filters, now, window, limit)
        if found.total == 0 and correct and correction is None and text.unmatched:
            corrected = self._corrected(words, text.unmatched)
            if corrected is not None:
                corrected_words = self._read(analyse_query(corrected))
                corrected_text = self._match_text(corrected_words)
                corrected_found = self._apply_filters(corrected_text, filters, now, window, limit)
                if corrected_found.total:
                    return SearchResults(
                        self._rank(corrected_found, corrected_text, limit),
                        corrected_found.total,
                        terms.note,
                        searched=corrected,
                        correction=Correction.SPELLING,
                    )
        if found.total == 0:
            suggestions = self._suggest(words, text, filters, now, window, locale)
            nearest = self._nearest(words, filters, now, window, limit) if correct else []
            return SearchResults(
                nearest,
                len(nearest),
                terms.note,
                suggestions,
                searched,
                correction,
                nearest=bool(nearest),
            )
        return SearchResults(
            self._rank(found, text, limit),
            found.total,
            terms.note,
            searched=searched,
            correction=correction,
        )

    # ------------------------------------------------------------ reading the query

    def _read(self, terms: QueryTerms) -> list[_QueryWord]:
        """Each query word with what it may stand for; a compound word that matches poorly
        as a whole ("экотропа") is read as its parts too ("эко", "тропа")."""
        read: list[_QueryWord] = []
        for key, word in zip(terms.keys, terms.words, strict=True):
            whole = _QueryWord(word, key, self.vocabulary.expand(key, word))
            parts = compound_parts(word) if whole.best < COMPOUND_SPLIT_BELOW else []
            if not parts:
                read.append(whole)
                continue
            for part in parts:
                part_key = search_key(part)[:MAX_WORD_CHARS]
                read.append(_QueryWord(part, part_key, self.vocabulary.expand(part_key, part)))
        return read[: MAX_QUERY_WORDS + 2]

    def _other_layout(self, query: str, words: list[_QueryWord]) -> tuple[str, Correction] | None:
        """The query as typed in the other keyboard layout, when that reads as words and
        the query as typed does not."""
        typed = _match_quality(words)
        if typed >= LAYOUT_TRY:
            return None
        swapped = other_layout(query[:MAX_QUERY_CHARS])
        if swapped is None:
            return None
        swapped_words = self._read(analyse_query(swapped))
        quality = _match_quality(swapped_words)
        # Half its words or more read as the catalogue's ("нордическая ходьба").
        well_read = sum(read.best >= LAYOUT_WORD for read in swapped_words)
        readable = quality >= LAYOUT_TAKE or 2 * well_read >= len(swapped_words)
        if readable and quality >= typed + LAYOUT_MARGIN:
            return " ".join(swapped.split()), Correction.LAYOUT
        return None

    def _corrected(self, words: list[_QueryWord], unmatched: list[int]) -> str | None:
        """The query with each unmatched word replaced by the closest word the catalogue
        has in the same script, or None when no word has one close enough."""
        corrected = [read.word for read in words]
        changed = False
        for position in unmatched:
            read = words[position]
            if len(read.key) < CORRECTION_MIN_CHARS:
                continue
            script = [is_cyrillic(read.word)]
            for term, _ in self.vocabulary.closest(read.key, CORRECTION_CUTOFF):
                spelling = self.vocabulary.spelling(term, script)
                if spelling is not None:
                    corrected[position], changed = spelling, True
                    break
        return " ".join(corrected) if changed else None

    # ------------------------------------------------------------ text

    def _match_text(self, words: list[_QueryWord]) -> _TextMatch:
        total = np.zeros(self.size, dtype=np.float32)
        matched_words = np.zeros(self.size, dtype=np.int8)
        weights = 0.0
        unmatched = []
        for position, read in enumerate(words):
            expansions = read.expansions
            if not expansions:
                unmatched.append(position)
                weights += math.log1p(max(self.size, 1))
                continue
            best = self._best_scores(expansions)
            # A query word weighs as much as the rarest meaning it was read as.
            weight = float(self.idf[max(expansions, key=expansions.__getitem__)])
            total += best * np.float32(weight)
            weights += weight
            matched_words += best > 0
        score = np.round(total / np.float32(max(weights, 1e-9)), 1)
        return _TextMatch(score, matched_words == len(words), matched_words > 0, unmatched)

    def _best_scores(self, expansions: dict[int, float]) -> np.ndarray:
        """Per offer, the best of (field weight × similarity) over the expansions."""
        best = np.zeros(self.size, dtype=np.float32)
        for term, similarity in expansions.items():
            start, stop = self.posting_offsets[term], self.posting_offsets[term + 1]
            offers = self.posting_offers[start:stop]
            scores = _WEIGHT_BY_CODE[self.posting_fields[start:stop]] * np.float32(similarity)
            best[offers] = np.maximum(best[offers], scores)
        return best

    # ------------------------------------------------------------ filters

    def _apply_filters(
        self,
        text: _TextMatch | None,
        filters: SearchFilters,
        now: datetime,
        window: tuple[datetime, datetime] | None,
        limit: int = 0,
    ) -> _Found:
        """The offers the text and filters let through; with a `limit`, and nothing that
        depends on sessions but their order, only those that can reach the first `limit`
        places get their session facts (`total` still counts them all)."""
        mask = np.ones(self.size, dtype=bool) if text is None else text.any_word.copy()
        if filters.free_only:
            mask &= self.free
        if filters.format is not None:
            mask &= np.isin(self.formats, _FORMATS_ACCEPTED[filters.format])
        if filters.language is not None:
            mask &= self.languages == self.language_codes.get(filters.language, -1)
        if filters.age is not None:
            mask &= (self.age_min <= filters.age) & (filters.age <= self.age_max)
        if filters.track_id is not None:
            mask &= self._members(self.track_offers, filters.track_id)
        if filters.category_id is not None:
            mask &= self._members(self.category_offers, filters.category_id)
        positions = np.flatnonzero(mask)
        total = positions.size
        by_text_alone = window is None and not filters.step_free_only and filters.near is None
        if text is None or not by_text_alone or total <= limit or limit <= 0:
            return self._session_facts(positions, filters, now, window)
        primary = _primary_key(text, positions)
        threshold = np.partition(primary, limit - 1)[limit - 1]
        found = self._session_facts(positions[primary <= threshold], filters, now, window)
        return replace(found, total=total)

    def _members(self, groups: dict[int, np.ndarray], key: int) -> np.ndarray:
        members = np.zeros(self.size, dtype=bool)
        members[groups.get(key, np.empty(0, dtype=np.int32))] = True
        return members

    def _session_facts(
        self,
        positions: np.ndarray,
        filters: SearchFilters,
        now: datetime,
        window: tuple[datetime, datetime] | None,
    ) -> _Found:
        """Each offer's first session that is not over and passes the session filters."""
        sessions = self.sessions
        firsts = sessions.offsets[positions]
        counts = sessions.offsets[positions + 1] - firsts
        owner = np.repeat(np.arange(positions.size), counts)
        index = np.repeat(firsts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        usable = sessions.ends[index] > now.timestamp()
        if window is not None:
            starts = sessions.starts[index]
            usable &= (starts >= window[0].timestamp()) & (starts < window[1].timestamp())
        if filters.step_free_only:
            usable &= self.venues.step_free[sessions.venues[index]]
        index, owner = index[usable], owner[usable]
        first = np.ones(owner.size, dtype=bool)
        first[1:] = owner[1:] != owner[:-1]
        next_start = np.full(positions.size, NO_SESSION, dtype=np.int64)
        next_start[owner[first]] = sessions.starts[index[first]]
        distance = None
        if filters.near is not None:
            by_venue = _haversine_km(filters.near, self.venues.latitude, self.venues.longitude)
            per_session = np.nan_to_num(by_venue[sessions.venues[index]], nan=np.inf)
            distance = np.full(positions.size, np.inf)
            if owner.size:
                nearest = np.minimum.reduceat(per_session, np.flatnonzero(first))
                distance[owner[first]] = nearest
        if window is not None or filters.step_free_only:
            keep = next_start != NO_SESSION
            positions, next_start = positions[keep], next_start[keep]
            distance = None if distance is None else distance[keep]
        return _Found(positions.size, positions, next_start, distance)

    # ------------------------------------------------------------ ranking

    def _rank(self, found: _Found, text: _TextMatch | None, limit: int) -> list[SearchHit]:
        positions = found.positions
        ids = self.offer_ids[positions]
        keys: list[np.ndarray] = []
        if text is not None:
            # All words before some, folded into one key with the next level so that `_top`
            # can cut on it: scores are at most 100 and distances far below 1e6 km.
            all_words = text.all_words[positions]
            score = text.score[positions]
            if found.distance is None:
                keys.append(_primary_key(text, positions))
            else:
                keys += [np.where(all_words, 0.0, 1e6) + found.distance, -score]
        elif found.distance is not None:
            keys.append(found.distance)
        keys += [found.next_start, ids]
        order = _top(keys, limit)
        hits = []
        for row in order:
            starts = int(found.next_start[row])
            distance = None if found.distance is None else float(found.distance[row])
            full = text is None or bool(text.all_words[positions[row]])
            hits.append(
                SearchHit(
                    offer_id=int(ids[row]),
                    score=0.0 if text is None else round(float(text.score[positions[row]]), 1),
                    matched=Matched.ALL_WORDS if full else Matched.SOME_WORDS,
                    next_session_at=(
                        None if starts == NO_SESSION else datetime.fromtimestamp(starts, UTC)
                    ),
                    distance_km=(
                        round(distance, 2) if distance is not None and distance < np.inf else None
                    ),
                )
            )
        return hits

    # ------------------------------------------------------------ empty results

    def _suggest(
        self,
        words: list[_QueryWord],
        text: _TextMatch | None,
        filters: SearchFilters,
        now: datetime,
        window: tuple[datetime, datetime] | None,
        locale: str | None,
    ) -> Suggestions:
        spellings: list[str] = []
        if text is not None:
            for position in text.unmatched:
                read = words[position]
                # The resident's language first, then the script the word was typed in.
                scripts = list(dict.fromkeys([_locale_cyrillic(locale, read.word)]))
                scripts += [] if is_cyrillic(read.word) in scripts else [is_cyrillic(read.word)]
                for term, _ in self.vocabulary.closest(read.key):
                    spelling = self.vocabulary.spelling(term, scripts)
                    if spelling is not None and spelling not in spellings:
                        spellings.append(spelling)
        relax = []
        for name in filters.active():
            loosened = replace(filters, **{name: getattr(NO_FILTERS, name)})
            loosened_window = window if name != "when" else None
            if self._apply_filters(text, loosened, now, loosened_window).positions.size:
                relax.append(name)
        return Suggestions(spellings[:MAX_SUGGESTIONS], relax)

    def _nearest(
        self,
        words: list[_QueryWord],
        filters: SearchFilters,
        now: datetime,
        window: tuple[datetime, datetime] | None,
        limit: int,
    ) -> list[SearchHit]:
        """When nothing matches: the offers of the closest words, however far, that pass
        the filters; failing those, the soonest offers that do."""
        score = np.zeros(self.size, dtype=np.float32)
        for read in words:
            closest = dict(self.vocabulary.closest(read.key))
            if closest:
                score = np.maximum(score, self._best_scores(closest))
        near = score > 0
        text = _TextMatch(np.round(score, 1), near, near, [])
        found = self._apply_filters(text, filters, now, window, limit)
        if found.total == 0:
            text, found = None, self._apply_filters(None, filters, now, window)
        hits = self._rank(found, text, limit)
        return [replace(hit, matched=Matched.SOME_WORDS) for hit in hits]


def _match_quality(words: list[_QueryWord]) -> float:
    """How well the query's words read as the catalogue's words: their mean best match."""
    return sum(read.best for read in words) / len(words) if words else 0.0


def _locale_cyrillic(locale: str | None, word: str) -> bool:
    """Whether the resident's language is written in Cyrillic (unknown: as the word is)."""
    if locale is None:
        return is_cyrillic(word)
    return locale.split("-")[0] in {"ru", "uk", "be", "kk", "bg", "sr"}


def _primary_key(text: _TextMatch, positions: np.ndarray) -> np.ndarray:
    """The first ranking key: offers matching every word first, then by score."""
    return np.where(text.all_words[positions], 0.0, 1000.0) - text.score[positions]


@dataclass(frozen=True)
class _Found:
    total: int  # offers that pass, of which `positions` may be only those that can rank
    positions: np.ndarray  # offer positions, ascending
    next_start: np.ndarray  # epoch seconds or NO_SESSION
    distance: np.ndarray | None  # km, inf when unknown; only with `near`


_FORMAT_CODES = {name: code for code, name in enumerate(OfferFormat)}
_FORMATS_ACCEPTED = {
    OfferFormat.IN_PERSON: [
        _FORMAT_CODES[OfferFormat.IN_PERSON],
        _FORMAT_CODES[OfferFormat.HYBRID],
    ],
    OfferFormat.ONLINE: [_FORMAT_CODES[OfferFormat.ONLINE], _FORMAT_CODES[OfferFormat.HYBRID]],
    OfferFormat.HYBRID: [_FORMAT_CODES[OfferFormat.HYBRID]],
}


def _top(keys: Sequence[np.ndarray], limit: int) -> np.ndarray:
    """Row numbers of the `limit` smallest rows by `keys` (first key first), in order."""
    primary = keys[0]
    rows = np.arange(primary.size)
    if primary.size > limit > 0:
        # Sort only the rows that can make the cut: those up to the limit-th primary key.
        threshold = np.partition(primary, limit - 1)[limit - 1]
        rows = np.flatnonzero(primary <= threshold)
    order = np.lexsort([key[rows] for key in reversed(keys)])
    return rows[order][: max(limit, 0)]


def _haversine_km(point: GeoPoint, latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    lat1, lon1 = math.radians(point.latitude), math.radians(point.longitude)
    lat2, lon2 = np.radians(latitude), np.radians(longitude)
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def _time_window(when: When | DateRange, now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of the period in `zone`; sessions are also required not to be over."""
    today = now.astimezone(zone).date()
    if isinstance(when, DateRange):
        first, after = when.first, when.last + timedelta(days=1)
    elif when is When.TODAY:
        first, after = today, today + timedelta(days=1)
    elif when is When.THIS_WEEKEND:
        # On Saturday or Sunday, the rest of this weekend; on a weekday, the coming one.
        first = today + timedelta(days=max(5 - today.weekday(), 0))
        after = today + timedelta(days=7 - today.weekday())
    elif when is When.THIS_WEEK:
        first, after = today, today + timedelta(days=7 - today.weekday())
    else:  # When.THIS_MONTH
        first = today
        after = (today.replace(day=28) + timedelta(days=4)).replace(day=1)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=zone)

    return midnight(first), midnight(after)


class _IndexBuilder:
    """Turns a snapshot into the arrays of a SearchIndex."""

    def __init__(self, snapshot: CatalogueSnapshot) -> None:
        self.snapshot = snapshot
        self.position = {offer.id: index for index, offer in enumerate(snapshot.offers)}
        self.term_ids: dict[str, int] = {}
        self.spellings: list[list[str]] = []
        # Keywords, provider and venue names repeat across offers, and words across texts.
        self.text_terms: dict[str, list[int]] = {}
        self.word_terms: dict[str, int | None] = {}
        # One row per word occurrence: vocabulary id, offer position, field code.
        self.terms = array("i")
        self.offers = array("i")
        self.fields = array("b")

    def build(self) -> SearchIndex:
        snapshot = self.snapshot
        provider_terms = {
            provider_id: self._terms(name.values())
            for provider_id, name in snapshot.provider_names.items()
        }
        venue_terms = {venue.id: self._terms(venue.name.values()) for venue in snapshot.venues}
        address_terms = {venue.id: self._terms(venue.address.values()) for venue in snapshot.venues}
        festival_terms = {
            festival_id: self._terms(title.values())
            for festival_id, title in snapshot.festival_titles.items()
        }
        kind_terms = {kind: self._terms([words]) for kind, words in KIND_WORDS.items()}
        online_terms, free_terms = self._terms([ONLINE_WORDS]), self._terms([FREE_WORDS])
        offer_venues: dict[int, set[int]] = {}
        for session in snapshot.sessions:
            if session.venue_id is not None:
                offer_venues.setdefault(session.offer_id, set()).add(session.venue_id)
        offer_audience = self._audiences()
        for position, offer in enumerate(snapshot.offers):
            venues = offer_venues.get(offer.id, ())
            attributes = [
                *kind_terms[offer.kind],
                *(online_terms if offer.format != OfferFormat.IN_PERSON else ()),
                *(free_terms if offer.price_minor == 0 else ()),
            ]
            self._add(
                position,
                [
                    (IndexedField.TITLE, self._terms(offer.title.values())),
                    (IndexedField.KEYWORD, self._terms(offer.keywords)),
                    (IndexedField.PROVIDER, provider_terms.get(offer.provider_id, [])),
                    (IndexedField.FESTIVAL, festival_terms.get(offer.festival_id or 0, [])),
                    (IndexedField.VENUE, [t for venue in venues for t in venue_terms[venue]]),
                    (IndexedField.ATTRIBUTE, attributes),
                    (
                        IndexedField.AUDIENCE,
                        [*offer_audience.get(offer.id, ()), *self._ages(offer)],
                    ),
                    (IndexedField.ADDRESS, [t for venue in venues for t in address_terms[venue]]),
                    (
                        IndexedField.DESCRIPTION,
                        self._terms(offer.description.values(), remember=False),
                    ),
                ],
            )
        vocabulary, offsets, posting_offers, posting_fields = self._postings()
        document_frequency = np.diff(offsets).astype(np.float64)
        offers = snapshot.offers
        language_codes: dict[str, int] = {}
        for offer in offers:
            language_codes.setdefault(offer.language, len(language_codes))
        return SearchIndex(
            version=snapshot.version,
            offer_ids=np.array([offer.id for offer in offers], dtype=np.int64),
            vocabulary=vocabulary,
            posting_offsets=offsets,
            posting_offers=posting_offers,
            posting_fields=posting_fields,
            idf=np.log1p(len(offers) / np.maximum(document_frequency, 1)),
            free=np.array([offer.price_minor == 0 for offer in offers], dtype=bool),
            formats=np.array([_FORMAT_CODES[offer.format] for offer in offers], dtype=np.int8),
            languages=np.array(
                [language_codes[offer.language] for offer in offers], dtype=np.int16
            ),
            language_codes=language_codes,
            age_min=np.array([offer.age_min or 0 for offer in offers], dtype=np.int16),
            age_max=np.array(
                [999 if offer.age_max is None else offer.age_max for offer in offers],
                dtype=np.int16,
            ),
            track_offers=self._groups((row.track_id, row.offer_id) for row in snapshot.tracks),
            category_offers=self._groups(
                (row.category_id, row.offer_id) for row in snapshot.tracks
            ),
            sessions=self._sessions(),
            venues=self._venues(),
        )

    def _terms(self, texts: Iterable[str], *, remember: bool = True) -> list[int]:
        """Vocabulary ids of the texts' words; texts that repeat across offers (keywords,
        names) are remembered, descriptions are not."""
        found = []
        for text in texts:
            terms = self.text_terms.get(text)
            if terms is None:
                words = (self._term(word) for word in index_words(text))
                terms = [term for term in words if term is not None]
                if remember:
                    self.text_terms[text] = terms
            found += terms
        return found

    def _audiences(self) -> dict[int, list[int]]:
        """Per offer id: the words of its tracks' titles and of their categories' titles."""
        snapshot = self.snapshot
        audiences: dict[int, list[int]] = {}
        for row in snapshot.tracks:
            titles = [
                *snapshot.track_titles.get(row.track_id, {}).values(),
                *snapshot.category_titles.get(row.category_id, {}).values(),
            ]
            audiences.setdefault(row.offer_id, []).extend(self._terms(titles))
        return audiences

    def _ages(self, offer: OfferFacts) -> list[int]:
        """Words for who the offer's ages are: children, teenagers, seniors."""
        low, high = offer.age_min or 0, 999 if offer.age_max is None else offer.age_max
        found = []
        if low <= 12 and high <= 14:
            found += self._terms([CHILDREN_WORDS])
        if low >= 11 and high <= 19:
            found += self._terms([TEENAGER_WORDS])
        if low >= 55:
            found += self._terms([SENIOR_WORDS])
        return found

    def _term(self, word: str) -> int | None:
        """The vocabulary id of a normalised word, or None for words not indexed."""
        if word in self.word_terms:
            return self.word_terms[word]
        key = search_key(word)
        term = None
        if len(word) >= MIN_WORD_CHARS and key not in STOP_KEYS:
            term = self.term_ids.get(key)
            if term is None:
                term = self.term_ids[key] = len(self.term_ids)
                self.spellings.append([])
            if len(self.spellings[term]) < MAX_SPELLINGS:
                self.spellings[term].append(word)
        self.word_terms[word] = term
        return term

    def _add(self, position: int, fields: list[tuple[IndexedField, list[int]]]) -> None:
        terms = [term for _, field_terms in fields for term in field_terms]
        self.terms.extend(terms)
        self.offers.extend([position] * len(terms))
        self.fields.extend(
            [_FIELD_CODES[where] for where, field_terms in fields for _ in field_terms]
        )

    def _postings(self) -> tuple[_Vocabulary, np.ndarray, np.ndarray, np.ndarray]:
        keys = sorted(self.term_ids)
        # Renumber vocabulary ids in sorted key order, so prefixes are contiguous.
        renumber = np.empty(len(keys), dtype=np.int32)
        for new_id, key in enumerate(keys):
            renumber[self.term_ids[key]] = new_id
        spellings = [tuple(self.spellings[self.term_ids[key]]) for key in keys]
        # One int64 per occurrence, word | offer | field, built and sorted in place: then a
        # posting per (word, offer), from the word's weightiest field (the lowest code),
        # comes first.
        packed = renumber[np.frombuffer(self.terms, dtype=np.int32)].astype(np.int64)
        packed <<= 32
        packed |= np.frombuffer(self.offers, dtype=np.int32)
        packed <<= 8
        packed |= np.frombuffer(self.fields, dtype=np.int8)
        self.terms, self.offers, self.fields = array("i"), array("i"), array("b")
        packed.sort()
        pairs = packed >> 8
        first = np.ones(packed.size, dtype=bool)
        np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
        del pairs
        packed = packed[first]
        offsets = np.searchsorted(packed, np.arange(len(keys) + 1, dtype=np.int64) << 40)
        # Casting keeps the low bits: offer positions fit 32 bits, field codes 8.
        offers = (packed >> 8).astype(np.int32)
        fields = packed.astype(np.int8)
        vocabulary = _Vocabulary.build(keys, spellings, self.snapshot.synonyms)
        return vocabulary, offsets, offers, fields

    def _groups(self, pairs: Iterable[tuple[int, int]]) -> dict[int, np.ndarray]:
        groups: dict[int, list[int]] = {}
        for group, offer_id in pairs:
            if offer_id in self.position:
                groups.setdefault(group, []).append(self.position[offer_id])
        return {group: np.unique(np.array(rows, dtype=np.int32)) for group, rows in groups.items()}

    def _sessions(self) -> _Sessions:
        venue_position = {venue.id: index for index, venue in enumerate(self.snapshot.venues)}
        no_venue = len(venue_position)
        sessions = sorted(
            (session for session in self.snapshot.sessions if session.offer_id in self.position),
            key=lambda session: (self.position[session.offer_id], session.starts_at),
        )
        owners = np.array([self.position[session.offer_id] for session in sessions], dtype=np.int64)
        return _Sessions(
            offsets=np.searchsorted(owners, np.arange(len(self.position) + 1)),
            starts=np.array(
                [session.starts_at.timestamp() for session in sessions], dtype=np.int64
            ),
            ends=np.array([session.ends_at.timestamp() for session in sessions], dtype=np.int64),
            venues=np.array(
                [venue_position.get(session.venue_id, no_venue) for session in sessions],
                dtype=np.int32,
            ),
        )

    def _venues(self) -> _Venues:
        venues = self.snapshot.venues

        def coordinate(value: float | None) -> float:
            return math.nan if value is None else value

        return _Venues(
            latitude=np.array([*(coordinate(v.latitude) for v in venues), math.nan]),
            longitude=np.array([*(coordinate(v.longitude) for v in venues), math.nan]),
            step_free=np.array([*(v.step_free for v in venues), False], dtype=bool),
        )
