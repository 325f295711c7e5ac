"""Seats: a resident's place at one session (going or on the waitlist), taken, left and confirmed;
the waitlist moves up when a seat frees."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from catalogue.models import ACTIVE
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import SessionStatus
from catalogue.outbox.messages import enqueue_many
from catalogue.outbox.reminders import PROMOTED
from catalogue.outbox.reminders import drop_reminders
from catalogue.outbox.reminders import notice
from catalogue.outbox.reminders import plan_reminders


class Outcome(StrEnum):
    GOING = "going"
    WAITLISTED = "waitlisted"
    ALREADY = "already"
    STARTED = "started"  # the session has begun or is over
    CANCELLED = "cancelled"
    GONE = "gone"  # no such session, offer, track or festival (any more)
    LEFT = "left"
    NOT_SUBSCRIBED = "not_subscribed"
    FOLLOWING = "following"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    # Waitlist place (1 = next to be promoted) when waitlisted.
    position: int | None = None
    # Following an offer: how many of its sessions gave a seat, how many a waitlist place.
    going: int = 0
    waitlisted: int = 0
    # A seat taken: the reminders planned for it, in minutes before the session (the
    # resident's reminder times that are still ahead; empty when it begins too soon).
    reminders: tuple[int, ...] = ()


async def lock_offer_session(session: AsyncSession, session_id: int) -> OfferSession | None:
    """The session's row, locked until the transaction ends, fresh from the database."""
    if session.bind is not None and session.bind.dialect.name == "sqlite":
        # SQLite locks the whole database for the first write of a transaction: a no-op
        # write takes that lock now, before the seats are counted.
        await session.execute(
            update(OfferSession)
            .where(OfferSession.id == session_id)
            .values(capacity=OfferSession.capacity)
            .execution_options(synchronize_session=False)
        )
    return await session.scalar(
        select(OfferSession)
        .where(OfferSession.id == session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _seat(session: AsyncSession, resident_id: int, session_id: int) -> Seat | None:
    return await session.scalar(
        select(Seat).where(Seat.resident_id == resident_id, Seat.session_id == session_id)
    )


async def _going_count(session: AsyncSession, session_id: int) -> int:
    return (
        await session.scalar(
            select(func.count()).where(
                Seat.session_id == session_id, Seat.status == SeatStatus.GOING
            )
        )
        or 0
    )


def waitlist_place(seat: type[Seat] = Seat) -> ColumnElement[int]:
    """The waitlist place of `seat` (a selected Seat, or an alias of it), 1 being next: one
    more than those waitlisted earlier for the same session (ties by id). The card, /my and
    the Mini App count places by it; `promote_waitlist` gives seats in the same order."""
    ahead = aliased(Seat)
    earlier = (
        select(func.count())
        .where(
            ahead.session_id == seat.session_id,
            ahead.status == SeatStatus.WAITLISTED,
            (ahead.created_at < seat.created_at)
            | ((ahead.created_at == seat.created_at) & (ahead.id < seat.id)),
        )
        .correlate(seat)
        .scalar_subquery()
    )
    return earlier + 1


async def waitlist_position(session: AsyncSession, seat: Seat) -> int:
    return await session.scalar(select(waitlist_place()).where(Seat.id == seat.id)) or 1


@dataclass(frozen=True)
class SeatState:
    status: SeatStatus  # going or waitlisted
    position: int | None = None  # on the waitlist, 1 = next


async def seat_states(
    session: AsyncSession, resident_id: int, session_ids: Collection[int]
) -> dict[int, SeatState]:
    """The resident's active seats among these sessions, with waitlist places: one query."""
    if not session_ids:
        return {}
    rows = await session.execute(
        select(Seat.session_id, Seat.status, waitlist_place()).where(
            Seat.resident_id == resident_id,
            Seat.session_id.in_(sorted(session_ids)),
            Seat.status.in_(ACTIVE),
        )
    )
    return {
        session_id: SeatState(status, place if status == SeatStatus.WAITLISTED else None)
        for session_id, status, place in rows
    }


async def subscribe_to_session(
    session: AsyncSession,
    resident: Resident,
    session_id: int,
    now: datetime,
    city_zone: ZoneInfo,
    *,
    via_offer: bool = False,
) -> Result:
    """A seat if there is one (reminders planned), else a place on the waitlist."""
    offer_session = await lock_offer_session(session, session_id)
    if offer_session is None:
        return Result(Outcome.GONE)
    if offer_session.status == SessionStatus.CANCELLED:
        return Result(Outcome.CANCELLED)
    if offer_session.starts_at <= now:
        return Result(Outcome.STARTED)
    seat = await _seat(session, resident.id, session_id)
    if seat is not None and seat.status in ACTIVE:
        position = None
        if seat.status == SeatStatus.WAITLISTED:
            position = await waitlist_position(session, seat)
        return Result(Outcome.ALREADY, position)
    capacity = offer_session.capacity
    has_seat = capacity is None or await _going_count(session, session_id) < capacity
    status = SeatStatus.GOING if has_seat else SeatStatus.WAITLISTED
    if seat is None:
        seat = Seat(
            resident_id=resident.id, session_id=session_id, status=status, via_offer=via_offer
        )
    else:
        seat.status, seat.via_offer = status, via_offer
        seat.created_at = seat.updated_at = now
        seat.confirmed_at = None
    session.add(seat)
    await session.flush()
    if has_seat:
        planned = await plan_reminders(session, offer_session, [resident], now, city_zone)
        offsets = sorted({message.payload["offset"] for message in planned}, reverse=True)
        return Result(Outcome.GOING, reminders=tuple(offsets))
    return Result(Outcome.WAITLISTED, await waitlist_position(session, seat))


async def leave_session(
    session: AsyncSession,
    resident: Resident,
    session_id: int,
    now: datetime,
    city_zone: ZoneInfo,
) -> Result:
    """ "Can't come" or unsubscribe: the seat (or waitlist place) goes to the next in line."""
    offer_session = await lock_offer_session(session, session_id)
    if offer_session is None:
        return Result(Outcome.GONE)
    seat = await _seat(session, resident.id, session_id)
    if seat is None or seat.status not in ACTIVE:
        return Result(Outcome.NOT_SUBSCRIBED)
    had_seat = seat.status == SeatStatus.GOING
    seat.status, seat.updated_at = SeatStatus.DECLINED, now
    seat.confirmed_at = None
    session.add(seat)
    await session.flush()
    await drop_reminders(session, "not going", resident_id=resident.id, session_id=session_id)
    if had_seat:
        await promote_waitlist(session, offer_session, now, city_zone)
    return Result(Outcome.LEFT)


async def confirm_going(
    session: AsyncSession, resident: Resident, session_id: int, now: datetime
) -> Seat | None:
    """ "I'm going": noted on the seat; None if the resident has no seat there."""
    seat = await _seat(session, resident.id, session_id)
    if seat is None or seat.status != SeatStatus.GOING:
        return None
    seat.confirmed_at = now
    session.add(seat)
    await session.flush()
    return seat


async def promote_waitlist(
    session: AsyncSession, offer_session: OfferSession, now: datetime, city_zone: ZoneInfo
) -> list[Resident]:
    """Give free seats to the waitlist in order; each promoted resident is told. Call with the
    session's row locked (`lock_offer_session`), e.g. after raising its capacity."""
    if offer_session.status == SessionStatus.CANCELLED or offer_session.starts_at <= now:
        return []
    query = (
        select(Seat, Resident)
        .join(Resident, Resident.id == Seat.resident_id)
        .where(
            Seat.session_id == offer_session.id,
            Seat.status == SeatStatus.WAITLISTED,
            Resident.is_active.is_(True),
        )
        .order_by(Seat.created_at, Seat.id)
    )
    if offer_session.capacity is not None:
        free = offer_session.capacity - await _going_count(session, offer_session.id)
        if free <= 0:
            return []
        query = query.limit(free)
    promoted = []
    for seat, resident in (await session.execute(query)).all():
        seat.status, seat.updated_at = SeatStatus.GOING, now
        session.add(seat)
        promoted.append(resident)
    if not promoted:
        return []
    await session.flush()
    await plan_reminders(session, offer_session, promoted, now, city_zone)
    stamp = int(now.timestamp())
    await enqueue_many(
        session,
        [
            notice(
                PROMOTED,
                resident,
                f"{PROMOTED}:{resident.id}:{offer_session.id}:{stamp}",
                now,
                city_zone,
                session_id=offer_session.id,
                session_starts=offer_session.starts_at,
            )
            for resident in promoted
        ],
    )
    return promoted
