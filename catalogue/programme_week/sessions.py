"""Sessions between two instants, in one scope (everything, a track, a category, a festival),
narrowed by the Programme's filters, each with the seats taken so far: one query."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from catalogue.models import Category
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import OfferSession
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import Track
from catalogue.models import TrackStep
from catalogue.models import Translations
from catalogue.models import Venue
from catalogue.queries import sessions_with_offer_and_venue

MAX_SESSIONS = 2000  # a week of the largest festival we know is about 500


LIST_ONLY = (
    defer(Offer.description),
    defer(Offer.keywords),
    defer(Offer.accessibility),
    defer(Venue.accessibility),
)


class ScopeKind(StrEnum):
    ALL = "all"
    TRACK = "track"
    CATEGORY = "category"
    FESTIVAL = "festival"


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind = ScopeKind.ALL
    id: int | None = None


EVERYTHING = Scope()


@dataclass(frozen=True)
class ProgrammeFilters:
    """What narrows the programme; the defaults narrow nothing. `offer_ids`: only these
    offers (what the search found), None for any."""

    free: bool = False
    step_free: bool = False
    age: int | None = None
    format: OfferFormat | None = None
    district: str | None = None
    language: str | None = None
    offer_ids: frozenset[int] | None = None


NO_FILTERS = ProgrammeFilters()


@dataclass(frozen=True)
class ProgrammeSession:
    session: OfferSession
    offer: Offer
    venue: Venue | None
    going: int  # seats taken

    @property
    def seats_left(self) -> int | None:
        if self.session.capacity is None:
            return None
        return max(self.session.capacity - self.going, 0)


_TITLED = {ScopeKind.TRACK: Track, ScopeKind.CATEGORY: Category, ScopeKind.FESTIVAL: Festival}


async def scope_title(session: AsyncSession, scope: Scope) -> Translations | None:
    """The track's, category's or festival's title; None when it does not exist (or for all)."""
    table = _TITLED.get(scope.kind)
    if table is None or scope.id is None:
        return None
    found = await session.get(table, scope.id)
    return found.title if found is not None else None


def _in_scope(query: sa.Select, scope: Scope) -> sa.Select:
    if scope.kind == ScopeKind.FESTIVAL:
        return query.where(Offer.festival_id == scope.id)
    if scope.kind == ScopeKind.TRACK:
        steps = select(TrackStep.offer_id).where(TrackStep.track_id == scope.id)
        return query.where(Offer.id.in_(steps))
    if scope.kind == ScopeKind.CATEGORY:
        steps = (
            select(TrackStep.offer_id)
            .join(Track, Track.id == TrackStep.track_id)
            .where(Track.category_id == scope.id)
        )
        return query.where(Offer.id.in_(steps))
    return query


def _filtered(query: sa.Select, filters: ProgrammeFilters) -> sa.Select:
    if filters.free:
        query = query.where(Offer.price_minor == 0)
    if filters.step_free:
        query = query.where(Venue.step_free.is_(True))
    if filters.age is not None:
        query = query.where(
            sa.or_(Offer.age_min.is_(None), Offer.age_min <= filters.age),
            sa.or_(Offer.age_max.is_(None), Offer.age_max >= filters.age),
        )
    if filters.format is not None:
        # As the chat's search: in person and online each include hybrid offers.
        query = query.where(Offer.format.in_({filters.format, OfferFormat.HYBRID}))
    if filters.district:
        query = query.where(func.lower(Venue.district) == filters.district.casefold())
    if filters.language:
        query = query.where(Offer.language == filters.language)
    if filters.offer_ids is not None:
        query = query.where(Offer.id.in_(sorted(filters.offer_ids) or [-1]))
    return query


def _going_count() -> sa.ScalarSelect[int]:
    return (
        select(func.count())
        .where(Seat.session_id == OfferSession.id, Seat.status == SeatStatus.GOING)
        .correlate(OfferSession)
        .scalar_subquery()
    )


def _with_going(query: sa.Select) -> sa.Select:
    return query.add_columns(_going_count())


async def programme_sessions(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    scope: Scope = EVERYTHING,
    filters: ProgrammeFilters = NO_FILTERS,
) -> list[ProgrammeSession]:
    """Sessions starting in [start, end), cancelled ones included (shown as cancelled)."""
    query = sessions_with_offer_and_venue().where(
        OfferSession.starts_at >= start, OfferSession.starts_at < end
    )
    # A list shows no descriptions: a week of a large festival need not read them.
    query = query.options(*LIST_ONLY)
    query = _filtered(_in_scope(query, scope), filters)
    query = _with_going(query).order_by(OfferSession.starts_at, OfferSession.id).limit(MAX_SESSIONS)
    rows = await session.execute(query)
    return [ProgrammeSession(*row) for row in rows]


async def programme_sessions_by_id(
    session: AsyncSession, ids: Collection[int]
) -> dict[int, ProgrammeSession]:
    if not ids:
        return {}
    query = _with_going(sessions_with_offer_and_venue().where(OfferSession.id.in_(sorted(ids))))
    return {row[0].id: ProgrammeSession(*row) for row in await session.execute(query)}


async def offer_sessions_from(
    session: AsyncSession, offer_id: int, now: datetime, limit: int = 20
) -> list[ProgrammeSession]:
    """The offer's sessions not over yet, soonest first."""
    query = _with_going(
        sessions_with_offer_and_venue().where(
            OfferSession.offer_id == offer_id, OfferSession.ends_at > now
        )
    )
    rows = await session.execute(query.order_by(OfferSession.starts_at).limit(limit))
    return [ProgrammeSession(*row) for row in rows]


async def feed_sessions(
    session: AsyncSession, scope: Scope, since: datetime
) -> list[ProgrammeSession]:
    """A calendar feed's sessions: everything in the scope starting from `since` on."""
    query = _in_scope(sessions_with_offer_and_venue().where(OfferSession.starts_at >= since), scope)
    query = _with_going(query).order_by(OfferSession.starts_at, OfferSession.id)
    return [ProgrammeSession(*row) for row in await session.execute(query.limit(MAX_SESSIONS * 5))]


@dataclass(frozen=True)
class Choices:
    """What the Programme's filters offer."""

    categories: list[Category]
    tracks: list[Track]
    festivals: list[Festival]
    districts: list[str]
    languages: list[str]


async def programme_choices(session: AsyncSession) -> Choices:
    categories = list(
        await session.scalars(select(Category).order_by(Category.position, Category.id))
    )
    tracks = list(
        await session.scalars(select(Track).order_by(Track.category_id, Track.position, Track.id))
    )
    festivals = list(
        await session.scalars(select(Festival).order_by(Festival.starts_on, Festival.id))
    )
    districts = list(
        await session.scalars(
            select(Venue.district)
            .where(Venue.district.is_not(None))
            .distinct()
            .order_by(Venue.district)
        )
    )
    languages = list(
        await session.scalars(select(Offer.language).distinct().order_by(Offer.language))
    )
    return Choices(categories, tracks, festivals, [d for d in districts if d], languages)
