"""What catalogue search takes and gives, and what its index is built from: plain values.

They are apart from the index (`catalogue.search.index`), so the bot can import them, in its
handlers and screens, without loading numpy and rapidfuzz before the first search.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from datetime import date
from datetime import datetime
from enum import StrEnum

from catalogue.models import OfferFormat
from catalogue.models import OfferKind
from catalogue.models import Translations

# ---------------------------------------------------------------- what callers pass and get


class When(StrEnum):
    """Calendar periods in the resident's time zone, from now to the period's end."""

    TODAY = "today"
    THIS_WEEKEND = "this_weekend"
    THIS_WEEK = "this_week"
    THIS_MONTH = "this_month"


@dataclass(frozen=True)
class DateRange:
    """Whole days, both ends included, in the resident's time zone."""

    first: date
    last: date


@dataclass(frozen=True)
class GeoPoint:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class SearchFilters:
    """What narrows a search; the defaults narrow nothing.

    `format`: in-person and online each include hybrid offers. `when` and `step_free_only`
    need one upcoming session that satisfies both. `near` removes nothing: it orders
    results by the distance to the nearest venue of an upcoming session.
    """

    category_id: int | None = None
    track_id: int | None = None
    when: When | DateRange | None = None
    free_only: bool = False
    step_free_only: bool = False
    format: OfferFormat | None = None
    language: str | None = None
    age: int | None = None
    near: GeoPoint | None = None

    def active(self) -> list[str]:
        """Names of the fields that remove offers."""
        return [
            spec.name
            for spec in fields(self)
            if spec.name != "near" and getattr(self, spec.name) != spec.default
        ]


NO_FILTERS = SearchFilters()


class Matched(StrEnum):
    ALL_WORDS = "all_words"
    SOME_WORDS = "some_words"


class QueryNote(StrEnum):
    """Why a query was not searched as typed."""

    EMPTY = "empty"
    TOO_SHORT = "too_short"  # only one-letter words
    NOTHING_TO_SEARCH = "nothing_to_search"  # punctuation, emoji or only words like "for"
    SHORTENED = "shortened"  # longer than MAX_QUERY_CHARS or MAX_QUERY_WORDS


@dataclass(frozen=True)
class SearchHit:
    offer_id: int
    score: float  # 0–100; 0 when only filters were given
    matched: Matched
    next_session_at: datetime | None  # UTC; the soonest upcoming session passing the filters
    distance_km: float | None  # with `near`: to that offer's nearest venue


@dataclass(frozen=True)
class Suggestions:
    """For an empty result: closest spellings the catalogue knows, and the filters
    (`SearchFilters` field names) that, dropped one at a time, would give results."""

    did_you_mean: list[str]
    relax_filters: list[str]


class Correction(StrEnum):
    """How the words searched differ from the words typed."""

    LAYOUT = "layout"  # typed with the other keyboard layout: "hj,jnjnt[ybrf"
    SPELLING = "spelling"  # nothing matched as typed; the closest words did: "фестевыль"


@dataclass(frozen=True)
class SearchResults:
    hits: list[SearchHit]
    total: int  # matching offers, of which `hits` are the first `limit`
    note: QueryNote | None = None
    suggestions: Suggestions | None = None
    # The text searched instead of the query ("Showing results for «…»"), and why.
    searched: str | None = None
    correction: Correction | None = None
    # Nothing matched, even corrected: `hits` are the nearest offers, not matches.
    nearest: bool = False


# ---------------------------------------------------------------- what the index is built from


@dataclass(frozen=True)
class OfferFacts:
    id: int
    title: Translations
    keywords: list[str]
    kind: OfferKind
    format: OfferFormat
    language: str
    age_min: int | None
    age_max: int | None
    price_minor: int
    provider_id: int
    description: Translations = field(default_factory=dict)
    festival_id: int | None = None


@dataclass(frozen=True)
class VenueFacts:
    id: int
    name: Translations
    latitude: float | None
    longitude: float | None
    step_free: bool
    address: Translations = field(default_factory=dict)


@dataclass(frozen=True)
class SessionFacts:
    offer_id: int
    venue_id: int | None
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class TrackMembership:
    offer_id: int
    track_id: int
    category_id: int


@dataclass(frozen=True)
class CatalogueVersion:
    """A fingerprint of the catalogue; see `CatalogueSearch` for what it notices."""

    offers: int
    offers_updated_at: datetime | None
    last_session_id: int | None


@dataclass(frozen=True)
class CatalogueSnapshot:
    version: CatalogueVersion
    offers: list[OfferFacts]
    provider_names: dict[int, Translations]
    venues: list[VenueFacts]
    sessions: list[SessionFacts]  # upcoming, not cancelled
    tracks: list[TrackMembership]
    festival_titles: dict[int, Translations] = field(default_factory=dict)
    track_titles: dict[int, Translations] = field(default_factory=dict)
    category_titles: dict[int, Translations] = field(default_factory=dict)
    synonyms: list[list[str]] = field(default_factory=list)  # groups of words
