"""What became of each claimed outbox row, and writing it down.

Every row a worker claims ends in an `Outcome`: sent, failed, skipped, or pending again (a
retry with back-off, a reschedule, a release). The `OutcomeRecorder` writes them in batches
in the background, and only to rows the worker still holds. It also bounds how many messages
Telegram may have accepted while the database does not know yet (`unrecorded_limit`): all a
hard crash between the two could ever send twice.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from scheduler.delivery import DeliveryResult
from scheduler.delivery import DeliveryStatus
from scheduler.delivery import backoff

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # sends tried (network errors, 5xx) before a row is given up as failed
RETRY_BACKOFF_BASE = 5.0  # seconds before the first retry of a row; doubles each time
RETRY_BACKOFF_CAP = 3600.0
# Sends that Telegram may have accepted and the database not yet recorded, at most: this many,
# or a fifth of a second's worth at the outbound rate if that is more.
UNRECORDED_LIMIT = 8


def unrecorded_limit(outbound_rate: float) -> int:
    return max(UNRECORDED_LIMIT, math.ceil(outbound_rate / 5))


@dataclass(frozen=True)
class Outcome:
    row_id: int
    state: OutboxState
    error: str | None = None
    due_at: datetime | None = None
    anchor_at: datetime | None = None
    attempted: bool = False
    # Telegram may have the message and the database not yet know: counts against
    # unrecorded_limit() until written.
    holds_slot: bool = False


def outcome_of(row: OutboxMessage, result: DeliveryResult, now: datetime) -> Outcome:
    """What a send's result means for its row: done, given up, or tried again later."""
    if result.status is DeliveryStatus.SENT:
        return Outcome(row.id, OutboxState.SENT, attempted=True)
    if result.status in (DeliveryStatus.BLOCKED, DeliveryStatus.FAILED):
        return Outcome(row.id, OutboxState.FAILED, result.error or result.status, attempted=True)
    if not result.attempted:  # never reached Telegram (deadline, stopping): just let it go
        return Outcome(row.id, OutboxState.PENDING, result.error, due_at=row.due_at)
    if row.attempts + 1 >= MAX_ATTEMPTS:
        return Outcome(row.id, OutboxState.FAILED, result.error, attempted=True)
    delay = backoff(row.attempts + 1, RETRY_BACKOFF_BASE, RETRY_BACKOFF_CAP)
    return Outcome(
        row.id,
        OutboxState.PENDING,
        result.error,
        due_at=now + timedelta(seconds=delay),
        attempted=True,
    )


async def record_outcomes(
    session: AsyncSession, worker_id: str, outcomes: Sequence[Outcome], now: datetime
) -> None:
    """Write what happened, only to rows this worker still holds (a reschedule that put a row
    back to pending meanwhile wins: the reminder goes out again at the session's new time)."""
    mine = (OutboxMessage.state == OutboxState.CLAIMED) & (OutboxMessage.claimed_by == worker_id)
    sent = [outcome.row_id for outcome in outcomes if outcome.state is OutboxState.SENT]
    if sent:  # the common case, in one statement
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(sent), mine)
            .values(
                state=OutboxState.SENT,
                sent_at=now,
                attempts=OutboxMessage.attempts + 1,
                claimed_until=None,
                last_error=None,
            )
            .execution_options(synchronize_session=False)
        )
    for outcome in outcomes:
        if outcome.state is not OutboxState.SENT:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == outcome.row_id, mine)
                .values(**_unsent_values(outcome, now))
                .execution_options(synchronize_session=False)
            )


def _unsent_values(outcome: Outcome, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"state": outcome.state, "claimed_until": None}
    if outcome.error is not None:
        values["last_error"] = outcome.error[:300]
    if outcome.attempted:
        values["attempts"] = OutboxMessage.attempts + 1
    if outcome.state is OutboxState.PENDING:
        values["claimed_by"] = None
        values["due_at"] = outcome.due_at or now
        if outcome.anchor_at is not None:
            values["anchor_at"] = outcome.anchor_at
    return values


class OutcomeRecorder:
    """Writes outcomes as they come, many to a transaction, in a task of its own."""

    def __init__(
        self,
        session_maker: async_sessionmaker[AsyncSession],
        worker_id: str,
        clock: Callable[[], datetime],
        unrecorded: int,
    ) -> None:
        self.session_maker = session_maker
        self.worker_id = worker_id
        self.clock = clock
        self._outcomes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        self._unrecorded = asyncio.Semaphore(unrecorded)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._record_loop(), name="outbox-recorder")

    async def stop(self) -> None:
        """Write everything recorded so far, then end."""
        if self._task is not None:
            await self._outcomes.put(None)
            await self._task
            self._task = None

    def add(self, outcome: Outcome) -> None:
        self._outcomes.put_nowait(outcome)

    async def hold_slot(self) -> None:
        """Wait until one more message may be sent before the earlier ones are recorded."""
        await self._unrecorded.acquire()

    def free_slot(self) -> None:
        """A slot held for a send that never produced an outcome (cancelled)."""
        self._unrecorded.release()

    async def written(self) -> None:
        """Wait until every outcome added so far is written."""
        await self._outcomes.join()

    async def _record_loop(self) -> None:
        stopping = False
        while not stopping:
            items = [await self._outcomes.get()]
            while not self._outcomes.empty():
                items.append(self._outcomes.get_nowait())
            stopping = None in items
            batch = [item for item in items if item is not None]
            if batch:
                await self._write(batch, final=stopping)
            for item in batch:
                if item.holds_slot:
                    self._unrecorded.release()
            for _ in items:
                self._outcomes.task_done()

    async def _write(self, batch: list[Outcome], final: bool) -> None:
        failures = 0
        while True:
            try:
                async with self.session_maker.begin() as session:
                    await record_outcomes(session, self.worker_id, batch, self.clock())
                return
            except Exception:
                failures += 1
                logger.exception("Outbox: could not record %d outcomes", len(batch))
                if final and failures >= 3:
                    return  # rows stay claimed; their lease ends and they are retried
                await asyncio.sleep(backoff(failures, 0.5, 10.0))
