"""A resident's seats on the Programme: which sessions they hold a seat for or wait for."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from catalogue.models import ACTIVE
from catalogue.models import OfferSession
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.programme_week.sessions import ProgrammeSession
from catalogue.programme_week.sessions import programme_sessions_by_id


@dataclass(frozen=True)
class SeatState:
    status: SeatStatus  # going or waitlisted
    position: int | None = None  # on the waitlist, 1 = next


async def seat_states(
    session: AsyncSession, resident_id: int, session_ids: Collection[int]
) -> dict[int, SeatState]:
    """The resident's active seats among these sessions, with waitlist positions: one query."""
    if not session_ids:
        return {}
    # The waitlist position counted in the same query, by catalogue/seats.py's
    # waitlist_position rule: waitlisted earlier (ties by id) is ahead.
    ahead = aliased(Seat)
    ahead_count = (
        select(func.count())
        .where(
            ahead.session_id == Seat.session_id,
            ahead.status == SeatStatus.WAITLISTED,
            (ahead.created_at < Seat.created_at)
            | ((ahead.created_at == Seat.created_at) & (ahead.id < Seat.id)),
        )
        .correlate(Seat)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Seat.session_id, Seat.status, ahead_count).where(
            Seat.resident_id == resident_id,
            Seat.session_id.in_(sorted(session_ids)),
            Seat.status.in_(ACTIVE),
        )
    )
    states: dict[int, SeatState] = {}
    for session_id, status, ahead_of_them in rows:
        position = ahead_of_them + 1 if status == SeatStatus.WAITLISTED else None
        states[session_id] = SeatState(status, position)
    return states


@dataclass(frozen=True)
class Plan:
    """Upcoming sessions the resident holds a seat for, or waits for, soonest first."""

    going: list[ProgrammeSession]
    waitlisted: list[tuple[ProgrammeSession, int]]


async def plan_of(session: AsyncSession, resident_id: int, now: datetime) -> Plan:
    rows = (
        await session.execute(
            select(Seat.session_id)
            .join(OfferSession, OfferSession.id == Seat.session_id)
            .where(
                Seat.resident_id == resident_id,
                Seat.status.in_(ACTIVE),
                OfferSession.ends_at > now,
            )
        )
    ).scalars()
    ids = set(rows)
    found = await programme_sessions_by_id(session, ids)
    states = await seat_states(session, resident_id, ids)
    ordered = sorted(found.values(), key=lambda item: (item.session.starts_at, item.session.id))
    going = [item for item in ordered if states[item.session.id].status == SeatStatus.GOING]
    waitlisted = [
        (item, states[item.session.id].position or 1)
        for item in ordered
        if states[item.session.id].status == SeatStatus.WAITLISTED
    ]
    return Plan(going, waitlisted)
