"""Planning what residents are told and when: reminders, notices, announcements, digests.

Everything here writes outbox rows (catalogue/outbox/messages.py) in the caller's transaction:
a seat taken or moved plans its reminders at once; scheduler/planning.py runs the periodic
jobs (resync, announcements, digests) on top of these functions, and the outbox worker
(scheduler/outbox.py) sends the rows when due. Planning is idempotent: every row has a dedupe
key, so running a job twice, or in two processes at once, queues nothing twice.

* Reminders: one row per (resident, session, offset), due at `timing.reminder_due`, anchored
  to the session's start. When the session moves, the rows move (`plan_reminders` again).
* Notices (a session changed, a waitlist seat came free): due now, or when the resident's
  quiet hours end unless the session would begin before that.
* Announcements: an offer new in a followed track or festival (`announce_new_offers`).
* Digests: one a week at the resident's chosen day and time (`plan_digests`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import SessionStatus
from catalogue.outbox.messages import Conflict
from catalogue.outbox.messages import NewMessage
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import enqueue_many
from catalogue.outbox.messages import skip_pending
from catalogue.outbox.timing import QuietHours
from catalogue.outbox.timing import next_weekly
from catalogue.outbox.timing import reminder_due
from catalogue.outbox.timing import week_key

logger = logging.getLogger(__name__)

REMINDER = "reminder"
CHANGE = "change"
PROMOTED = "promoted"
ANNOUNCE = "announce"
DIGEST = "digest"
# A notice deferred past quiet hours must still arrive this long before its session.
NOTICE_LEAD = timedelta(hours=1)


def resident_zone(resident: Resident, city_zone: ZoneInfo) -> ZoneInfo:
    if resident.timezone:
        try:
            return ZoneInfo(resident.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("Resident %s has an unknown time zone", resident.id)
    return city_zone


def quiet_hours(resident: Resident) -> QuietHours | None:
    return QuietHours.of(resident.quiet_from, resident.quiet_until)


async def _skip_pending_of(
    session: AsyncSession, resident: Resident, kind: str, reason: str
) -> int:
    """The resident's rows of `kind` not sent yet are skipped, to be planned afresh."""
    return await skip_pending(
        session, reason, OutboxMessage.kind == kind, OutboxMessage.resident_id == resident.id
    )


# ---------------------------------------------------------------- reminders


def reminder_messages(
    resident: Resident, offer_session: OfferSession, now: datetime, city_zone: ZoneInfo
) -> list[NewMessage]:
    """The reminder rows a resident going to `offer_session` should have, from now on."""
    if (
        not resident.reminders_on
        or offer_session.status == SessionStatus.CANCELLED
        or offer_session.starts_at <= now
    ):
        return []
    zone, quiet = resident_zone(resident, city_zone), quiet_hours(resident)
    messages = []
    for offset in sorted(set(resident.reminder_offsets or [])):
        due = reminder_due(offer_session.starts_at, offset, zone, quiet)
        if due <= now:
            # Quiet hours began already: better a reminder in them than none at all.
            due = reminder_due(offer_session.starts_at, offset, zone)
        if due <= now:
            continue  # too late for this one: subscribing an hour before needs no day-before
        messages.append(
            NewMessage(
                kind=REMINDER,
                chat_id=resident.telegram_id,
                dedupe_key=f"{REMINDER}:{resident.id}:{offer_session.id}:{offset}",
                due_at=due,
                payload={"offset": offset},
                resident_id=resident.id,
                session_id=offer_session.id,
                anchor_at=offer_session.starts_at,
            )
        )
    return messages


async def plan_reminders(
    session: AsyncSession,
    offer_session: OfferSession,
    residents: Sequence[Resident],
    now: datetime,
    city_zone: ZoneInfo,
) -> list[NewMessage]:
    """(Re)plan the reminders of these residents for this session, e.g. after it moved;
    returns the reminders planned (a time already past when planning is left out).

    Pending reminders are replaced; one already sent for the session's current time stays
    sent (never twice); one sent for an earlier time is queued again for the new time.
    """
    if not residents:
        return []
    await skip_pending(
        session,
        "replanned",
        OutboxMessage.kind == REMINDER,
        OutboxMessage.session_id == offer_session.id,
        OutboxMessage.resident_id.in_([resident.id for resident in residents]),
    )
    messages = [
        message
        for resident in residents
        for message in reminder_messages(resident, offer_session, now, city_zone)
    ]
    await enqueue_many(session, messages, Conflict.MOVE)
    return messages


async def drop_reminders(
    session: AsyncSession,
    reason: str,
    *,
    resident_id: int | None = None,
    session_id: int | None = None,
) -> int:
    conditions = [OutboxMessage.kind.in_([REMINDER, PROMOTED])]
    if resident_id is not None:
        conditions.append(OutboxMessage.resident_id == resident_id)
    if session_id is not None:
        conditions.append(OutboxMessage.session_id == session_id)
    return await skip_pending(session, reason, *conditions)


async def replan_resident(
    session: AsyncSession, resident: Resident, now: datetime, city_zone: ZoneInfo
) -> None:
    """After the resident changed offsets, quiet hours, zone or turned reminders on/off."""
    await _skip_pending_of(session, resident, REMINDER, "settings changed")
    upcoming = await session.scalars(
        select(OfferSession)
        .join(Seat, Seat.session_id == OfferSession.id)
        .where(
            Seat.resident_id == resident.id,
            Seat.status == SeatStatus.GOING,
            OfferSession.starts_at > now,
            OfferSession.status != SessionStatus.CANCELLED,
        )
    )
    messages = [
        message
        for offer_session in upcoming
        for message in reminder_messages(resident, offer_session, now, city_zone)
    ]
    await enqueue_many(session, messages, Conflict.MOVE)


# ---------------------------------------------------------------- notices


def notice_due(
    resident: Resident, now: datetime, city_zone: ZoneInfo, session_starts: datetime | None
) -> datetime:
    """Now, or after the resident's quiet hours unless that would be too close to the session."""
    quiet = quiet_hours(resident)
    if quiet is None:
        return now
    after_quiet = quiet.after(now, resident_zone(resident, city_zone))
    if session_starts is not None and after_quiet > session_starts - NOTICE_LEAD:
        return now
    return after_quiet


def notice(
    kind: str,
    resident: Resident,
    key: str,
    now: datetime,
    city_zone: ZoneInfo,
    *,
    payload: dict | None = None,
    session_id: int | None = None,
    session_starts: datetime | None = None,
) -> NewMessage:
    return NewMessage(
        kind=kind,
        chat_id=resident.telegram_id,
        dedupe_key=key,
        due_at=notice_due(resident, now, city_zone, session_starts),
        payload=payload or {},
        resident_id=resident.id,
        session_id=session_id,
    )


# ---------------------------------------------------------------- digests


def digest_message(resident: Resident, now: datetime, city_zone: ZoneInfo) -> NewMessage | None:
    if resident.digest_weekday is None or resident.digest_minute is None:
        return None
    zone = resident_zone(resident, city_zone)
    due = next_weekly(now, resident.digest_weekday, resident.digest_minute, zone)
    return NewMessage(
        kind=DIGEST,
        chat_id=resident.telegram_id,
        dedupe_key=f"{DIGEST}:{resident.id}:{week_key(due, zone)}",
        due_at=due,
        resident_id=resident.id,
        anchor_at=due,
    )


async def plan_digest(
    session: AsyncSession, resident: Resident, now: datetime, city_zone: ZoneInfo
) -> None:
    """The resident's next weekly digest, after they changed its day or time (or turned it off)."""
    await _skip_pending_of(session, resident, DIGEST, "digest settings changed")
    message = digest_message(resident, now, city_zone)
    if message is not None:
        # A week whose digest went out already keeps it: at most one digest a week.
        await enqueue_many(session, [message], Conflict.REFRESH)
