"""Durable outgoing messages: queued as rows, claimed atomically, sent once, marked sent.

Every reminder, change notice, waitlist promotion, announcement, digest and broadcast is an
`OutboxMessage` row (catalogue/outbox/messages.py): kind, chat, due time, state, attempts, a
lease and a
unique `dedupe_key`, so the same message can never be queued twice. The row holds what to say
about (`payload`, `session_id`), not the words: a *renderer* for its kind turns it into text in
the resident's language and time zone at send time, so a moved session shows its new time.

Life of a row (drawn in docs/reminders.md)::

    pending ──due──▶ claimed ──Telegram OK──▶ sent
       ▲               │ ├──403 / chat gone──▶ failed (resident marked inactive)
       │               │ ├──bad request / attempts used up──▶ failed
       │               │ └──renderer says no (session begun, unsubscribed…)──▶ skipped
       └── retry later, released at shutdown, lease expired, session moved ──┘

Claiming is one statement: PostgreSQL `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED) AND state = 'pending'`, so any number of bot processes share the queue and each row
goes to one of them; SQLite runs the same conditional UPDATE under its single-writer lock.
A claim is a lease (`OUTBOX_LEASE_SECONDS`): a process never starts sending a row whose lease
is about to run out, and rows of a process that died are taken over when their lease expires.

Writing rows: `enqueue_many(session, [NewMessage(...)], conflict)` inside the caller's
transaction. `kind="text"` sends `payload["text"]` (HTML) with an optional
`payload["markup"]` (an InlineKeyboardMarkup as a dict) as is; other kinds register a
renderer with `@renderer("kind")`.

Sending: one `OutboxWorker` per bot process (started in `bot.startup.app.run_polling`) sleeps until
the next due row (claiming at most every `tick_seconds` once caught up, so rows falling due
together share one claim and one render), claims what is due, renders, sends through the
shared `scheduler.delivery.Delivery` (rate limits, 429, 403, retries) and records the outcome.

Delivery is exactly once through restarts, redeploys and several processes: a row is marked
sent in the moment after Telegram accepts it, and a stopping process (SIGTERM) finishes or
releases what it holds. Only a hard crash (SIGKILL, power loss) between Telegram's answer and
that write can repeat a message, once, after the lease; a worker never has more than
`unrecorded_limit(OUTBOUND_RATE)` such messages at a time (8 at Telegram's rates, a fifth of
a second of sending at higher ones), so that is the most a crash can repeat. Nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from catalogue.models import Resident, utc_now
from catalogue.outbox.messages import OutboxMessage, OutboxState
from scheduler.delivery import Delivery, DeliveryResult, DeliveryStatus, Outgoing, backoff

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # sends tried (network errors, 5xx) before a row is given up as failed
RETRY_BACKOFF_BASE = 5.0  # seconds before the first retry of a row; doubles each time
RETRY_BACKOFF_CAP = 3600.0
KEEP_FINISHED_DAYS = 30  # sent, failed and skipped rows are deleted after this
# Sends that Telegram may have accepted and the database not yet recorded, at most: this many,
# or a fifth of a second's worth at the outbound rate if that is more.
UNRECORDED_LIMIT = 8


def unrecorded_limit(outbound_rate: float) -> int:
    return max(UNRECORDED_LIMIT, math.ceil(outbound_rate / 5))


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


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Skip:
    """Do not send: the reason is kept in `last_error`."""

    reason: str


@dataclass(frozen=True)
class Reschedule:
    """Not yet: what it is about moved; due again at `due_at`."""

    due_at: datetime
    anchor_at: datetime | None = None
    reason: str = "moved"


Rendered = Outgoing | Skip | Reschedule


@dataclass(frozen=True)
class RenderContext:
    settings: Settings
    i18n: I18n
    now: datetime


Renderer = Callable[
    [AsyncSession, RenderContext, list[OutboxMessage]], Awaitable[dict[int, Rendered]]
]
RENDERERS: dict[str, Renderer] = {}


def renderer(kind: str) -> Callable[[Renderer], Renderer]:
    """Register the function that renders rows of `kind` (a batch at a time, by row id)."""

    def register(function: Renderer) -> Renderer:
        RENDERERS[kind] = function
        return function

    return register


@renderer("text")
async def render_text(
    session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
) -> dict[int, Rendered]:
    """Pre-rendered messages (e.g. a broadcast): `payload = {"text": ..., "markup": {...}}`."""
    rendered: dict[int, Rendered] = {}
    for row in rows:
        text = row.payload.get("text")
        if not text:
            rendered[row.id] = Skip("empty text")
            continue
        markup = row.payload.get("markup")
        rendered[row.id] = Outgoing(
            text, InlineKeyboardMarkup.model_validate(markup) if markup else None
        )
    return rendered


# ---------------------------------------------------------------- outcomes


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
    if sent:
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
        if outcome.state is OutboxState.SENT:
            continue
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
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outcome.row_id, mine)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


# ---------------------------------------------------------------- the worker


def new_worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class WorkerStats:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    released: int = 0


class OutboxWorker:
    """Drains due rows through the shared Delivery; one per bot process."""

    def __init__(
        self,
        session_maker: async_sessionmaker[AsyncSession],
        delivery: Delivery,
        settings: Settings,
        i18n: I18n,
        *,
        worker_id: str | None = None,
        batch_size: int = 200,
        max_in_flight: int = 100,
        poll_seconds: float = 1.0,
        tick_seconds: float = 0.1,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.session_maker = session_maker
        self.delivery = delivery
        self.settings = settings
        self.i18n = i18n
        self.worker_id = worker_id or new_worker_id()
        self.lease = timedelta(seconds=settings.outbox_lease_seconds)
        # A row is not handed to Telegram unless this much of its lease is left: twice what one
        # request may take, so the claim cannot expire while Telegram is being asked.
        lease_seconds = settings.outbox_lease_seconds
        delivery.send_timeout = max(1.0, min(delivery.send_timeout, lease_seconds / 6))
        self.margin = 2 * delivery.send_timeout
        # Hold no more than about two seconds of sending: a stopping process finishes or
        # releases that quickly, and it always goes out well within a lease.
        sendable = settings.outbound_rate * min(2.0, (lease_seconds - self.margin) / 2)
        self.batch_size = max(1, min(batch_size, int(sendable)))
        self.max_in_flight = max(1, min(max_in_flight, self.batch_size))
        self.poll_seconds = poll_seconds
        # Once caught up, claim at most this often: rows falling due meanwhile go out together,
        # one claim and one render for many, at the price of at most a tick of lateness.
        self.tick_seconds = tick_seconds
        self._last_claim = 0.0
        self.clock = clock
        self.stats = WorkerStats()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        self._loop_task: asyncio.Task[None] | None = None
        self._recorder_task: asyncio.Task[None] | None = None
        self._last_release = 0.0
        self._unrecorded = asyncio.Semaphore(unrecorded_limit(settings.outbound_rate))

    # -- lifecycle

    async def start(self) -> None:
        if self._loop_task is not None:
            return
        self._stopping.clear()
        self._start_recorder()
        self._loop_task = asyncio.create_task(self._run(), name="outbox-worker")

    def _start_recorder(self) -> None:
        if self._recorder_task is None:
            self._recorder_task = asyncio.create_task(self._record_loop(), name="outbox-recorder")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming; let in-flight sends finish (or release them); record everything."""
        self._stopping.set()
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:  # their rows stay claimed until the lease ends: never doubled
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self._recorder_task is not None:
            await self._outcomes.put(None)
            await self._recorder_task
        self._loop_task = self._recorder_task = None

    def wake(self) -> None:
        """Look for due rows now (e.g. right after queueing something due immediately)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        """The claiming loop is alive (read by /healthz)."""
        return self._loop_task is not None and not self._loop_task.done()

    async def drain(self) -> None:
        """Send everything due now and wait until it is recorded (tests, benchmarks)."""
        self._start_recorder()
        while await self._claim_and_dispatch():
            pass
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        await self._outcomes.join()

    # -- the loop

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                more = await self._claim_and_dispatch()
            except Exception:
                logger.exception("Outbox: claiming failed; trying again shortly")
                more = False
            if not more:
                await self._sleep_until_due()

    async def _claim_and_dispatch(self) -> bool:
        """Claim one batch and start sending it; True when more may be due right now."""
        free = self.max_in_flight - len(self._tasks)
        # Claim in batches: while most senders are still busy, wait for half a batch of them
        # to finish rather than claiming row by row (a transaction per message, under load).
        half_batch = min(self.batch_size, self.max_in_flight) // 2
        if free <= 0 or (self._tasks and free < half_batch):
            await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
            return True
        now = self.clock()
        limit = min(self.batch_size, free)
        self._last_claim = time.monotonic()
        async with self.session_maker.begin() as session:
            if time.monotonic() - self._last_release > self.lease.total_seconds() / 4:
                self._last_release = time.monotonic()
                released = await release_expired(session, now)
                if released:
                    logger.warning("Outbox: took over %d rows of a process that stopped", released)
        async with self.session_maker.begin() as session:
            rows = await claim_due(session, self.worker_id, now, now + self.lease, limit)
        if not rows:
            return False
        self.stats.claimed += len(rows)
        rendered = await self._render(rows, now)
        monotonic_now = time.monotonic()
        for row in rows:
            result = rendered.get(row.id, Skip("no renderer"))
            if isinstance(result, Outgoing):
                lease_left = (row.claimed_until - now).total_seconds()
                deadline = monotonic_now + lease_left - self.margin
                task = asyncio.create_task(self._send(row, result, deadline))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif isinstance(result, Reschedule):
                self._outcomes.put_nowait(
                    Outcome(
                        row.id, OutboxState.PENDING, result.reason, result.due_at, result.anchor_at
                    )
                )
            else:
                self.stats.skipped += 1
                self._outcomes.put_nowait(Outcome(row.id, OutboxState.SKIPPED, result.reason))
        return len(rows) == limit

    async def _render(self, rows: list[OutboxMessage], now: datetime) -> dict[int, Rendered]:
        rendered: dict[int, Rendered] = {}
        context = RenderContext(self.settings, self.i18n, now)
        try:
            async with self.session_maker() as session:
                inactive = await _inactive_residents(session, rows)
                by_kind: dict[str, list[OutboxMessage]] = {}
                for row in rows:
                    if row.resident_id in inactive:
                        rendered[row.id] = Skip("resident inactive")
                    else:
                        by_kind.setdefault(row.kind, []).append(row)
                for kind, batch in by_kind.items():
                    render = RENDERERS.get(kind)
                    if render is None:
                        rendered.update({row.id: Skip(f"no renderer for {kind}") for row in batch})
                        continue
                    with self.i18n.context():
                        rendered.update(await render(session, context, batch))
        except Exception:
            logger.exception("Outbox: rendering failed; the rows will be tried again")
            retry_at = now + timedelta(seconds=RETRY_BACKOFF_BASE)
            return {row.id: Reschedule(retry_at, row.anchor_at, "render error") for row in rows}
        return rendered

    async def _send(self, row: OutboxMessage, outgoing: Outgoing, deadline: float) -> None:
        # Few messages may be sent and not yet marked sent at any moment: that is all a hard
        # crash (SIGKILL) could repeat once its lease ends.
        await self._unrecorded.acquire()
        try:
            result = await self.delivery.send(
                row.chat_id,
                outgoing,
                deadline=deadline,
                still_wanted=lambda: not self._stopping.is_set(),
            )
        except asyncio.CancelledError:
            self._unrecorded.release()
            raise
        except Exception:  # Delivery never raises; this is belt and braces
            logger.exception("Outbox: sending row %s failed", row.id)
            result = DeliveryResult(DeliveryStatus.RETRY, error="crash", attempted=True)
        outcome = replace(outcome_of(row, result, self.clock()), holds_slot=True)
        if outcome.state is OutboxState.SENT:
            self.stats.sent += 1
        elif outcome.state is OutboxState.FAILED:
            self.stats.failed += 1
        elif outcome.attempted:
            self.stats.retried += 1
        else:
            self.stats.released += 1
        self._outcomes.put_nowait(outcome)

    async def _sleep_until_due(self) -> None:
        timeout = self.poll_seconds
        try:
            async with self.session_maker() as session:
                due = await next_due_at(session)
            if due is not None:
                timeout = min(timeout, max(0.0, (due - self.clock()).total_seconds()))
        except Exception:
            logger.exception("Outbox: could not read the next due time")
        timeout = max(timeout, self._last_claim + self.tick_seconds - time.monotonic())
        if timeout <= 0:
            return
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    # -- recording outcomes

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


async def _inactive_residents(session: AsyncSession, rows: list[OutboxMessage]) -> set[int]:
    ids = {row.resident_id for row in rows if row.resident_id is not None}
    if not ids:
        return set()
    found = await session.scalars(
        select(Resident.id).where(Resident.id.in_(ids), Resident.is_active.is_(False))
    )
    return set(found)
