"""A resident's seats on the Programme: which sessions they hold a seat for or wait for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import ACTIVE
from catalogue.models import OfferSession
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.programme_week.sessions import ProgrammeSession
from catalogue.programme_week.sessions import programme_sessions_by_id
from catalogue.seats import seat_states


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
