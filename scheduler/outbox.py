"""Durable outgoing messages: queued as rows, claimed atomically, sent once, marked sent.

Every reminder, change notice, waitlist promotion, announcement, digest and broadcast is an
`OutboxMessage` row (catalogue/outbox/messages.py): kind, chat, due time, state, attempts, a
lease and a unique `dedupe_key`, so the same message can never be queued twice. The row holds
what to say about (`payload`, `session_id`), not the words: a *renderer* for its kind
(scheduler/rendering.py) turns it into text in the resident's language and time zone at send
time, so a moved session shows its new time.

Life of a row (drawn in docs/reminders.md)::

    pending ──due──▶ claimed ──Telegram OK──▶ sent
       ▲               │ ├──403 / chat gone──▶ failed (resident marked inactive)
       │               │ ├──bad request / attempts used up──▶ failed
       │               │ └──renderer says no (session begun, unsubscribed…)──▶ skipped
       └── retry later, released at shutdown, lease expired, session moved ──┘

Claiming is one conditional UPDATE (scheduler/outbox_queue.py), so any number of bot
processes share the queue and each row goes to one of them. A claim is a lease
(`OUTBOX_LEASE_SECONDS`): a process never starts sending a row whose lease is about to run
out, and rows of a process that died are taken over when their lease expires.

Writing rows: `enqueue_many(session, [NewMessage(...)], conflict)` inside the caller's
transaction. `kind="text"` sends `payload["text"]` (HTML) with an optional
`payload["markup"]` (an InlineKeyboardMarkup as a dict) as is; every other kind needs a
renderer in the mapping the composition root hands the worker (bot/startup/outbox_drawings.py).

Sending: one `OutboxWorker` per bot process (built in bot/startup/sending.py, started with the
bot) sleeps until the next due row (claiming at most every `tick_seconds` once caught up, so
rows falling due together share one claim and one render), then in turn: claims what is due,
renders it, sends it through the shared `scheduler.delivery.Delivery` (rate limits, 429, 403,
retries) and records the outcome (scheduler/outcomes.py).

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
import os
import socket
import time
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from catalogue.models import utc_now
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from scheduler.broadcast_gate import HALTED
from scheduler.broadcast_gate import BroadcastGate
from scheduler.config import SchedulerConfig
from scheduler.delivery import Delivery
from scheduler.delivery import DeliveryResult
from scheduler.delivery import DeliveryStatus
from scheduler.delivery import Outgoing
from scheduler.outbox_queue import claim_due
from scheduler.outbox_queue import next_due_at
from scheduler.outbox_queue import release_expired
from scheduler.outcomes import RETRY_BACKOFF_BASE
from scheduler.outcomes import Outcome
from scheduler.outcomes import OutcomeRecorder
from scheduler.outcomes import outcome_of
from scheduler.outcomes import unrecorded_limit
from scheduler.rendering import TEXT
from scheduler.rendering import RenderContext
from scheduler.rendering import Rendered
from scheduler.rendering import Renderer
from scheduler.rendering import Reschedule
from scheduler.rendering import Skip
from scheduler.rendering import render_rows
from scheduler.rendering import render_text
from scheduler.stopping import cancel_and_wait

logger = logging.getLogger(__name__)

HALTED_RETRY = timedelta(seconds=1)  # a message its broadcast's pause stopped is looked at again


def new_worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class WorkerStats:
    """What this worker has done, for benchmarks; the outcome of each send is a metric of its
    own (`learncity_telegram_requests_total{sender="outbox"}`)."""

    claimed: int = 0
    sent: int = 0


class OutboxWorker:
    """Drains due rows through the shared Delivery; one per bot process.

    Each round claims a batch, renders it, starts sending the ready rows and hands every
    outcome to the recorder; between rounds it sleeps until the next row falls due.
    """

    def __init__(
        self,
        session_maker: async_sessionmaker[AsyncSession],
        delivery: Delivery,
        config: SchedulerConfig,
        renderers: Mapping[str, Renderer],
        *,
        worker_id: str | None = None,
        batch_size: int = 200,
        max_in_flight: int = 100,
        poll_seconds: float = 1.0,
        tick_seconds: float = 0.1,
        clock: Callable[[], datetime] = utc_now,
        gate: BroadcastGate | None = None,
    ) -> None:
        self.session_maker = session_maker
        self.delivery = delivery
        self.config = config
        self.renderers: Mapping[str, Renderer] = {TEXT: render_text, **renderers}
        self.worker_id = worker_id or new_worker_id()
        self.lease = timedelta(seconds=config.outbox_lease_seconds)
        self._fit_to_lease(batch_size, max_in_flight)
        self.poll_seconds = poll_seconds
        # Once caught up, claim at most this often: rows falling due meanwhile go out together,
        # one claim and one render for many, at the price of at most a tick of lateness.
        self.tick_seconds = tick_seconds
        self.clock = clock
        self.stats = WorkerStats()
        # Reads the clock through the worker: tests stop it after the worker is built.
        self.recorder = OutcomeRecorder(
            session_maker,
            self.worker_id,
            lambda: self.clock(),
            unrecorded_limit(config.outbound_rate),
        )
        # Asked before each broadcast message goes: an organiser's Pause or Cancel holds at once.
        self.gate = gate or BroadcastGate()
        self.gate.recorded = self.recorder.written
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._last_claim = self._last_release = 0.0

    def _fit_to_lease(self, batch_size: int, max_in_flight: int) -> None:
        lease_seconds = self.config.outbox_lease_seconds
        delivery = self.delivery
        # A row is not handed to Telegram unless this much of its lease is left: twice what one
        # request may take, so the claim cannot expire while Telegram is being asked.
        delivery.send_timeout = max(1.0, min(delivery.send_timeout, lease_seconds / 6))
        self.margin = 2 * delivery.send_timeout
        # Hold no more than about two seconds of sending: a stopping process finishes or
        # releases that quickly, and it always goes out well within a lease.
        sendable = self.config.outbound_rate * min(2.0, (lease_seconds - self.margin) / 2)
        self.batch_size = max(1, min(batch_size, int(sendable)))
        self.max_in_flight = max(1, min(max_in_flight, self.batch_size))

    # -- lifecycle

    async def start(self) -> None:
        if self._loop_task is not None:
            return
        self._stopping.clear()
        self.recorder.start()
        self._loop_task = asyncio.create_task(self._run(), name="outbox-worker")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming; let in-flight sends finish (or release them); record everything."""
        self._stopping.set()
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=grace)
            # Their rows stay claimed until the lease ends: never doubled.
            await cancel_and_wait(pending)
        await self.recorder.stop()
        self._loop_task = None

    def wake(self) -> None:
        """Look for due rows now (e.g. right after queueing something due immediately)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        """The claiming loop is alive (read by /healthz)."""
        return self._loop_task is not None and not self._loop_task.done()

    async def drain(self) -> None:
        """Send everything due now and wait until it is recorded (tests, benchmarks)."""
        self.recorder.start()
        while await self._claim_and_dispatch():
            pass
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        await self.recorder.written()

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
        """Claim a batch, render it and start sending it; True when more may be due now."""
        if await self._wait_for_senders():
            return True
        now = self.clock()
        limit = min(self.batch_size, self.max_in_flight - len(self._tasks))
        rows = await self._claim(now, limit)
        if not rows:
            return False
        rendered = await self._render(rows, now)
        rendered_at = time.monotonic()
        for row in rows:
            self._dispatch(row, rendered.get(row.id, Skip("no renderer")), now, rendered_at)
        return len(rows) == limit

    async def _wait_for_senders(self) -> bool:
        """Claim in batches: while most senders are still busy, wait for half a batch of them
        to finish rather than claiming row by row (a transaction per message, under load).
        True when it waited."""
        free = self.max_in_flight - len(self._tasks)
        half_batch = min(self.batch_size, self.max_in_flight) // 2
        if free <= 0 or (self._tasks and free < half_batch):
            await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
            return True
        return False

    # -- the steps: claim, render, send, record

    async def _claim(self, now: datetime, limit: int) -> list[OutboxMessage]:
        self._last_claim = time.monotonic()
        await self._take_over_expired(now)
        async with self.session_maker.begin() as session:
            rows = await claim_due(session, self.worker_id, now, now + self.lease, limit)
        self.stats.claimed += len(rows)
        return rows

    async def _take_over_expired(self, now: datetime) -> None:
        """Every quarter lease: rows of a process that stopped holding them are due again."""
        if time.monotonic() - self._last_release <= self.lease.total_seconds() / 4:
            return
        self._last_release = time.monotonic()
        async with self.session_maker.begin() as session:
            released = await release_expired(session, now)
        if released:
            logger.warning("Outbox: took over %d rows of a process that stopped", released)

    async def _render(self, rows: list[OutboxMessage], now: datetime) -> dict[int, Rendered]:
        try:
            async with self.session_maker() as session:
                context = RenderContext(self.config, now)
                return await render_rows(session, self.renderers, context, rows)
        except Exception:
            logger.exception("Outbox: rendering failed; the rows will be tried again")
            retry_at = now + timedelta(seconds=RETRY_BACKOFF_BASE)
            return {row.id: Reschedule(retry_at, row.anchor_at, "render error") for row in rows}

    def _dispatch(
        self, row: OutboxMessage, rendered: Rendered, now: datetime, rendered_at: float
    ) -> None:
        """Start sending a ready row within its lease; record a skipped or moved one."""
        if isinstance(rendered, Outgoing):
            lease_left = (row.claimed_until - now).total_seconds()
            deadline = rendered_at + lease_left - self.margin
            task = asyncio.create_task(self._send(row, rendered, deadline))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif isinstance(rendered, Reschedule):
            reason, due_at, anchor_at = rendered.reason, rendered.due_at, rendered.anchor_at
            self.recorder.add(Outcome(row.id, OutboxState.PENDING, reason, due_at, anchor_at))
        else:
            self.recorder.add(Outcome(row.id, OutboxState.SKIPPED, rendered.reason))

    async def _send(self, row: OutboxMessage, outgoing: Outgoing, deadline: float) -> None:
        # Few messages may be sent and not yet marked sent at any moment: that is all a hard
        # crash (SIGKILL) could repeat once its lease ends.
        await self.recorder.hold_slot()
        try:
            result = await self._deliver(row, outgoing, deadline)
        except asyncio.CancelledError:
            self.recorder.free_slot()
            raise
        outcome = replace(outcome_of(row, result, self.clock()), holds_slot=True)
        if result.error == HALTED:  # paused or cancelled meanwhile: the renderer will skip it
            outcome = replace(outcome, due_at=self.clock() + HALTED_RETRY)
        self.stats.sent += outcome.state is OutboxState.SENT
        self.recorder.add(outcome)

    async def _deliver(
        self, row: OutboxMessage, outgoing: Outgoing, deadline: float
    ) -> DeliveryResult:
        handing = None if row.broadcast_id is None else self.gate.handing(row.broadcast_id)
        try:
            return await self.delivery.send(
                row.chat_id,
                outgoing,
                deadline=deadline,
                still_wanted=lambda: not self._stopping.is_set(),
                handing=handing,
            )
        except Exception:  # Delivery never raises; this is belt and braces
            logger.exception("Outbox: sending row %s failed", row.id)
            return DeliveryResult(DeliveryStatus.RETRY, error="crash", attempted=True)

    # -- between rounds

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
