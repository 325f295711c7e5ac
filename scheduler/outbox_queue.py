"""The outbox table as a queue shared by every bot process: claim, release, look ahead, forget.

Claiming is one statement: PostgreSQL `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED) AND state = 'pending'`, so any number of bot processes share the queue and each row
goes to one of them; SQLite runs the same conditional UPDATE under its single-writer lock.
A claim is a lease (`claimed_until`): rows of a process that died are due again once it ends.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState

KEEP_FINISHED_DAYS = 30  # sent, failed and skipped rows are deleted after this


async def claim_due(
    session: AsyncSession, worker_id: str, now: datetime, lease_until: datetime, limit: int
) -> list[OutboxMessage]:
    """Take up to `limit` due rows for `worker_id`; no other process can take the same."""
    # Materialised, so PostgreSQL picks the rows once: as a plain IN (subquery) it may run the
    # subquery again for each row it updates and so claim far more than `limit`.
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer at a time
        .cte("due")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    claimed = await session.scalars(
        update(OutboxMessage)
        # The state is checked again on the row itself: a conditional UPDATE.
        .where(OutboxMessage.id.in_(select(due.c.id)))
        .where(OutboxMessage.state == OutboxState.PENDING)
        .values(state=OutboxState.CLAIMED, claimed_by=worker_id, claimed_until=lease_until)
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed, key=lambda row: (row.due_at, row.id))


async def release_expired(session: AsyncSession, now: datetime) -> int:
    """Rows whose claiming process went away (lease over) are due again."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.CLAIMED, OutboxMessage.claimed_until < now)
        .values(state=OutboxState.PENDING, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def next_due_at(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(OutboxMessage.due_at)).where(OutboxMessage.state == OutboxState.PENDING)
    )


async def queue_depth(session: AsyncSession, now: datetime) -> int:
    """Messages due and not yet sent: pending with `due_at` passed, plus claimed (in flight).

    Read by /metrics (`learncity_outbox_queue_depth`) and /healthz in webhook mode.
    """
    return (
        await session.scalar(
            select(func.count()).where(
                (OutboxMessage.state == OutboxState.CLAIMED)
                | ((OutboxMessage.state == OutboxState.PENDING) & (OutboxMessage.due_at <= now))
            )
        )
        or 0
    )


async def forget_finished(session: AsyncSession, now: datetime) -> int:
    """Delete sent, failed and skipped rows older than KEEP_FINISHED_DAYS."""
    result = await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.state.in_([OutboxState.SENT, OutboxState.FAILED, OutboxState.SKIPPED]),
            OutboxMessage.due_at < now - timedelta(days=KEEP_FINISHED_DAYS),
        )
    )
    return result.rowcount or 0
