"""The sessions a volunteer can open today, found by time, words or reference, with their counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.answers import CheckInError
from catalogue.checkin.answers import Problem
from catalogue.checkin.tables import AttendanceEntry
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import CheckInMethod
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import SessionStatus
from catalogue.models import Venue
from catalogue.queries import sessions_with_offer_and_venue


@dataclass(frozen=True)
class TodaySession:
    """A session with what a volunteer recognises it by: its offer's title and its venue."""

    session: OfferSession
    offer: Offer
    venue: Venue | None


@dataclass(frozen=True)
class Counts:
    registered: int
    checked_in: int
    walk_ins: int
    headcount: int


# -- which session


def day_bounds(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Today in the city, as [start, end) instants."""
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(), tzinfo=zone)
    return start, datetime.combine(today + timedelta(days=1), time(), tzinfo=zone)


def is_today(offer_session: OfferSession, now: datetime, zone: ZoneInfo) -> bool:
    """Whether the session takes place, at least partly, today in the city."""
    start, end = day_bounds(now, zone)
    return offer_session.starts_at < end and offer_session.ends_at > start


async def sessions_today(
    session: AsyncSession, now: datetime, zone: ZoneInfo, venue_id: int | None = None
) -> list[TodaySession]:
    """Sessions that take place (at least partly) today in the city, cancelled ones left out."""
    start, end = day_bounds(now, zone)
    query = (
        sessions_with_offer_and_venue()
        .where(
            OfferSession.starts_at < end,
            OfferSession.ends_at > start,
            OfferSession.status != SessionStatus.CANCELLED,
        )
        .order_by(OfferSession.starts_at, OfferSession.id)
    )
    if venue_id is not None:
        query = query.where(OfferSession.venue_id == (venue_id or None))
    rows = await session.execute(query)
    return [TodaySession(offer_session, offer, venue) for offer_session, offer, venue in rows]


def matching(items: Iterable[TodaySession], words: str) -> list[TodaySession]:
    """Today's sessions whose title or venue (any language) contains every word typed."""
    wanted = [word.casefold() for word in words.split() if word]

    def text_of(item: TodaySession) -> str:
        parts = list(item.offer.title.values())
        if item.venue is not None:
            parts += [*item.venue.name.values(), item.venue.district or ""]
        return " ".join(parts).casefold()

    return [item for item in items if all(word in text_of(item) for word in wanted)]


async def find_session(session: AsyncSession, reference: str) -> OfferSession | None:
    """A session by its number ("12", "#12") or the city's id for it."""
    reference = reference.strip().removeprefix("#")
    if reference.isascii() and reference.isdigit() and len(reference) < 10:
        found = await session.get(OfferSession, int(reference))
        if found is not None:
            return found
    if not reference or len(reference) > 80:
        return None
    return await session.scalar(select(OfferSession).where(OfferSession.external_id == reference))


async def open_session(
    session: AsyncSession, reference: str | int, now: datetime, zone: ZoneInfo
) -> OfferSession:
    """A session volunteers may check people in to right now; CheckInError says why not."""
    if isinstance(reference, int):
        offer_session = await session.get(OfferSession, reference)
    else:
        offer_session = await find_session(session, reference)
    if offer_session is None:
        raise CheckInError(Problem.NO_SESSION)
    if offer_session.status == SessionStatus.CANCELLED:
        raise CheckInError(Problem.CANCELLED, offer_session)
    if not is_today(offer_session, now, zone):
        raise CheckInError(Problem.NOT_TODAY, offer_session)
    return offer_session


async def session_facts(session: AsyncSession, session_id: int) -> TodaySession | None:
    """A session with its offer and venue, as the door's screens show it; None if unknown."""
    row = (
        await session.execute(sessions_with_offer_and_venue().where(OfferSession.id == session_id))
    ).first()
    return TodaySession(*row) if row is not None else None


async def counts(session: AsyncSession, session_id: int) -> Counts:
    """The session's seats, check-ins (of them walk-ins) and anonymous headcount so far."""
    checked_in, walk_ins = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(sa.case((CheckIn.registered.is_(False), 1), else_=0)), 0),
            ).where(CheckIn.session_id == session_id)
        )
    ).one()
    registered = await session.scalar(
        select(func.count()).where(Seat.session_id == session_id, Seat.status == SeatStatus.GOING)
    )
    headcount = await session.scalar(
        select(func.coalesce(func.sum(AttendanceEntry.people), 0)).where(
            AttendanceEntry.session_id == session_id,
            AttendanceEntry.method == CheckInMethod.HEADCOUNT,
        )
    )
    return Counts(registered or 0, checked_in or 0, walk_ins or 0, headcount or 0)


async def checked_in_count(session: AsyncSession, session_id: int) -> int:
    """The session's check-ins so far, all volunteers together."""
    return await session.scalar(select(func.count()).where(CheckIn.session_id == session_id)) or 0
