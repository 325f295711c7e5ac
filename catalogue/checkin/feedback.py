"""Feedback after an attended session: a score and an optional comment, asked for once.

Each new check-in queues one prompt in the outbox (kind `FEEDBACK`, one per resident and
session, due when the session ends); scheduler/feedback.py renders it. A check-in taken back
by /undo withdraws its prompt if it has not gone out yet.

A comment goes to the organisers (and administrators), one message a day each (kind
`COMMENTS`, `plan_comment_digests`): the first comment of their day at once, later ones in the
next day's message at COMMENTS_AT, each after the reader's quiet hours; a message holds every
comment written since the message before it, by offer and session, never with who wrote it
(scheduler/feedback.py renders it).
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Sequence
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.answers import Holder
from catalogue.checkin.tables import FEEDBACK_COMMENT_LIMIT
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import SessionFeedback
from catalogue.database import dialect_insert
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.outbox.messages import Conflict
from catalogue.outbox.messages import NewMessage
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import enqueue_many
from catalogue.outbox.messages import skip_pending
from catalogue.outbox.reminders import quiet_hours
from catalogue.outbox.reminders import resident_zone
from catalogue.outbox.timing import local_to_utc
from catalogue.queries import select_sessions
from catalogue.team import Role
from catalogue.team import TeamMember

FEEDBACK = "feedback"  # outbox kind of the prompt sent after an attended session
COMMENTS = "comments"  # outbox kind of an organiser's daily message of residents' comments
COMMENTS_AT = 9 * 60  # local minute a day's message goes out when the day before had one


async def plan_feedback(
    session: AsyncSession, offer_session: OfferSession, holders: Sequence[Holder], now: datetime
) -> None:
    """Queue the prompt of each resident just checked in: one per attended session, due when
    it ends (the renderer minds quiet hours)."""
    due = max(now, offer_session.ends_at)
    await enqueue_many(
        session,
        [
            NewMessage(
                kind=FEEDBACK,
                chat_id=holder.telegram_id,
                dedupe_key=f"{FEEDBACK}:{offer_session.id}:{holder.resident_id}",
                due_at=due,
                resident_id=holder.resident_id,
                session_id=offer_session.id,
                anchor_at=offer_session.ends_at,
            )
            for holder in holders
        ],
        # Checked in again after an /undo: the skipped prompt is due again; a sent one stays.
        Conflict.REFRESH,
    )


async def withdraw_feedback(
    session: AsyncSession, session_id: int, resident_ids: Sequence[int]
) -> None:
    """Skip the prompts not sent yet of check-ins that /undo took back."""
    if not resident_ids:
        return
    await skip_pending(
        session,
        "check-in undone",
        OutboxMessage.kind == FEEDBACK,
        OutboxMessage.session_id == session_id,
        OutboxMessage.resident_id.in_(resident_ids),
    )


async def attended(session: AsyncSession, resident_id: int, session_id: int) -> bool:
    """Whether the resident was checked in to the session (only they may rate it)."""
    found = await session.scalar(
        select(CheckIn.id).where(
            CheckIn.session_id == session_id, CheckIn.resident_id == resident_id
        )
    )
    return found is not None


async def rate_session(
    session: AsyncSession, resident: Resident, session_id: int, score: int, now: datetime
) -> bool:
    """Keep the resident's 1–5 for a session they attended; False if they did not attend."""
    if not 1 <= score <= 5 or not await attended(session, resident.id, session_id):
        return False
    table = SessionFeedback.__table__
    statement = dialect_insert(session)(table).values(
        session_id=session_id, resident_id=resident.id, score=score, created_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["session_id", "resident_id"], set_={"score": statement.excluded.score}
    )
    await session.execute(statement)
    return True


async def comment_on_session(
    session: AsyncSession,
    resident: Resident,
    session_id: int,
    comment: str,
    now: datetime,
    city_zone: ZoneInfo,
    admin_ids: Collection[int] = (),
) -> bool:
    """Add a comment to the resident's score; False if they have not rated the session.
    The organisers (and administrators, `admin_ids`) get it in their next daily message."""
    found = await session.scalar(
        select(SessionFeedback).where(
            SessionFeedback.session_id == session_id, SessionFeedback.resident_id == resident.id
        )
    )
    if found is None:
        return False
    found.comment = comment.strip()[:FEEDBACK_COMMENT_LIMIT] or None
    found.commented_at = now if found.comment else None
    session.add(found)
    await session.flush()
    if found.comment:
        await plan_comment_digests(session, now, city_zone, admin_ids)
    return True


# ---------------------------------------------------------------- comments for the organisers


def _comments_key(reader: Resident, day: date) -> str:
    return f"{COMMENTS}:{reader.id}:{day.isoformat()}"


async def plan_comment_digests(
    session: AsyncSession, now: datetime, city_zone: ZoneInfo, admin_ids: Collection[int] = ()
) -> int:
    """Each organiser's (and administrator's) message of a new comment, one a day: the first
    comment of their day goes out now (after their quiet hours); once that day's message is
    queued, later comments wait for the next day's, at COMMENTS_AT in their zone. A message
    holds every comment written since the one before it. Returns how many readers there are."""
    organisers = select(TeamMember.telegram_id).where(
        TeamMember.role.in_([Role.ORGANISER, Role.ADMIN])
    )
    readers = list(
        await session.scalars(
            select(Resident).where(
                Resident.is_active.is_(True),
                sa.or_(Resident.telegram_id.in_(organisers), Resident.telegram_id.in_(admin_ids)),
            )
        )
    )
    zones = {reader.id: resident_zone(reader, city_zone) for reader in readers}
    today = {reader.id: now.astimezone(zones[reader.id]).date() for reader in readers}
    keys = [_comments_key(reader, today[reader.id]) for reader in readers]
    queued_today = set(
        await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))
        )
    )
    messages = []
    for reader in readers:
        zone, day = zones[reader.id], today[reader.id]
        at = now
        if _comments_key(reader, day) in queued_today:  # today's went, or is on its way
            day += timedelta(days=1)
            at = local_to_utc(day, COMMENTS_AT, zone)
        quiet = quiet_hours(reader)
        messages.append(
            NewMessage(
                kind=COMMENTS,
                chat_id=reader.telegram_id,
                dedupe_key=_comments_key(reader, day),
                due_at=quiet.after(at, zone) if quiet is not None else at,
                payload={"admin": reader.telegram_id in admin_ids},
                resident_id=reader.id,
                anchor_at=at,  # the message holds the comments written up to here
            )
        )
    await enqueue_many(session, messages, Conflict.KEEP)
    return len(messages)


async def comments_since(session: AsyncSession, row: OutboxMessage) -> datetime:
    """Where a reader's message of comments starts: where their message before it ended
    (at most a week back)."""
    assert row.anchor_at is not None
    before = await session.scalar(
        select(sa.func.max(OutboxMessage.anchor_at)).where(
            OutboxMessage.kind == COMMENTS,
            OutboxMessage.resident_id == row.resident_id,
            OutboxMessage.anchor_at < row.anchor_at,
        )
    )
    week_ago = row.anchor_at - timedelta(days=7)
    return max(before, week_ago) if before is not None else week_ago


# A comment as organisers read it: the offer, the session, and the feedback (score, comment).
SessionComment = tuple[Offer, OfferSession, SessionFeedback]


async def comments_between(
    session: AsyncSession, since: datetime, until: datetime
) -> list[SessionComment]:
    """Comments written in (since, until], by offer and session."""
    rows = await session.execute(
        select_sessions(Offer, OfferSession, SessionFeedback)
        .join(SessionFeedback, SessionFeedback.session_id == OfferSession.id)
        .where(
            SessionFeedback.comment.is_not(None),
            SessionFeedback.commented_at > since,
            SessionFeedback.commented_at <= until,
        )
        .order_by(Offer.id, OfferSession.starts_at, SessionFeedback.commented_at)
    )
    return [(offer, offer_session, feedback) for offer, offer_session, feedback in rows]


async def still_organiser(session: AsyncSession, telegram_id: int) -> bool:
    role = await session.scalar(
        select(TeamMember.role).where(TeamMember.telegram_id == telegram_id)
    )
    return role in (Role.ORGANISER, Role.ADMIN)
