"""Feedback after an attended session: a score and an optional comment, asked for once.

Each new check-in queues one prompt in the outbox (kind `FEEDBACK`, one per resident and
session, due when the session ends); scheduler/feedback.py renders it. A check-in taken back
by /undo withdraws its prompt if it has not gone out yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.answers import Holder
from catalogue.checkin.tables import FEEDBACK_COMMENT_LIMIT
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import SessionFeedback
from catalogue.database import dialect_insert
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.outbox.messages import Conflict
from catalogue.outbox.messages import NewMessage
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import enqueue_many
from catalogue.outbox.messages import skip_pending

FEEDBACK = "feedback"  # outbox kind of the prompt sent after an attended session


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
    session: AsyncSession, resident: Resident, session_id: int, comment: str
) -> bool:
    """Add a comment to the resident's score; False if they have not rated the session."""
    found = await session.scalar(
        select(SessionFeedback).where(
            SessionFeedback.session_id == session_id, SessionFeedback.resident_id == resident.id
        )
    )
    if found is None:
        return False
    found.comment = comment.strip()[:FEEDBACK_COMMENT_LIMIT] or None
    session.add(found)
    await session.flush()
    return True
