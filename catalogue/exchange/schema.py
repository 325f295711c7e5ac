"""The catalogue exchange format: what `learncity catalogue import` reads and export writes.

A JSON document holds one list per table; a CSV file holds one table, named by the file
(`offers.csv`) with translated fields as `title_en`, `title_ru` columns. Every record has a
stable `id` chosen by the city (a slug); records point at each other by those ids, and
re-importing a file updates the records with the same ids instead of adding new ones.
`docs/catalogue-format.md` describes it; `docs/catalogue.schema.json` is generated from here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator
from pydantic import AwareDatetime
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import NonNegativeInt
from pydantic import model_validator

from catalogue import text_policy
from catalogue.models import OfferFormat
from catalogue.models import OfferKind
from catalogue.models import SessionStatus

EXTERNAL_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")


def _external_id(value: str) -> str:
    if not EXTERNAL_ID.fullmatch(value):
        raise ValueError("use 1-80 lowercase latin letters, digits, '-', '_' or '.'")
    return value


def _translations(
    clean: Callable[[str], str], limit: Callable[[text_policy.InputLimits], int], required: bool
) -> Callable[[dict[str, str]], dict[str, str]]:
    """A map of language → text, each text cleaned by the text policy and at most `limit` long
    (read when a record is checked: the limits are settings)."""

    def check(value: dict[str, str]) -> dict[str, str]:
        cleaned = {lang.strip().lower(): clean(text) for lang, text in value.items()}
        cleaned = {lang: text for lang, text in cleaned.items() if text}
        if required and not cleaned:
            raise ValueError('give the text in at least one language, e.g. {"en": "…"}')
        most = limit(text_policy.limits())
        for lang, text in cleaned.items():
            if not re.fullmatch(r"[a-z]{2}", lang):
                raise ValueError(f"language codes are two letters, not {lang!r}")
            problem = text_policy.too_long(text, most)
            if problem:
                raise ValueError(f"{lang}: {problem}")
        return cleaned

    return check


def _line(limit: int) -> Callable[[str | None], str | None]:
    """A one-line text (a district, a link, a keyword) cleaned and at most `limit` long."""

    def check(value: str | None) -> str | None:
        if value is None:
            return None
        cleaned = text_policy.one_line(value)
        problem = text_policy.too_long(cleaned, limit)
        if problem:
            raise ValueError(problem)
        return cleaned or None

    return check


def _in_range(value: datetime) -> datetime:
    """A time the database and every time zone can hold (no year 9999 plus an offset)."""
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("use a date between 1970 and 2200") from None
    if not 1970 <= in_utc.year <= 2200:
        raise ValueError("use a date between 1970 and 2200")
    return value


def _keywords(value: list[str]) -> list[str]:
    check = _line(text_policy.WORD_MAX_LENGTH)
    return [word for word in (check(item) for item in value) if word]


ExternalId = Annotated[str, AfterValidator(_external_id)]
# Titles and names: one line, up to TITLE_MAX_LENGTH; descriptions and notes: up to
# TEXT_MAX_LENGTH with their line breaks.
Title = Annotated[
    dict[str, str],
    AfterValidator(_translations(text_policy.one_line, lambda limits: limits.title_length, True)),
]
Text = Annotated[
    dict[str, str],
    AfterValidator(_translations(text_policy.multi_line, lambda limits: limits.text_length, True)),
]
OptionalText = Annotated[
    dict[str, str],
    AfterValidator(_translations(text_policy.multi_line, lambda limits: limits.text_length, False)),
]
Link = Annotated[str | None, AfterValidator(_line(text_policy.LINK_MAX_LENGTH))]
Word = Annotated[str | None, AfterValidator(_line(text_policy.WORD_MAX_LENGTH))]
# Whole numbers a database integer column holds.
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Time = Annotated[AwareDatetime, AfterValidator(_in_range)]
Keywords = Annotated[list[str], AfterValidator(_keywords)]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: ExternalId


class CategoryRecord(Record):
    title: Title
    description: OptionalText = Field(default_factory=dict)
    position: Int32 = 0


class ProviderRecord(Record):
    name: Title
    website: Link = None


class VenueRecord(Record):
    name: Title
    address: Text
    district: Word = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    step_free: bool = False
    accessibility: OptionalText = Field(default_factory=dict)


class FestivalRecord(Record):
    title: Title
    description: OptionalText = Field(default_factory=dict)
    starts_on: date | None = None
    ends_on: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> FestivalRecord:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class OfferRecord(Record):
    title: Title
    description: OptionalText = Field(default_factory=dict)
    kind: OfferKind
    format: OfferFormat = OfferFormat.IN_PERSON
    language: str = Field(pattern=r"^[a-z]{2}$")
    provider: ExternalId
    festival: ExternalId | None = None
    age_min: NonNegativeInt | None = Field(default=None, le=120)
    age_max: NonNegativeInt | None = Field(default=None, le=120)
    price: float = Field(
        default=0, ge=0, le=1_000_000, description="In the currency's main unit; 0 is free"
    )
    currency: str = Field(default="RUB", pattern=r"^[A-Z]{3}$")
    accessibility: OptionalText = Field(default_factory=dict)
    keywords: Keywords = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _age_range(self) -> OfferRecord:
        if self.age_min is not None and self.age_max is not None and self.age_max < self.age_min:
            raise ValueError("age_max is below age_min")
        return self


class TrackRecord(Record):
    category: ExternalId
    title: Title
    description: OptionalText = Field(default_factory=dict)
    position: Int32 = 0
    offers: list[ExternalId] = Field(default_factory=list, description="In the order to take them")


class SessionRecord(Record):
    offer: ExternalId
    venue: ExternalId | None = None
    starts_at: Time = Field(description="ISO 8601 with an offset: 2026-06-01T18:00+05:00")
    ends_at: Time
    capacity: NonNegativeInt | None = Field(default=None, le=2**31 - 1)
    online_url: Link = None
    status: SessionStatus = SessionStatus.SCHEDULED

    @model_validator(mode="after")
    def _ordered(self) -> SessionRecord:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class CatalogueDocument(BaseModel):
    """A whole catalogue, or any part of one: every list is optional."""

    model_config = ConfigDict(extra="forbid")

    categories: list[CategoryRecord] = Field(default_factory=list)
    providers: list[ProviderRecord] = Field(default_factory=list)
    venues: list[VenueRecord] = Field(default_factory=list)
    festivals: list[FestivalRecord] = Field(default_factory=list)
    offers: list[OfferRecord] = Field(default_factory=list)
    tracks: list[TrackRecord] = Field(default_factory=list)
    sessions: list[SessionRecord] = Field(default_factory=list)


# The order records are written in, so that every reference points backwards.
TABLES: dict[str, type[Record]] = {
    "categories": CategoryRecord,
    "providers": ProviderRecord,
    "venues": VenueRecord,
    "festivals": FestivalRecord,
    "offers": OfferRecord,
    "tracks": TrackRecord,
    "sessions": SessionRecord,
}


def json_schema() -> dict:
    return CatalogueDocument.model_json_schema()
