"""Read-side queries the dialogue needs; each takes the DB session first.

`sessions_with_offer_and_venue` is the one join of a session to its offer and venue that
several features share (reminders, check-in, session changes, broadcasts, the calendar file):
they add to it rather than write it again. `select_sessions` is that join for a few columns
(reports, the learning passport, feedback).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Category
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Provider
from catalogue.models import SessionStatus
from catalogue.models import Track
from catalogue.models import TrackStep
from catalogue.models import Venue
from catalogue.text_policy import bounded_id

OFFERS_PER_PAGE = 5
SESSIONS_ON_CARD = 4


@dataclass(frozen=True)
class Window:
    """Where one page of a list falls: `page` (counted from 0, kept within the pages there are),
    how many `pages` the list has (at least one), and the `first` row of the page (its offset).
    Every paged list (the catalogue's, /team, an offer's sessions, /my) counts its pages here."""

    page: int
    pages: int
    first: int

    @classmethod
    def of(cls, total: int, page: int, per_page: int) -> Window:
        pages = max(1, math.ceil(total / per_page))
        page = min(max(page, 0), pages - 1)
        return cls(page, pages, page * per_page)


async def page_of_rows(
    session: AsyncSession, query: Select, page: int, per_page: int
) -> tuple[list, Window]:
    """Page `page` of the rows an ordered `query` gives, counted in the same query's terms, and
    where that page falls (a list of choices the organiser pages through with ‹ n / m ›)."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    window = Window.of(total or 0, page, per_page)
    rows = await session.execute(query.offset(window.first).limit(per_page))
    return list(rows.all()), window


@dataclass(frozen=True)
class TrackSummary:
    track: Track
    upcoming_offers: int


@dataclass(frozen=True)
class OfferListItem:
    offer: Offer
    next_session: OfferSession | None


@dataclass(frozen=True)
class OfferPage:
    track: Track
    items: list[OfferListItem]
    page: int
    pages: int
    total: int

    @property
    def first_number(self) -> int:
        return self.page * OFFERS_PER_PAGE + 1


@dataclass(frozen=True)
class SessionView:
    session: OfferSession
    venue: Venue | None


@dataclass(frozen=True)
class OfferCard:
    offer: Offer
    provider: Provider
    festival: Festival | None
    sessions: list[SessionView]
    upcoming_total: int
    # When the card changes by itself: the earliest end of its upcoming sessions (one then
    # drops off). None: no upcoming sessions, or a card made up for a preview.
    valid_until: datetime | None = None


def _upcoming(now: datetime):
    return (OfferSession.ends_at > now) & (OfferSession.status != SessionStatus.CANCELLED)


async def list_categories(session: AsyncSession) -> list[Category]:
    result = await session.scalars(select(Category).order_by(Category.position, Category.id))
    return list(result)


async def list_tracks(session: AsyncSession, category_id: int, now: datetime) -> list[TrackSummary]:
    upcoming = (
        select(TrackStep.track_id, func.count(func.distinct(TrackStep.offer_id)).label("offers"))
        .join(OfferSession, OfferSession.offer_id == TrackStep.offer_id)
        .where(_upcoming(now))
        .group_by(TrackStep.track_id)
        .subquery()
    )
    rows = await session.execute(
        select(Track, func.coalesce(upcoming.c.offers, 0))
        .outerjoin(upcoming, upcoming.c.track_id == Track.id)
        .where(Track.category_id == category_id)
        .order_by(Track.position, Track.id)
    )
    return [TrackSummary(track, count) for track, count in rows]


async def track_offers_page(
    session: AsyncSession, track: Track, now: datetime, page: int
) -> OfferPage:
    """The track's offers that still have a session ahead, in the track's order."""
    next_start = (
        select(OfferSession.offer_id, func.min(OfferSession.starts_at).label("starts_at"))
        .where(_upcoming(now))
        .group_by(OfferSession.offer_id)
        .subquery()
    )
    base = (
        select(Offer, TrackStep.position)
        .join(TrackStep, TrackStep.offer_id == Offer.id)
        .join(next_start, next_start.c.offer_id == Offer.id)
        .where(TrackStep.track_id == track.id)
    )
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
    window = Window.of(total, page, OFFERS_PER_PAGE)
    offers = list(
        await session.scalars(
            base.order_by(TrackStep.position, Offer.id).offset(window.first).limit(OFFERS_PER_PAGE)
        )
    )
    next_sessions = await next_session_of(session, [offer.id for offer in offers], now)
    items = [OfferListItem(offer, next_sessions.get(offer.id)) for offer in offers]
    return OfferPage(track, items, window.page, window.pages, total)


async def next_session_of(
    session: AsyncSession, offer_ids: Collection[int], now: datetime
) -> dict[int, OfferSession]:
    """Each offer's first session not over yet (one under way counts), cancelled ones left out."""
    return await _first_session_per_offer(session, offer_ids, _upcoming(now))


async def next_start_of(
    session: AsyncSession, offer_ids: Collection[int], now: datetime
) -> dict[int, OfferSession]:
    """Each offer's first session that has not begun yet, cancelled ones left out."""
    not_begun = (OfferSession.starts_at > now) & (OfferSession.status != SessionStatus.CANCELLED)
    return await _first_session_per_offer(session, offer_ids, not_begun)


async def _first_session_per_offer(
    session: AsyncSession, offer_ids: Collection[int], wanted: ColumnElement[bool]
) -> dict[int, OfferSession]:
    if not offer_ids:
        return {}
    rows = await session.scalars(
        select(OfferSession)
        .where(OfferSession.offer_id.in_(offer_ids), wanted)
        .order_by(OfferSession.starts_at)
    )
    first: dict[int, OfferSession] = {}
    for row in rows:
        first.setdefault(row.offer_id, row)
    return first


async def offer_card(session: AsyncSession, offer_id: int, now: datetime) -> OfferCard | None:
    """Everything an offer card shows, in two queries: the offer with its provider and
    festival, then its next sessions with their venues and how many there are in all."""
    found = (
        await session.execute(
            select(Offer, Provider, Festival)
            .join(Provider, Provider.id == Offer.provider_id)
            .outerjoin(Festival, Festival.id == Offer.festival_id)
            .where(Offer.id == offer_id)
        )
    ).first()
    if found is None:
        return None
    offer, provider, festival = found
    rows = (
        await session.execute(
            select(
                OfferSession,
                Venue,
                func.count().over(),
                func.min(OfferSession.ends_at).over(),
            )
            .outerjoin(Venue, Venue.id == OfferSession.venue_id)
            .where(OfferSession.offer_id == offer_id, _upcoming(now))
            .order_by(OfferSession.starts_at)
            .limit(SESSIONS_ON_CARD)
        )
    ).all()
    sessions = [SessionView(offer_session, venue) for offer_session, venue, _, _ in rows]
    upcoming_total, valid_until = rows[0][2:] if rows else (0, None)
    return OfferCard(offer, provider, festival, sessions, upcoming_total, valid_until)


# Built once: every search asks it.
_OFFERS_BY_ID = select(Offer).where(Offer.id.in_(bindparam("ids", expanding=True)))


async def offers_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, Offer]:
    """Offers by id, in one query; ids no longer in the programme are left out."""
    wanted = list(ids)
    if not wanted:
        return {}
    return {offer.id: offer for offer in await session.scalars(_OFFERS_BY_ID, {"ids": wanted})}


async def latest_festivals(session: AsyncSession, limit: int) -> list[Festival]:
    """The festivals that start last (the current and coming ones first)."""
    return list(
        await session.scalars(
            select(Festival).order_by(Festival.starts_on.desc(), Festival.id.desc()).limit(limit)
        )
    )


async def find_offer(session: AsyncSession, reference: str) -> Offer | None:
    """An offer by database id ("42") or by the city's stable id ("ceramics-for-beginners")."""
    number = bounded_id(reference)  # never '²' or a number no id column holds
    if number is not None:
        offer = await session.get(Offer, number)
        if offer is not None:
            return offer
    return await session.scalar(select(Offer).where(Offer.external_id == reference))


SessionWithOffer = tuple[OfferSession, Offer, Venue | None]


def sessions_with_offer_and_venue() -> Select[SessionWithOffer]:
    """The join several features share: each session with its offer and (if any) its venue.

    Callers add their own `where`, `order_by` and `limit`; `sessions_by_id` is the common case.
    """
    return select_sessions(OfferSession, Offer, Venue)


def select_sessions(*columns: Any) -> Select[Any]:
    """The same join for callers that read a few columns rather than whole rows.

    Reports, the passport and feedback join their own table (check-ins, comments, attendance)
    to it on `OfferSession.id`; the venue is an outer join, so a session without one stays.
    """
    return (
        select(*columns)
        .select_from(OfferSession)
        .join(Offer, Offer.id == OfferSession.offer_id)
        .outerjoin(Venue, Venue.id == OfferSession.venue_id)
    )


async def sessions_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, SessionWithOffer]:
    """Sessions with their offer and venue, by session id; unknown ids are left out."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.execute(sessions_with_offer_and_venue().where(OfferSession.id.in_(wanted)))
    return {offer_session.id: (offer_session, offer, venue) for offer_session, offer, venue in rows}


async def session_by_id(session: AsyncSession, session_id: int) -> SessionWithOffer | None:
    """One session with its offer and venue; None if it is no longer in the programme."""
    return (await sessions_by_id(session, [session_id])).get(session_id)


_REFERENCE = re.compile(r"^#?[A-Za-z0-9_.:-]{1,80}$")


async def find_by_reference(session: AsyncSession, model: Any, reference: str) -> Any:
    """The `model` row (an offer, a track, a festival…) a person typed: its id ("#12" or "12")
    or its `external_id`; None if there is none."""
    reference = reference.removeprefix("#")
    if reference.isascii() and reference.isdigit() and len(reference) < 10:
        found = await session.get(model, int(reference))
        if found is not None:
            return found
    if not _REFERENCE.match(reference):
        return None
    return await session.scalar(select(model).where(model.external_id == reference))
