"""Subscriptions: to one session (a seat or a waitlist place), an offer, a track, a festival.

* A session subscription is a `Seat` row (catalogue/seats.py). A session with a capacity
  gives seats in order; when it is full, residents join its waitlist and are promoted in
  order, with a message, when a seat comes free ("Can't come", unsubscribing, more capacity).
* Following an offer subscribes to each of its upcoming sessions (and to sessions added
  later, by `subscribe_followers_to_new_sessions`); unfollowing releases those seats.
* Following a track or a festival brings announcements of new offers in it.

Seats are counted under a lock on the session's row (PostgreSQL `SELECT … FOR UPDATE`; on
SQLite a write that takes the database's one write lock), so two residents pressing at once
never both get the last seat.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import String
from sqlalchemy import bindparam
from sqlalchemy import cast
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import ACTIVE
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import SessionStatus
from catalogue.models import Subscription
from catalogue.models import SubscriptionKind
from catalogue.models import Track
from catalogue.models import Translations
from catalogue.models import utc_now
from catalogue.queries import Window
from catalogue.seats import Outcome
from catalogue.seats import Result
from catalogue.seats import _seat
from catalogue.seats import leave_session
from catalogue.seats import seat_states
from catalogue.seats import subscribe_to_session
from catalogue.seats import waitlist_place
from catalogue.table_changes import TableCache
from catalogue.table_changes import TableChanges

TARGETS: dict[SubscriptionKind, type] = {
    SubscriptionKind.OFFER: Offer,
    SubscriptionKind.TRACK: Track,
    SubscriptionKind.FESTIVAL: Festival,
}


# ---------------------------------------------------------------- following


async def _leave_offer(
    session: AsyncSession, resident: Resident, offer_id: int, now: datetime, city_zone: ZoneInfo
) -> None:
    """The upcoming sessions that following the offer gave a seat: left and forgotten, so
    following it again subscribes afresh."""
    upcoming = await session.scalars(
        select(Seat.session_id)
        .join(OfferSession, OfferSession.id == Seat.session_id)
        .where(
            Seat.resident_id == resident.id,
            Seat.via_offer.is_(True),
            OfferSession.offer_id == offer_id,
            OfferSession.starts_at > now,
        )
    )
    for session_id in list(upcoming):
        await leave_session(session, resident, session_id, now, city_zone)
        await session.execute(
            delete(Seat).where(Seat.resident_id == resident.id, Seat.session_id == session_id)
        )


async def _unanswered_sessions(
    session: AsyncSession, resident_id: int, offer_id: int, now: datetime
) -> list[int]:
    """Upcoming sessions of the offer the resident has no seat row for."""
    answered = select(Seat.session_id).where(Seat.resident_id == resident_id)
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
                Seat,
                (Seat.session_id == OfferSession.id) & (Seat.resident_id == Resident.id),
            )
            .where(
                Subscription.kind == SubscriptionKind.OFFER,
                OfferSession.starts_at > now,
                OfferSession.status != SessionStatus.CANCELLED,
                Seat.id.is_(None),
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

    status: dict[int, SeatStatus] = field(default_factory=dict)
    position: dict[int, int] = field(default_factory=dict)
    seats: dict[int, Seats] = field(default_factory=dict)
    follows_offer: bool = False
    # None: the card was not opened from a track (no track button).
    track_id: int | None = None
    follows_track: bool = False
    festival_id: int | None = None
    follows_festival: bool = False
    # Sessions already under way: nobody is offered a reminder for them.
    begun: frozenset[int] = frozenset()


# Built once: the card asks on every press, and building a statement costs more than
# running it. Taken seats and queue per session and status.
_SEATS = (
    select(Seat.session_id, cast(Seat.status, String), func.count())
    .where(
        Seat.session_id.in_(bindparam("session_ids", expanding=True)),
        Seat.status.in_(ACTIVE),
    )
    .group_by(Seat.session_id, Seat.status)
)
# The resident's own: a row per seat or queue place, then a row per thing they follow.
_OWN = union_all(
    select(literal("place"), Seat.session_id, cast(Seat.status, String)).where(
        Seat.resident_id == bindparam("resident_id"), Seat.status.in_(ACTIVE)
    ),
    select(literal("follows"), Subscription.target_id, cast(Subscription.kind, String)).where(
        Subscription.resident_id == bindparam("resident_id")
    ),
)


@dataclass(frozen=True)
class OwnSubscriptions:
    places: dict[int, SeatStatus]  # by session id: the resident's seat or queue place
    follows: frozenset[tuple[SubscriptionKind, int]]


class CardStates:
    """What offer cards show of subscriptions, kept in memory: asked on every press of an
    offer button, it changes only when someone subscribes or cancels. Forgotten
    when anything writes to the seat or subscription tables (catalogue.table_changes),
    or to residents (erasing one deletes theirs)."""

    def __init__(self, changes: TableChanges) -> None:
        seat, subscription = Seat.__tablename__, Subscription.__tablename__
        self.seats = TableCache[int, dict[SeatStatus, int]](changes, (seat,))
        self.own = TableCache[int, OwnSubscriptions](
            changes, (seat, subscription, Resident.__tablename__)
        )

    async def seats_of(
        self, session: AsyncSession, session_ids: list[int]
    ) -> dict[int, dict[SeatStatus, int]]:
        """Per session, how many residents hold a seat and how many wait."""
        counts: dict[int, dict[SeatStatus, int]] = {}
        missing = []
        for session_id in session_ids:
            found = self.seats.get(session, session_id)
            if found is None:
                missing.append(session_id)
            else:
                counts[session_id] = found
        if missing:
            stamp = self.seats.stamp()
            read: dict[int, dict[SeatStatus, int]] = {key: {} for key in missing}
            for session_id, status, count in await session.execute(
                _SEATS, {"session_ids": missing}
            ):
                read[session_id][SeatStatus(status)] = count
            for session_id, found in read.items():
                self.seats.keep(session, session_id, stamp, found)
            counts.update(read)
        return counts

    async def own_of(self, session: AsyncSession, resident_id: int) -> OwnSubscriptions:
        own = self.own.get(session, resident_id)
        if own is not None:
            return own
        stamp = self.own.stamp()
        places: dict[int, SeatStatus] = {}
        follows: set[tuple[SubscriptionKind, int]] = set()
        for part, target_id, what in await session.execute(_OWN, {"resident_id": resident_id}):
            if part == "place":
                places[target_id] = SeatStatus(what)
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
    now: datetime | None = None,
) -> CardSubscriptions:
    """Seats, the resident's own places and follows: from memory, or a query each; waitlist
    places cost one more, only where the resident is waiting."""
    now = now or utc_now()
    seats = await states.seats_of(session, [item.id for item in sessions])
    own = await states.own_of(session, resident.id)
    status = {item.id: own.places[item.id] for item in sessions if item.id in own.places}
    waiting = [session_id for session_id, place in status.items() if place == SeatStatus.WAITLISTED]
    positions = {
        session_id: state.position
        for session_id, state in (await seat_states(session, resident.id, waiting)).items()
        if state.position is not None
    }
    follows = own.follows
    return CardSubscriptions(
        status=status,
        position=positions,
        seats={
            item.id: Seats(
                item.capacity,
                seats[item.id].get(SeatStatus.GOING, 0),
                seats[item.id].get(SeatStatus.WAITLISTED, 0),
            )
            for item in sessions
        },
        follows_offer=(SubscriptionKind.OFFER, offer.id) in follows,
        track_id=track_id,
        follows_track=(SubscriptionKind.TRACK, track_id) in follows,
        festival_id=offer.festival_id,
        follows_festival=(SubscriptionKind.FESTIVAL, offer.festival_id) in follows,
        begun=frozenset(item.id for item in sessions if item.starts_at <= now),
    )


@dataclass(frozen=True)
class MySession:
    offer: Offer
    session: OfferSession
    status: SeatStatus
    position: int | None


@dataclass(frozen=True)
class MyFollow:
    kind: SubscriptionKind
    target_id: int
    title: Translations


# Upcoming sessions on one page of /my: each has its ✖, and a resident may hold many seats.
MY_SESSIONS_PER_PAGE = 8


@dataclass(frozen=True)
class MySubscriptions:
    """One page of the resident's upcoming sessions (`page` of `pages`, counted from 0) and
    everything they follow."""

    sessions: list[MySession]
    total_sessions: int
    follows: list[MyFollow]
    page: int = 0
    pages: int = 1

    @property
    def first_number(self) -> int:
        return self.page * MY_SESSIONS_PER_PAGE + 1

    @property
    def empty(self) -> bool:
        return not self.sessions and not self.follows


async def my_subscriptions(
    session: AsyncSession, resident: Resident, now: datetime, page: int = 0
) -> MySubscriptions:
    """Page `page` (counted from 0, kept within the pages there are) of the resident's upcoming
    sessions (soonest first), and what they follow."""
    mine = (
        Seat.resident_id == resident.id,
        Seat.status.in_(ACTIVE),
        OfferSession.ends_at > now,
        OfferSession.status != SessionStatus.CANCELLED,
    )
    total = await session.scalar(
        select(func.count())
        .select_from(Seat)
        .join(OfferSession, OfferSession.id == Seat.session_id)
        .where(*mine)
    )
    window = Window.of(total or 0, page, MY_SESSIONS_PER_PAGE)
    upcoming = (
        select(Seat, OfferSession, Offer, waitlist_place())
        .join(OfferSession, OfferSession.id == Seat.session_id)
        .join(Offer, Offer.id == OfferSession.offer_id)
        .where(*mine)
        .order_by(OfferSession.starts_at, OfferSession.id)
        .offset(window.first)
        .limit(MY_SESSIONS_PER_PAGE)
    )
    rows = (await session.execute(upcoming)).all()
    sessions = []
    for seat, offer_session, offer, place in rows:
        position = place if seat.status == SeatStatus.WAITLISTED else None
        sessions.append(MySession(offer, offer_session, seat.status, position))
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
    return MySubscriptions(sessions, total or 0, follows, window.page, window.pages)


# ---------------------------------------------------------------- one button, both ways

SESSION = "session"


async def toggle(
    session: AsyncSession,
    resident: Resident,
    kind: SubscriptionKind | str,
    target_id: int,
    now: datetime,
    city_zone: ZoneInfo,
    *,
    leave_only: bool = False,
) -> Result:
    """Subscribe if not subscribed, unsubscribe if subscribed (kind "session" or a follow);
    `leave_only` (the ✖ of /my): unsubscribe, never subscribe."""
    if kind == SESSION:
        if not leave_only:
            seat = await _seat(session, resident.id, target_id)
            if seat is None or seat.status not in ACTIVE:
                return await subscribe_to_session(session, resident, target_id, now, city_zone)
        return await leave_session(session, resident, target_id, now, city_zone)
    # A follow: an offer's upcoming sessions are left, or taken, with it.
    kind = SubscriptionKind(kind)
    removed = await session.execute(
        delete(Subscription).where(
            Subscription.resident_id == resident.id,
            Subscription.kind == kind,
            Subscription.target_id == target_id,
        )
    )
    if removed.rowcount:
        if kind == SubscriptionKind.OFFER:
            await _leave_offer(session, resident, target_id, now, city_zone)
        return Result(Outcome.LEFT)
    if leave_only:
        return Result(Outcome.NOT_SUBSCRIBED)
    if await session.get(TARGETS[kind], target_id) is None:
        return Result(Outcome.GONE)
    session.add(Subscription(resident_id=resident.id, kind=kind, target_id=target_id))
    await session.flush()
    if kind != SubscriptionKind.OFFER:
        return Result(Outcome.FOLLOWING)
    going = waitlisted = 0
    for session_id in await _unanswered_sessions(session, resident.id, target_id, now):
        result = await subscribe_to_session(
            session, resident, session_id, now, city_zone, via_offer=True
        )
        going += result.outcome == Outcome.GOING
        waitlisted += result.outcome == Outcome.WAITLISTED
    return Result(Outcome.FOLLOWING, going=going, waitlisted=waitlisted)
