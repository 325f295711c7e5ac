"""Subscriptions: to one session (a seat or a waitlist place), an offer, a track, a festival.

* A session subscription is an `Attendance` row. A session with a capacity gives seats in
  order; when it is full, residents join its waitlist and are promoted in order, with a
  message, when a seat comes free ("Can't come", unsubscribing, more capacity).
* Following an offer subscribes to each of its upcoming sessions (and to sessions added
  later, by `subscribe_followers_to_new_sessions`); unfollowing releases those seats.
* Following a track or a festival brings announcements of new offers in it.

Seats are counted under a lock on the session's row (PostgreSQL `SELECT … FOR UPDATE`; on
SQLite a write that takes the database's one write lock), so two residents pressing at once
never both get the last seat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import (
    String,
    bindparam,
    cast,
    delete,
    func,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import (
    Festival,
    Offer,
    OfferSession,
    Resident,
    SessionStatus,
    Track,
    Translations,
    Venue,
)
from catalogue.table_changes import TableCache, TableChanges
from scheduler.models import Attendance, AttendanceStatus, Subscription, SubscriptionKind
from scheduler.outbox import enqueue_many
from scheduler.reminders import PROMOTED, drop_reminders, notice, plan_reminders

ACTIVE = (AttendanceStatus.GOING, AttendanceStatus.WAITLISTED)
TARGETS: dict[SubscriptionKind, type] = {
    SubscriptionKind.OFFER: Offer,
    SubscriptionKind.TRACK: Track,
    SubscriptionKind.FESTIVAL: Festival,
}


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


async def _attendance(
    session: AsyncSession, resident_id: int, session_id: int
) -> Attendance | None:
    return await session.scalar(
        select(Attendance).where(
            Attendance.resident_id == resident_id, Attendance.session_id == session_id
        )
    )


async def _going_count(session: AsyncSession, session_id: int) -> int:
    return (
        await session.scalar(
            select(func.count()).where(
                Attendance.session_id == session_id, Attendance.status == AttendanceStatus.GOING
            )
        )
        or 0
    )


async def waitlist_position(session: AsyncSession, attendance: Attendance) -> int:
    ahead = await session.scalar(
        select(func.count()).where(
            Attendance.session_id == attendance.session_id,
            Attendance.status == AttendanceStatus.WAITLISTED,
            (Attendance.created_at < attendance.created_at)
            | ((Attendance.created_at == attendance.created_at) & (Attendance.id < attendance.id)),
        )
    )
    return (ahead or 0) + 1


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
    attendance = await _attendance(session, resident.id, session_id)
    if attendance is not None and attendance.status in ACTIVE:
        position = None
        if attendance.status == AttendanceStatus.WAITLISTED:
            position = await waitlist_position(session, attendance)
        return Result(Outcome.ALREADY, position)
    capacity = offer_session.capacity
    has_seat = capacity is None or await _going_count(session, session_id) < capacity
    status = AttendanceStatus.GOING if has_seat else AttendanceStatus.WAITLISTED
    if attendance is None:
        attendance = Attendance(
            resident_id=resident.id, session_id=session_id, status=status, via_offer=via_offer
        )
    else:
        attendance.status, attendance.via_offer = status, via_offer
        attendance.created_at = attendance.updated_at = now
        attendance.confirmed_at = None
    session.add(attendance)
    await session.flush()
    if has_seat:
        await plan_reminders(session, offer_session, [resident], now, city_zone)
        return Result(Outcome.GOING)
    return Result(Outcome.WAITLISTED, await waitlist_position(session, attendance))


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
    attendance = await _attendance(session, resident.id, session_id)
    if attendance is None or attendance.status not in ACTIVE:
        return Result(Outcome.NOT_SUBSCRIBED)
    had_seat = attendance.status == AttendanceStatus.GOING
    attendance.status, attendance.updated_at = AttendanceStatus.DECLINED, now
    attendance.confirmed_at = None
    session.add(attendance)
    await session.flush()
    await drop_reminders(session, "not going", resident_id=resident.id, session_id=session_id)
    if had_seat:
        await promote_waitlist(session, offer_session, now, city_zone)
    return Result(Outcome.LEFT)


async def confirm_going(
    session: AsyncSession, resident: Resident, session_id: int, now: datetime
) -> Attendance | None:
    """ "I'm going": noted on the seat; None if the resident has no seat there."""
    attendance = await _attendance(session, resident.id, session_id)
    if attendance is None or attendance.status != AttendanceStatus.GOING:
        return None
    attendance.confirmed_at = now
    session.add(attendance)
    await session.flush()
    return attendance


async def promote_waitlist(
    session: AsyncSession, offer_session: OfferSession, now: datetime, city_zone: ZoneInfo
) -> list[Resident]:
    """Give free seats to the waitlist in order; each promoted resident is told. Call with the
    session's row locked (`lock_offer_session`), e.g. after raising its capacity."""
    if offer_session.status == SessionStatus.CANCELLED or offer_session.starts_at <= now:
        return []
    query = (
        select(Attendance, Resident)
        .join(Resident, Resident.id == Attendance.resident_id)
        .where(
            Attendance.session_id == offer_session.id,
            Attendance.status == AttendanceStatus.WAITLISTED,
            Resident.is_active.is_(True),
        )
        .order_by(Attendance.created_at, Attendance.id)
    )
    if offer_session.capacity is not None:
        free = offer_session.capacity - await _going_count(session, offer_session.id)
        if free <= 0:
            return []
        query = query.limit(free)
    promoted = []
    for attendance, resident in (await session.execute(query)).all():
        attendance.status, attendance.updated_at = AttendanceStatus.GOING, now
        session.add(attendance)
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


# ---------------------------------------------------------------- following


async def follow(
    session: AsyncSession,
    resident: Resident,
    kind: SubscriptionKind,
    target_id: int,
    now: datetime,
    city_zone: ZoneInfo,
) -> Result:
    if await session.get(TARGETS[kind], target_id) is None:
        return Result(Outcome.GONE)
    existing = await session.scalar(
        select(Subscription).where(
            Subscription.resident_id == resident.id,
            Subscription.kind == kind,
            Subscription.target_id == target_id,
        )
    )
    if existing is not None:
        return Result(Outcome.ALREADY)
    session.add(Subscription(resident_id=resident.id, kind=kind, target_id=target_id))
    await session.flush()
    going = waitlisted = 0
    if kind == SubscriptionKind.OFFER:
        for session_id in await _unanswered_sessions(session, resident.id, target_id, now):
            result = await subscribe_to_session(
                session, resident, session_id, now, city_zone, via_offer=True
            )
            going += result.outcome == Outcome.GOING
            waitlisted += result.outcome == Outcome.WAITLISTED
    return Result(Outcome.FOLLOWING, going=going, waitlisted=waitlisted)


async def unfollow(
    session: AsyncSession,
    resident: Resident,
    kind: SubscriptionKind,
    target_id: int,
    now: datetime,
    city_zone: ZoneInfo,
) -> Result:
    removed = await session.execute(
        delete(Subscription).where(
            Subscription.resident_id == resident.id,
            Subscription.kind == kind,
            Subscription.target_id == target_id,
        )
    )
    if not removed.rowcount:
        return Result(Outcome.NOT_SUBSCRIBED)
    if kind == SubscriptionKind.OFFER:
        upcoming = await session.scalars(
            select(Attendance.session_id)
            .join(OfferSession, OfferSession.id == Attendance.session_id)
            .where(
                Attendance.resident_id == resident.id,
                Attendance.via_offer.is_(True),
                OfferSession.offer_id == target_id,
                OfferSession.starts_at > now,
            )
        )
        for session_id in list(upcoming):
            await leave_session(session, resident, session_id, now, city_zone)
            # Forget it altogether: following the offer again subscribes afresh.
            await session.execute(
                delete(Attendance).where(
                    Attendance.resident_id == resident.id, Attendance.session_id == session_id
                )
            )
    return Result(Outcome.LEFT)


async def _unanswered_sessions(
    session: AsyncSession, resident_id: int, offer_id: int, now: datetime
) -> list[int]:
    """Upcoming sessions of the offer the resident has no attendance row for."""
    answered = select(Attendance.session_id).where(Attendance.resident_id == resident_id)
    return list(
        await session.scalars(
            select(OfferSession.id)
            .where(
                OfferSession.offer_id == offer_id,
                OfferSession.starts_at > now,
                OfferSession.status != SessionStatus.CANCELLED,
                OfferSession.id.not_in(answered),
            )
            .order_by(OfferSession.starts_at)
        )
    )


async def subscribe_followers_to_new_sessions(
    session: AsyncSession, now: datetime, city_zone: ZoneInfo
) -> int:
    """Sessions added to a followed offer after the resident followed it (periodic job)."""
    rows = (
        await session.execute(
            select(Resident, OfferSession.id)
            .join(Subscription, Subscription.resident_id == Resident.id)
            .join(OfferSession, OfferSession.offer_id == Subscription.target_id)
            .outerjoin(
                Attendance,
                (Attendance.session_id == OfferSession.id)
                & (Attendance.resident_id == Resident.id),
            )
            .where(
                Subscription.kind == SubscriptionKind.OFFER,
                OfferSession.starts_at > now,
                OfferSession.status != SessionStatus.CANCELLED,
                Attendance.id.is_(None),
            )
            .order_by(OfferSession.starts_at)
        )
    ).all()
    for resident, session_id in rows:
        await subscribe_to_session(session, resident, session_id, now, city_zone, via_offer=True)
    return len(rows)


# ---------------------------------------------------------------- what screens show


@dataclass(frozen=True)
class Seats:
    capacity: int | None
    going: int = 0
    waitlisted: int = 0

    @property
    def left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.going)


@dataclass(frozen=True)
class CardSubscriptions:
    """What the offer card shows about subscriptions, for one resident."""

    status: dict[int, AttendanceStatus] = field(default_factory=dict)
    position: dict[int, int] = field(default_factory=dict)
    seats: dict[int, Seats] = field(default_factory=dict)
    follows_offer: bool = False
    # None: the card was not opened from a track (no track button).
    track_id: int | None = None
    follows_track: bool = False
    festival_id: int | None = None
    follows_festival: bool = False


# Built once: the card asks on every press, and building a statement costs more than
# running it. Taken seats and queue per session and status.
_SEATS = (
    select(Attendance.session_id, cast(Attendance.status, String), func.count())
    .where(
        Attendance.session_id.in_(bindparam("session_ids", expanding=True)),
        Attendance.status.in_(ACTIVE),
    )
    .group_by(Attendance.session_id, Attendance.status)
)
# The resident's own: a row per seat or queue place, then a row per thing they follow.
_OWN = union_all(
    select(literal("place"), Attendance.session_id, cast(Attendance.status, String)).where(
        Attendance.resident_id == bindparam("resident_id"), Attendance.status.in_(ACTIVE)
    ),
    select(literal("follows"), Subscription.target_id, cast(Subscription.kind, String)).where(
        Subscription.resident_id == bindparam("resident_id")
    ),
)


@dataclass(frozen=True)
class OwnSubscriptions:
    places: dict[int, AttendanceStatus]  # by session id: the resident's seat or queue place
    follows: frozenset[tuple[SubscriptionKind, int]]


class CardStates:
    """What offer cards show of subscriptions, kept in memory: asked on every press of an
    offer button, it changes only when someone subscribes or cancels. Forgotten
    when anything writes to the attendance or subscription tables (catalogue.table_changes),
    or to residents (erasing one deletes theirs)."""

    def __init__(self, changes: TableChanges) -> None:
        attendance, subscription = Attendance.__tablename__, Subscription.__tablename__
        self.seats = TableCache[int, dict[AttendanceStatus, int]](changes, (attendance,))
        self.own = TableCache[int, OwnSubscriptions](
            changes, (attendance, subscription, Resident.__tablename__)
        )

    async def seats_of(
        self, session: AsyncSession, session_ids: list[int]
    ) -> dict[int, dict[AttendanceStatus, int]]:
        """Per session, how many residents hold a seat and how many wait."""
        counts: dict[int, dict[AttendanceStatus, int]] = {}
        missing = []
        for session_id in session_ids:
            found = self.seats.get(session, session_id)
            if found is None:
                missing.append(session_id)
            else:
                counts[session_id] = found
        if missing:
            stamp = self.seats.stamp()
            read: dict[int, dict[AttendanceStatus, int]] = {key: {} for key in missing}
            for session_id, status, count in await session.execute(
                _SEATS, {"session_ids": missing}
            ):
                read[session_id][AttendanceStatus(status)] = count
            for session_id, found in read.items():
                self.seats.keep(session, session_id, stamp, found)
            counts.update(read)
        return counts

    async def own_of(self, session: AsyncSession, resident_id: int) -> OwnSubscriptions:
        own = self.own.get(session, resident_id)
        if own is not None:
            return own
        stamp = self.own.stamp()
        places: dict[int, AttendanceStatus] = {}
        follows: set[tuple[SubscriptionKind, int]] = set()
        for part, target_id, what in await session.execute(_OWN, {"resident_id": resident_id}):
            if part == "place":
                places[target_id] = AttendanceStatus(what)
            else:
                follows.add((SubscriptionKind(what), target_id))
        own = OwnSubscriptions(places, frozenset(follows))
        self.own.keep(session, resident_id, stamp, own)
        return own


async def card_subscriptions(
    session: AsyncSession,
    states: CardStates,
    resident: Resident,
    offer: Offer,
    sessions: list[OfferSession],
    track_id: int | None,
) -> CardSubscriptions:
    """Seats, the resident's own places and follows: from memory, or a query each; a
    waitlist place costs two more, only where the resident is waiting."""
    seats = await states.seats_of(session, [item.id for item in sessions])
    own = await states.own_of(session, resident.id)
    status = {item.id: own.places[item.id] for item in sessions if item.id in own.places}
    positions = {}
    for session_id, attendance_status in status.items():
        if attendance_status == AttendanceStatus.WAITLISTED:
            attendance = await _attendance(session, resident.id, session_id)
            assert attendance is not None
            positions[session_id] = await waitlist_position(session, attendance)
    follows = own.follows
    return CardSubscriptions(
        status=status,
        position=positions,
        seats={
            item.id: Seats(
                item.capacity,
                seats[item.id].get(AttendanceStatus.GOING, 0),
                seats[item.id].get(AttendanceStatus.WAITLISTED, 0),
            )
            for item in sessions
        },
        follows_offer=(SubscriptionKind.OFFER, offer.id) in follows,
        track_id=track_id,
        follows_track=(SubscriptionKind.TRACK, track_id) in follows,
        festival_id=offer.festival_id,
        follows_festival=(SubscriptionKind.FESTIVAL, offer.festival_id) in follows,
    )


@dataclass(frozen=True)
class MySession:
    offer: Offer
    session: OfferSession
    status: AttendanceStatus
    position: int | None


@dataclass(frozen=True)
class MyFollow:
    kind: SubscriptionKind
    target_id: int
    title: Translations


@dataclass(frozen=True)
class MySubscriptions:
    sessions: list[MySession]
    total_sessions: int
    follows: list[MyFollow]

    @property
    def empty(self) -> bool:
        return not self.sessions and not self.follows


async def my_subscriptions(
    session: AsyncSession, resident: Resident, now: datetime, limit: int = 8
) -> MySubscriptions:
    """The resident's upcoming sessions (soonest first) and what they follow."""
    upcoming = (
        select(Attendance, OfferSession, Offer, func.count().over())
        .join(OfferSession, OfferSession.id == Attendance.session_id)
        .join(Offer, Offer.id == OfferSession.offer_id)
        .where(
            Attendance.resident_id == resident.id,
            Attendance.status.in_(ACTIVE),
            OfferSession.ends_at > now,
            OfferSession.status != SessionStatus.CANCELLED,
        )
        .order_by(OfferSession.starts_at, OfferSession.id)
        .limit(limit)
    )
    rows = (await session.execute(upcoming)).all()
    sessions = []
    for attendance, offer_session, offer, _total in rows:
        position = None
        if attendance.status == AttendanceStatus.WAITLISTED:
            position = await waitlist_position(session, attendance)
        sessions.append(MySession(offer, offer_session, attendance.status, position))
    follows = []
    subscriptions = await session.scalars(
        select(Subscription)
        .where(Subscription.resident_id == resident.id)
        .order_by(Subscription.created_at, Subscription.id)
    )
    for subscription in subscriptions:
        target = await session.get(TARGETS[subscription.kind], subscription.target_id)
        if target is not None:
            follows.append(MyFollow(subscription.kind, subscription.target_id, target.title))
    return MySubscriptions(sessions, rows[0][3] if rows else 0, follows)


# ---------------------------------------------------------------- one button, both ways

SESSION = "session"


async def toggle(
    session: AsyncSession,
    resident: Resident,
    kind: SubscriptionKind | str,
    target_id: int,
    now: datetime,
    city_zone: ZoneInfo,
) -> Result:
    """Subscribe if not subscribed, unsubscribe if subscribed (kind "session" or a follow)."""
    if kind == SESSION:
        attendance = await _attendance(session, resident.id, target_id)
        if attendance is not None and attendance.status in ACTIVE:
            return await leave_session(session, resident, target_id, now, city_zone)
        return await subscribe_to_session(session, resident, target_id, now, city_zone)
    kind = SubscriptionKind(kind)
    result = await unfollow(session, resident, kind, target_id, now, city_zone)
    if result.outcome == Outcome.LEFT:
        return result
    return await follow(session, resident, kind, target_id, now, city_zone)


async def unsubscribe(
    session: AsyncSession,
    resident: Resident,
    kind: SubscriptionKind | str,
    target_id: int,
    now: datetime,
    city_zone: ZoneInfo,
) -> Result:
    if kind == SESSION:
        return await leave_session(session, resident, target_id, now, city_zone)
    return await unfollow(session, resident, SubscriptionKind(kind), target_id, now, city_zone)


async def session_details(
    session: AsyncSession, session_id: int
) -> tuple[OfferSession, Offer, Venue | None] | None:
    found = (
        await session.execute(
            select(OfferSession, Offer, Venue)
            .join(Offer, Offer.id == OfferSession.offer_id)
            .outerjoin(Venue, Venue.id == OfferSession.venue_id)
            .where(OfferSession.id == session_id)
        )
    ).first()
    return None if found is None else (found[0], found[1], found[2])
