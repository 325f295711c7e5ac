"""Runs organisers' broadcasts in the bot process, beside the outbox worker.

Every tick (a second) it starts scheduled broadcasts whose time has come, writes the next page
of delivery rows for each running broadcast when fewer than a page are waiting (the outbox
worker sends them through the shared limiter), and keeps the organiser's progress message
current: edited in place every few seconds (sent / total, failed, blocked, time left), turned
into the final figures at the end, followed by a report message.

`render_broadcast` (the outbox renderer of kind "broadcast") lives here too. How progress and
report look is handed in (`ProgressDrawings`, bot/screens/broadcast.py through
bot/startup/outbox_drawings.py); the runner only decides when and to whom.

Everything it knows is in the database (`catalogue.outbox.broadcasts`), so a restarted process picks
up where the previous one stopped; the only state kept in memory is how fast sending went
since the last progress update, for the estimate of the time left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.exceptions import TelegramForbiddenError
from aiogram.exceptions import TelegramRetryAfter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.outbox.broadcasts import CANCELLED
from catalogue.outbox.broadcasts import PAUSED
from catalogue.outbox.broadcasts import Broadcast
from catalogue.outbox.broadcasts import BroadcastState
from catalogue.outbox.broadcasts import Progress
from catalogue.outbox.broadcasts import eta
from catalogue.outbox.broadcasts import finish_if_done
from catalogue.outbox.broadcasts import needing_attention
from catalogue.outbox.broadcasts import plan_page
from catalogue.outbox.broadcasts import progress
from catalogue.outbox.broadcasts import requeue_held
from catalogue.outbox.broadcasts import start_due
from catalogue.outbox.broadcasts import waiting_rows
from catalogue.outbox.messages import OutboxMessage
from scheduler.broadcast_gate import BroadcastGate
from scheduler.config import SchedulerConfig
from scheduler.delivery import OutboundLimiter
from scheduler.delivery import Outgoing
from scheduler.rendering import RenderContext
from scheduler.rendering import Rendered
from scheduler.rendering import Skip

logger = logging.getLogger(__name__)

TICK_SECONDS = 1.0
PROGRESS_SECONDS = 3.0
MIN_PAGE = 500
PAGES_PER_TICK = 4


class ProgressDrawings(Protocol):
    """How the organiser's progress message and final report look, in their `language`
    (None: the bot's default)."""

    def progress(
        self, broadcast: Broadcast, figures: Progress, remaining: timedelta, language: str | None
    ) -> Outgoing: ...

    def report(self, broadcast: Broadcast, figures: Progress, language: str | None) -> str: ...


class BroadcastRunner:
    def __init__(
        self,
        session_maker: async_sessionmaker[AsyncSession],
        bot: Bot,
        config: SchedulerConfig,
        drawings: ProgressDrawings,
        limiter: OutboundLimiter | None = None,
        wake: Callable[[], None] | None = None,
        *,
        tick_seconds: float = TICK_SECONDS,
        progress_seconds: float = PROGRESS_SECONDS,
        clock: Callable[[], datetime] = utc_now,
        gate: BroadcastGate | None = None,
    ) -> None:
        self.session_maker = session_maker
        self.bot = bot
        # Shared with the worker and the organiser's buttons (scheduler/broadcast_gate.py).
        self.gate = gate or BroadcastGate()
        self.drawings = drawings
        self.limiter = limiter
        self.wake = wake or (lambda: None)
        self.tick_seconds = tick_seconds
        self.progress_seconds = progress_seconds
        self.clock = clock
        self.rate = max(config.outbound_rate, config.paid_rate or 0)
        # About half a minute of sending waits in the outbox at any time.
        self.page = max(MIN_PAGE, int(self.rate * 30))
        self._shown: dict[int, tuple[float, int]] = {}  # id → (monotonic time, sent) shown last
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="broadcast-runner")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:
                logger.exception("Broadcasts: a tick failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.tick_seconds)

    async def run_once(self) -> int:
        """One tick; returns how many broadcasts still need looking after."""
        now = self.clock()
        async with self.session_maker.begin() as session:
            started = await start_due(session, now)
        for broadcast_id in started:
            logger.info("Broadcast %s: its time has come, sending", broadcast_id)
        read_started = time.monotonic()
        async with self.session_maker() as session:
            broadcasts = await needing_attention(session)
        sending = [item.id for item in broadcasts if item.state is BroadcastState.SENDING]
        self.gate.reconcile(sending, read_started)
        active = 0
        for broadcast in broadcasts:
            if broadcast.state is BroadcastState.SENDING:
                await self.feed(broadcast.id)
            active += not await self.show_progress(broadcast.id)
        return active

    async def feed(self, broadcast_id: int) -> int:
        """Keep about a page of rows waiting; returns how many were written."""
        async with self.session_maker.begin() as session:
            # A message a sender put back while the broadcast was being resumed.
            if await requeue_held(session, broadcast_id, self.clock()):
                self.wake()
        written = 0
        for _ in range(PAGES_PER_TICK):
            async with self.session_maker.begin() as session:
                if await waiting_rows(session, broadcast_id) >= self.page // 2:
                    break
                added = await plan_page(session, broadcast_id, self.page, self.clock())
            if not added:
                break
            written += added
            self.wake()
        return written

    async def show_progress(self, broadcast_id: int, force: bool = False) -> bool:
        """Edit the progress message (at most every few seconds); True once reported at the end.

        Under the broadcast's lock: an organiser's press redraws the same message, and the
        newer state must be the one left showing. A cancelled broadcast is reported once every
        message a sender had in hand is settled, so the report counts what Telegram got.
        """
        async with self.gate.lock(broadcast_id):
            now = self.clock()
            async with self.session_maker.begin() as session:
                broadcast = await session.get(Broadcast, broadcast_id)
                if broadcast is None:
                    return True
                await finish_if_done(session, broadcast, now)
                figures = await progress(session, broadcast)
                final = broadcast.state is BroadcastState.DONE or (
                    broadcast.state is BroadcastState.CANCELLED
                    and not await waiting_rows(session, broadcast_id)
                )
                if not (force or final or self._progress_due(broadcast_id)):
                    return False
                language = await self._language(session, broadcast.created_by)
                if final:
                    broadcast.reported_at = now
                    session.add(broadcast)
            await self._edit(broadcast, self._progress_view(broadcast, figures, language))
        if final:
            await self._report(broadcast, figures, language)
        return final

    def _progress_due(self, broadcast_id: int) -> bool:
        last = self._shown.get(broadcast_id)
        return last is None or time.monotonic() - last[0] >= self.progress_seconds

    def _progress_view(
        self, broadcast: Broadcast, figures: Progress, language: str | None
    ) -> Outgoing:
        remaining = self._eta(broadcast.id, figures)
        return self.drawings.progress(broadcast, figures, remaining, language)

    async def _report(self, broadcast: Broadcast, figures: Progress, language: str | None) -> None:
        self._shown.pop(broadcast.id, None)
        report = self.drawings.report(broadcast, figures, language)
        await self._send(broadcast.progress_chat_id or broadcast.created_by, report)
        logger.info(
            "Broadcast %s %s: %d sent, %d blocked, %d failed",
            broadcast.id,
            broadcast.state,
            figures.sent,
            figures.blocked,
            figures.failed,
        )

    def _eta(self, broadcast_id: int, figures: Progress) -> timedelta:
        now = time.monotonic()
        last = self._shown.get(broadcast_id)
        rate = self.rate
        if last is not None and now > last[0] and figures.sent > last[1]:
            rate = (figures.sent - last[1]) / (now - last[0])
        self._shown[broadcast_id] = (now, figures.sent)
        return eta(figures, rate)

    async def _language(self, session: AsyncSession, telegram_id: int) -> str | None:
        return await session.scalar(
            select(Resident.language).where(Resident.telegram_id == telegram_id)
        )

    async def _edit(self, broadcast: Broadcast, view: Outgoing) -> None:
        chat_id = broadcast.progress_chat_id or broadcast.created_by
        if broadcast.progress_message_id is None:
            await self._send_progress(broadcast, view)
            return
        if self.limiter is not None:
            await self.limiter.acquire(chat_id)
        try:
            await self.bot.edit_message_text(
                text=view.text,
                chat_id=chat_id,
                message_id=broadcast.progress_message_id,
                reply_markup=view.markup,
            )
        except TelegramBadRequest as error:
            if "not modified" in error.message:
                return
            # Deleted by the organiser, or too old to edit: a new progress message.
            await self._send_progress(broadcast, view)
        except TelegramForbiddenError:
            logger.info("Broadcast %s: the organiser's chat is closed", broadcast.id)
        except TelegramRetryAfter as error:
            if self.limiter is not None:
                self.limiter.pause(error.retry_after)

    async def _send_progress(self, broadcast: Broadcast, view: Outgoing) -> None:
        chat_id = broadcast.progress_chat_id or broadcast.created_by
        message_id = await self._send(chat_id, view.text, view)
        if message_id is not None:
            async with self.session_maker.begin() as session:
                stored = await session.get(Broadcast, broadcast.id)
                if stored is not None:
                    stored.progress_message_id = message_id
                    session.add(stored)

    async def _send(self, chat_id: int, text: str, view: Outgoing | None = None) -> int | None:
        if self.limiter is not None:
            await self.limiter.acquire(chat_id)
        try:
            sent = await self.bot.send_message(
                chat_id, text, reply_markup=view.markup if view else None
            )
        except (TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter) as error:
            if isinstance(error, TelegramRetryAfter) and self.limiter is not None:
                self.limiter.pause(error.retry_after)
            logger.info("Broadcasts: could not write to %s: %s", chat_id, error.message)
            return None
        return sent.message_id


async def render_broadcast(
    session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
) -> dict[int, Rendered]:
    """Every recipient sees exactly what the organiser previewed; held or cancelled rows wait."""
    ids = {row.broadcast_id for row in rows}
    found = {
        broadcast.id: broadcast
        for broadcast in await session.scalars(select(Broadcast).where(Broadcast.id.in_(ids)))
    }
    rendered: dict[int, Rendered] = {}
    for row in rows:
        broadcast = found.get(row.broadcast_id)
        if broadcast is None:
            rendered[row.id] = Skip(CANCELLED)
        elif broadcast.state is BroadcastState.PAUSED:
            rendered[row.id] = Skip(PAUSED)
        elif broadcast.state is not BroadcastState.SENDING:
            rendered[row.id] = Skip(CANCELLED)
        else:
            rendered[row.id] = Outgoing(
                broadcast.text,
                photo=broadcast.photo_file_id,
                paid=broadcast.paid and context.config.allow_paid_broadcast,
            )
    return rendered
