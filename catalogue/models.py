"""SQLModel tables of the catalogue and of the residents who use it.

Titles and descriptions are `{"en": ..., "ru": ...}` maps so a city can add a language
without a migration; `translated()` picks one with a fallback.
Every datetime column is `UTCDateTime`: aware in Python, UTC in the database.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON
from sqlmodel import Column
from sqlmodel import Field
from sqlmodel import SQLModel

Translations = dict[str, str]

# Named constraints let SQLite's batch migrations alter tables later.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def translated(texts: Translations | None, locale: str, fallback: str = "en") -> str:
    """The text in `locale`, else in `fallback`, else any text there is."""
    if not texts:
        return ""
    return texts.get(locale) or texts.get(fallback) or next(iter(texts.values()), "")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes only; stored as UTC (SQLite keeps no zone, PostgreSQL `timestamptz`)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _translations_column() -> Column:
    return Column(JSON, nullable=False, default=dict)


def _utc_column(*, nullable: bool = False, index: bool = False) -> Column:
    return Column(UTCDateTime(), nullable=nullable, index=index)


def _foreign_key(target: str, *, ondelete: str, nullable: bool = False, **kwargs: object) -> Column:
    return Column(sa.Integer, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, **kwargs)


def _enum_column(enum: type[StrEnum], **kwargs: object) -> Column:
    # Stored as plain strings (no PostgreSQL enum type to migrate), read back as the enum.
    values = sa.Enum(
        enum, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
    )
    return Column(values, nullable=False, **kwargs)


def _string_column(length: int, *, nullable: bool = False, **kwargs: object) -> Column:
    return Column(sa.String(length), nullable=nullable, **kwargs)


class OfferKind(StrEnum):
    COURSE = "course"
    MASTER_CLASS = "master_class"
    LECTURE = "lecture"
    EXCURSION = "excursion"
    WORKSHOP = "workshop"
    FESTIVAL_EVENT = "festival_event"


class OfferFormat(StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CHANGED = "changed"
    CANCELLED = "cancelled"


class Category(SQLModel, table=True):
    """Who a resident is: children & youth, teachers, entrepreneurs, every adult, seniors."""

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(sa_column=_string_column(80, unique=True))
    title: Translations = Field(sa_column=_translations_column())
    description: Translations = Field(sa_column=_translations_column())
    position: int = 0


class Provider(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(sa_column=_string_column(80, unique=True))
    name: Translations = Field(sa_column=_translations_column())
    website: str | None = Field(default=None, sa_column=_string_column(300, nullable=True))


class Venue(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(sa_column=_string_column(80, unique=True))
    name: Translations = Field(sa_column=_translations_column())
    address: Translations = Field(sa_column=_translations_column())
    district: str | None = Field(default=None, sa_column=_string_column(120, nullable=True))
    latitude: float | None = None
    longitude: float | None = None
    step_free: bool = False
    accessibility: Translations = Field(sa_column=_translations_column())


class Festival(SQLModel, table=True):
    """An umbrella such as "Summer at the Factory" or Cork's Lifelong Learning Festival."""

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(sa_column=_string_column(80, unique=True))
    title: Translations = Field(sa_column=_translations_column())
    description: Translations = Field(sa_column=_translations_column())
    starts_on: date | None = None
    ends_on: date | None = None


class Offer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(sa_column=_string_column(80, unique=True))
    title: Translations = Field(sa_column=_translations_column())
    description: Translations = Field(sa_column=_translations_column())
    kind: OfferKind = Field(sa_column=_enum_column(OfferKind))
    format: OfferFormat = Field(sa_column=_enum_column(OfferFormat))
    language: str = Field(sa_column=_string_column(10))
    provider_id: int = Field(foreign_key="provider.id", index=True)
    festival_id: int | None = Field(default=None, foreign_key="festival.id", index=True)
    age_min: int | None = None
    age_max: int | None = None
    # Minor units (kopecks, cents); 0 means free.
    price_minor: int = 0
    currency: str = Field(default="RUB", sa_column=_string_column(3))
    accessibility: Translations = Field(sa_column=_translations_column())
    keywords: list[str] = Field(sa_column=Column(JSON, nullable=False, default=list))
    updated_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())
    # When the offer first appeared: "new in your track" announcements and digests.
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column(index=True))

    @property
    def is_free(self) -> bool:
        return self.price_minor == 0


class Track(SQLModel, table=True):
    """A personal learning path inside a category: an ordered list of offers."""

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(sa_column=_string_column(80, unique=True))
    category_id: int = Field(foreign_key="category.id", index=True)
    title: Translations = Field(sa_column=_translations_column())
    description: Translations = Field(sa_column=_translations_column())
    position: int = 0


class TrackStep(SQLModel, table=True):
    __tablename__ = "track_step"

    track_id: int = Field(sa_column=_foreign_key("track.id", ondelete="CASCADE", primary_key=True))
    offer_id: int = Field(
        sa_column=_foreign_key("offer.id", ondelete="CASCADE", primary_key=True, index=True)
    )
    position: int = 0


class OfferSession(SQLModel, table=True):
    """One dated occurrence of an offer."""

    __tablename__ = "offer_session"

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(sa_column=_string_column(80, unique=True))
    offer_id: int = Field(sa_column=_foreign_key("offer.id", ondelete="CASCADE", index=True))
    venue_id: int | None = Field(default=None, foreign_key="venue.id", index=True)
    starts_at: datetime = Field(sa_column=_utc_column(index=True))
    ends_at: datetime = Field(sa_column=_utc_column())
    capacity: int | None = None
    online_url: str | None = Field(default=None, sa_column=_string_column(300, nullable=True))
    status: SessionStatus = Field(
        default=SessionStatus.SCHEDULED, sa_column=_enum_column(SessionStatus, index=True)
    )


class Resident(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=Column(sa.BigInteger, unique=True, nullable=False))
    language: str = Field(default="en", sa_column=_string_column(10))
    # False until the resident has picked a language at least once.
    language_chosen: bool = False
    category_id: int | None = Field(
        default=None, sa_column=_foreign_key("category.id", ondelete="SET NULL", nullable=True)
    )
    track_id: int | None = Field(
        default=None, sa_column=_foreign_key("track.id", ondelete="SET NULL", nullable=True)
    )
    timezone: str | None = Field(default=None, sa_column=_string_column(64, nullable=True))
    # False once Telegram says the resident blocked the bot; back to True when they write again.
    is_active: bool = True
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())
    # Reminder preferences (catalogue/outbox/preferences.py): minutes before a session,
    # e.g. [1440, 60].
    reminder_offsets: list[int] = Field(
        default_factory=lambda: [1440, 60],
        sa_column=Column(JSON, nullable=False, default=lambda: [1440, 60]),
    )
    reminders_on: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    announcements_on: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    # Quiet hours as minutes after local midnight (22:00 → 1320); None: no quiet hours.
    quiet_from: int | None = None
    quiet_until: int | None = None
    # The weekly digest: weekday 0 = Monday, minute after local midnight; None: no digest.
    digest_weekday: int | None = None
    digest_minute: int | None = None


class CatalogueMeta(SQLModel, table=True):
    """Small facts about the loaded catalogue, e.g. when the demo programme was generated."""

    __tablename__ = "catalogue_meta"

    key: str = Field(sa_column=_string_column(64, primary_key=True))
    value: str = Field(sa_column=_string_column(400))


class SeatStatus(StrEnum):
    GOING = "going"  # has a seat (or the session has no capacity): gets reminders
    WAITLISTED = "waitlisted"  # the session was full: promoted in order when a seat frees up
    DECLINED = "declined"  # pressed "Can't come" or unsubscribed: keeps no seat


ACTIVE = (SeatStatus.GOING, SeatStatus.WAITLISTED)  # holds a place or is in line for one


class Seat(SQLModel, table=True):
    """A resident's subscription to one session: a seat, a place in the queue, or a "no"."""

    __tablename__ = "seat"

    __table_args__ = (sa.UniqueConstraint("resident_id", "session_id"),)

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(sa_column=_foreign_key("resident.id", ondelete="CASCADE"))
    session_id: int = Field(
        sa_column=_foreign_key("offer_session.id", ondelete="CASCADE", index=True)
    )
    status: SeatStatus = Field(sa_column=_enum_column(SeatStatus, index=True))
    # Came from following the whole offer (unfollowing it removes these, not single picks).
    via_offer: bool = False
    confirmed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # Waitlist order: first come, first promoted.
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())
    updated_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())


class SubscriptionKind(StrEnum):
    OFFER = "offer"  # every session of the offer, including ones added later
    TRACK = "track"  # new offers in the track
    FESTIVAL = "festival"  # new offers in the festival


class Subscription(SQLModel, table=True):
    """A resident follows an offer, a track or a festival."""

    __table_args__ = (sa.UniqueConstraint("resident_id", "kind", "target_id"),)

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(sa_column=_foreign_key("resident.id", ondelete="CASCADE"))
    kind: SubscriptionKind = Field(sa_column=_enum_column(SubscriptionKind))
    target_id: int = Field(index=True)
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())
