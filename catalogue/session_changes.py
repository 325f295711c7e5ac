"""A session is rescheduled, moved or cancelled: every subscriber is told once, reminders follow.

The organisers' forms call these two functions inside their update's transaction::

    report = await reschedule_session(
        session, session_id, starts_at, ends_at, venue_id=None, city_zone=settings.city_zone
    )
    report = await cancel_session(session, session_id, city_zone=settings.city_zone)

`venue_id=None` keeps the venue. Both return None for a session that does not exist, and a
`ChangeReport` saying whether anything changed and how many residents will be told. Before
that, `queries.session_by_id` and `changeable_session` find the session a button names.

Told once: each subscriber (seat or waitlist) gets one notice per change, rendered when it is
sent. If the session changes again before an earlier notice went out, that notice is
dropped and the new one says what it was before the first change and what it is now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import ACTIVE
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import SessionStatus
from catalogue.models import utc_now
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from catalogue.outbox.messages import enqueue_many
from catalogue.outbox.messages import skip_pending
from catalogue.outbox.reminders import CHANGE
from catalogue.outbox.reminders import PROMOTED
from catalogue.outbox.reminders import REMINDER
from catalogue.outbox.reminders import notice
from catalogue.outbox.reminders import plan_reminders
from catalogue.queries import SessionWithOffer
from catalogue.queries import session_by_id
from catalogue.seats import lock_offer_session

MOVED = "moved"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class ChangeReport:
    session_id: int
    changed: bool
    notified: int = 0


async def reschedule_session(
    session: AsyncSession,
    session_id: int,
    starts_at: datetime,
    ends_at: datetime,
    venue_id: int | None = None,
    *,
    city_zone: ZoneInfo,
    now: datetime | None = None,
) -> ChangeReport | None:
    """New time and/or place for a session; subscribers told, reminders moved."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("starts_at and ends_at must be timezone-aware")
    if ends_at <= starts_at:
        raise ValueError("a session must end after it starts")
    now = now or utc_now()
    offer_session = await lock_offer_session(session, session_id)
    if offer_session is None:
        return None
    new_venue = offer_session.venue_id if venue_id is None else venue_id
    before = (offer_session.starts_at, offer_session.venue_id)
    unchanged = (
        offer_session.starts_at == starts_at
        and offer_session.ends_at == ends_at
        and offer_session.venue_id == new_venue
        and offer_session.status != SessionStatus.CANCELLED
    )
    if unchanged:
        return ChangeReport(session_id, changed=False)
    offer_session.starts_at, offer_session.ends_at = starts_at, ends_at
    offer_session.venue_id = new_venue
    offer_session.status = SessionStatus.CHANGED
    session.add(offer_session)
    await touch_offer(session, offer_session.offer_id, now)

    subscribers = await _subscribers(session, session_id)
    if (before[0], before[1]) != (starts_at, new_venue):
        version = f"{int(starts_at.timestamp())}:{new_venue}:{now.timestamp():.0f}"
        await _notify(session, offer_session, subscribers, MOVED, version, before, now, city_zone)
    going = [resident for resident, status in subscribers if status == SeatStatus.GOING]
    await plan_reminders(session, offer_session, going, now, city_zone)
    return ChangeReport(session_id, changed=True, notified=len(subscribers))


async def cancel_session(
    session: AsyncSession,
    session_id: int,
    *,
    city_zone: ZoneInfo,
    now: datetime | None = None,
) -> ChangeReport | None:
    """The session will not take place: subscribers told, its reminders dropped."""
    now = now or utc_now()
    offer_session = await lock_offer_session(session, session_id)
    if offer_session is None:
        return None
    if offer_session.status == SessionStatus.CANCELLED:
        return ChangeReport(session_id, changed=False)
    before = (offer_session.starts_at, offer_session.venue_id)
    offer_session.status = SessionStatus.CANCELLED
    session.add(offer_session)
    await touch_offer(session, offer_session.offer_id, now)
    await skip_pending(
        session,
        "session cancelled",
        OutboxMessage.session_id == session_id,
        OutboxMessage.kind.in_([REMINDER, PROMOTED]),
    )
    subscribers = await _subscribers(session, session_id)
    version = f"{CANCELLED}:{now.timestamp():.0f}"
    await _notify(session, offer_session, subscribers, CANCELLED, version, before, now, city_zone)
    return ChangeReport(session_id, changed=True, notified=len(subscribers))


async def _subscribers(session: AsyncSession, session_id: int) -> list[tuple[Resident, SeatStatus]]:
    rows = await session.execute(
        select(Resident, Seat.status)
        .join(Seat, Seat.resident_id == Resident.id)
        .where(Seat.session_id == session_id, Seat.status.in_(ACTIVE))
        .order_by(Seat.created_at, Seat.id)
    )
    return [(resident, status) for resident, status in rows.all()]


async def _notify(
    session: AsyncSession,
    offer_session: OfferSession,
    subscribers: list[tuple[Resident, SeatStatus]],
    change: str,
    version: str,
    before: tuple[datetime, int | None],
    now: datetime,
    city_zone: ZoneInfo,
) -> None:
    # A notice of an earlier change that has not gone out yet is replaced by this one, which
    # tells what the session was before that earlier change.
    earlier = await _unsent_change_payloads(session, offer_session.id)
    await skip_pending(
        session,
        "superseded by a later change",
        OutboxMessage.session_id == offer_session.id,
        OutboxMessage.kind == CHANGE,
    )
    old_starts, old_venue = before
    earliest = min(old_starts, offer_session.starts_at)
    messages = []
    for resident, _status in subscribers:
        payload = earlier.get(resident.id) or {
            "old_starts_at": old_starts.isoformat(),
            "old_venue_id": old_venue,
        }
        payload = {**payload, "change": change}
        key = f"{CHANGE}:{offer_session.id}:{resident.id}:{version}"
        messages.append(
            notice(
                CHANGE,
                resident,
                key,
                now,
                city_zone,
                payload=payload,
                session_id=offer_session.id,
                session_starts=earliest,
            )
        )
    await enqueue_many(session, messages)


async def _unsent_change_payloads(session: AsyncSession, session_id: int) -> dict[int, dict]:
    """The payload of each change notice of the session still waiting to go out, by resident."""
    unsent = await session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.session_id == session_id,
            OutboxMessage.kind == CHANGE,
            OutboxMessage.state == OutboxState.PENDING,
        )
    )
    return {row.resident_id: row.payload for row in unsent}


async def touch_offer(session: AsyncSession, offer_id: int, now: datetime) -> None:
    """Stamp the offer as changed: the search index's fingerprint (catalogue.search.engine)
    sees it."""
    await session.execute(update(Offer).where(Offer.id == offer_id).values(updated_at=now))
    await session.flush()


async def subscriber_count(session: AsyncSession, session_id: int) -> int:
    """How many residents a change of the session would tell (for the organiser's preview)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Seat)
        .where(Seat.session_id == session_id, Seat.status.in_(ACTIVE))
    )
    return count or 0


async def changeable_session(session: AsyncSession, session_id: int) -> SessionWithOffer | None:
    """The session with its offer and venue if it can still be moved or cancelled: None when
    it is gone or already cancelled."""
    found = await session_by_id(session, session_id)
    if found is None or found[0].status == SessionStatus.CANCELLED:
        return None
    return found
