"""The catalogue exchange format: what `learncity catalogue import` reads and export writes.

A JSON document holds one list per table; a CSV file holds one table, named by the file
(`offers.csv`) with translated fields as `title_en`, `title_ru` columns. Every record has a
stable `id` chosen by the city (a slug); records point at each other by those ids, and
re-importing a file updates the records with the same ids instead of adding new ones.
`docs/catalogue-format.md` describes it; `docs/catalogue.schema.json` is generated from here.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator
from pydantic import AwareDatetime
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import NonNegativeInt
from pydantic import model_validator

from catalogue.models import OfferFormat
from catalogue.models import OfferKind
from catalogue.models import SessionStatus

EXTERNAL_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")


def _external_id(value: str) -> str:
    if not EXTERNAL_ID.fullmatch(value):
        raise ValueError("use 1-80 lowercase latin letters, digits, '-', '_' or '.'")
    return value


def _translations(value: dict[str, str]) -> dict[str, str]:
    cleaned = {lang.strip().lower(): text.strip() for lang, text in value.items() if text.strip()}
    if not cleaned:
        raise ValueError('give the text in at least one language, e.g. {"en": "…"}')
    for lang in cleaned:
        if not re.fullmatch(r"[a-z]{2}", lang):
            raise ValueError(f"language codes are two letters, not {lang!r}")
    return cleaned


ExternalId = Annotated[str, AfterValidator(_external_id)]
Text = Annotated[dict[str, str], AfterValidator(_translations)]
OptionalText = dict[str, str]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: ExternalId


class CategoryRecord(Record):
    title: Text
    description: OptionalText = Field(default_factory=dict)
    position: int = 0


class ProviderRecord(Record):
    name: Text
    website: str | None = Field(default=None, max_length=300)


class VenueRecord(Record):
    name: Text
    address: Text
    district: str | None = Field(default=None, max_length=120)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    step_free: bool = False
    accessibility: OptionalText = Field(default_factory=dict)


class FestivalRecord(Record):
    title: Text
    description: OptionalText = Field(default_factory=dict)
    starts_on: date | None = None
    ends_on: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> FestivalRecord:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class OfferRecord(Record):
    title: Text
    description: OptionalText = Field(default_factory=dict)
    kind: OfferKind
    format: OfferFormat = OfferFormat.IN_PERSON
    language: str = Field(pattern=r"^[a-z]{2}$")
    provider: ExternalId
    festival: ExternalId | None = None
    age_min: NonNegativeInt | None = Field(default=None, le=120)
    age_max: NonNegativeInt | None = Field(default=None, le=120)
    price: float = Field(default=0, ge=0, description="In the currency's main unit; 0 is free")
    currency: str = Field(default="RUB", pattern=r"^[A-Z]{3}$")
    accessibility: OptionalText = Field(default_factory=dict)
    keywords: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _age_range(self) -> OfferRecord:
        if self.age_min is not None and self.age_max is not None and self.age_max < self.age_min:
            raise ValueError("age_max is below age_min")
        return self


class TrackRecord(Record):
    category: ExternalId
    title: Text
    description: OptionalText = Field(default_factory=dict)
    position: int = 0
    offers: list[ExternalId] = Field(default_factory=list, description="In the order to take them")


class SessionRecord(Record):
    offer: ExternalId
    venue: ExternalId | None = None
    starts_at: AwareDatetime = Field(description="ISO 8601 with an offset: 2026-06-01T18:00+05:00")
    ends_at: AwareDatetime
    capacity: NonNegativeInt | None = None
    online_url: str | None = Field(default=None, max_length=300)
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
