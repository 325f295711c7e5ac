"""The one way bulk messages leave the bot: a shared outbound limiter and error handling.

Everything sent in bulk (reminders, change notices, digests, organisers' broadcasts) goes
through one `OutboundLimiter` per process and one `Delivery`, so together they never exceed
Telegram's limits, and a failure of one message never stops the others.

What the limiter guarantees, per bot process:

* at most `OUTBOUND_RATE` messages per second in all (setting, default 25; Telegram allows
  about 30), spaced evenly, and never released in a burst when the event loop was busy;
* organisers' paid broadcasts (`ALLOW_PAID_BROADCAST`) in a lane of their own at
  `PAID_BROADCAST_RATE`;
* at most one message per second to the same chat;
* a 429 "Too Many Requests" pauses *all* sending for the `retry_after` Telegram asks for.

What `Delivery.send` does with each error (it never raises):

* 429: waits `retry_after` (every sender waits with it) and tries again;
* 403 (blocked by the user, user deactivated) and 400 "chat not found": the resident is marked
  inactive (`Resident.is_active = False`, so their reminders stop until they write to the bot
  again) and the result is `BLOCKED`;
* other 400s (message too long, bad markup): `FAILED`, no retry: it would fail again;
* network errors, timeouts, 5xx: retried with exponential back-off a few times, then `RETRY`
  so a durable caller (the outbox) can try again later.

Using it directly, e.g. for a one-off send::

    limiter = OutboundLimiter(settings.outbound_rate)
    delivery = Delivery(bot, session_maker, limiter)
    result = await delivery.send(chat_id, Outgoing("<b>Hello</b>", markup))
    if result.status is DeliveryStatus.SENT:
        ...

For bulk sends that must survive a restart, do not loop over `send` yourself: write rows to
the outbox (`catalogue.outbox.messages.enqueue_many`, kind `"text"` for text you rendered
already, or a kind with its own renderer) and the outbox worker sends them through this same
limiter, exactly once, even with several bot processes. The running process's `Delivery` is
available as `Dispatcher["delivery"]` once the bot has started.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.exceptions import TelegramForbiddenError
from aiogram.exceptions import TelegramNetworkError
from aiogram.exceptions import TelegramRetryAfter
from aiogram.exceptions import TelegramServerError
from aiogram.types import BufferedInputFile
from aiogram.types import InlineKeyboardMarkup
from aiogram.types import LinkPreviewOptions
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from catalogue.models import Resident
from catalogue.outbox.messages import UNREACHABLE
from scheduler.broadcast_gate import HALTED
from scheduler.broadcast_gate import Handing

logger = logging.getLogger(__name__)

PER_CHAT_INTERVAL = 1.0  # seconds between two messages to the same chat
NETWORK_RETRIES = 3  # quick retries of a transient error before handing back RETRY
BACKOFF_BASE = 0.5  # seconds; doubled on every retry, with jitter
BACKOFF_CAP = 30.0
RATE_LIMIT_WAITS = 5  # 429s survived for one message before handing back RETRY
SEND_TIMEOUT = 10.0  # seconds for one Bot API request


class DeliveryStatus(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # the resident blocked the bot or is gone: marked inactive
    FAILED = "failed"  # Telegram refused this message for good
    RETRY = "retry"  # a transient problem: try again later


@dataclass(frozen=True)
class Outgoing:
    """A message as it will be sent: HTML text, inline keyboard, optionally a file."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    # Sent as a document with `text` as its caption.
    document: BufferedInputFile | None = None
    # A photo (Telegram file_id) with `text` as its caption: organisers' broadcasts.
    photo: str | None = None
    # Telegram's paid broadcast (`allow_paid_broadcast`, Stars): the limiter's paid lane.
    paid: bool = False


@dataclass(frozen=True)
class DeliveryResult:
    status: DeliveryStatus
    message_id: int | None = None
    error: str | None = None
    # Set when the message was never handed to Telegram (e.g. the caller's deadline passed).
    attempted: bool = True


@dataclass
class DeliveryStats:
    # Every send's result by its status, and the 429s that paused sending on the way.
    results: Counter[DeliveryStatus] = field(default_factory=Counter)
    rate_limited: int = 0


class OutboundLimiter:
    """Global rate, one message a second per chat, and a shared pause after a 429.

    `acquire(chat_id)` returns when a message to that chat may go. Safe to share between any
    number of tasks of one event loop.
    """

    def __init__(
        self,
        rate: float,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        paid_rate: float | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or (paid_rate is not None and paid_rate <= 0):
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        # Paid broadcasts (`ALLOW_PAID_BROADCAST`) have their own, faster lane: Telegram counts
        # them apart (up to 1000 a second). Per-chat spacing and 429 pauses apply to both.
        self.paid_interval = 1.0 / paid_rate if paid_rate else self.interval
        self.per_chat_interval = per_chat_interval
        self.clock = clock
        self.sleep = sleep  # tests pass a virtual clock's sleep
        self.paused_until = 0.0
        self._next_slot = 0.0
        self._next_paid_slot = 0.0
        self._last_go = {False: -1e9, True: -1e9}  # per lane: when a sender last went
        self._chat_free_at: dict[int, float] = {}

    def pause(self, seconds: float) -> None:
        """Stop every sender for `seconds` (Telegram's retry_after)."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    async def acquire(self, chat_id: int, paid: bool = False) -> None:
        while True:
            now = self.clock()
            wait = max(self.paused_until, self._chat_free_at.get(chat_id, 0.0)) - now
            if wait > 0:
                await self.sleep(wait)
                continue
            if paid:
                slot = max(now, self._next_paid_slot)
                self._next_paid_slot = slot + self.paid_interval
            else:
                slot = max(now, self._next_slot)
                self._next_slot = slot + self.interval
            self._chat_free_at[chat_id] = slot + self.per_chat_interval
            if len(self._chat_free_at) > 10_000:
                self._forget_idle_chats(now)
            if slot > now:
                await self.sleep(slot - now)
            if self.paused_until <= self.clock():
                await self._no_burst(paid)
                if self.paused_until <= self.clock():
                    return
            # A 429 arrived while this sender waited for its slot: wait out the pause too.

    async def _no_burst(self, paid: bool) -> None:
        """Senders go one interval apart on the schedule, never in a burst.

        Slots are handed out ahead; on a busy event loop the senders of several slots can wake
        at the same moment (after a pause of the loop) and would reach Telegram in one burst,
        which a strict count per second answers with 429, pausing everything for a second.
        So each goes (a hair under) an interval after the one before was due, and at least
        three quarters of an interval after it went. The hair (at most 0.5 ms, 2 % of the
        interval) makes up for the time a sleeping task takes to wake; any one second still
        holds at most one message more than the rate.
        """
        interval = self.paid_interval if paid else self.interval
        spacing = interval - min(interval * 0.02, 0.0005)
        while (gap := self._last_go[paid] + spacing - self.clock()) > 0:
            await self.sleep(gap)
        # Counted from when this sender was due, not from when the loop woke it: a wake-up a
        # millisecond late on every message would cost that millisecond every time (4 % of
        # the rate at 30/s). Behind by more than a quarter interval (the loop stalled), the
        # count restarts from now, so senders woken together still go apart.
        self._last_go[paid] = max(self._last_go[paid] + spacing, self.clock() - interval / 4)

    def _forget_idle_chats(self, now: float) -> None:
        self._chat_free_at = {
            chat: free_at for chat, free_at in self._chat_free_at.items() if free_at > now
        }


@dataclass
class Delivery:
    """Sends one message through the limiter and turns every Bot API error into a result."""

    bot: Bot
    session_maker: async_sessionmaker[AsyncSession] | None
    limiter: OutboundLimiter
    network_retries: int = NETWORK_RETRIES
    backoff_base: float = BACKOFF_BASE
    send_timeout: float = SEND_TIMEOUT
    stats: DeliveryStats = field(default_factory=DeliveryStats)

    async def send(
        self,
        chat_id: int,
        outgoing: Outgoing,
        *,
        deadline: float | None = None,
        still_wanted: Callable[[], bool] | None = None,
        handing: Handing | None = None,
    ) -> DeliveryResult:
        """Deliver `outgoing` to `chat_id`; `deadline` (limiter clock) bounds retries and waits.

        A message is never handed to Telegram after the deadline (a durable caller's claim on
        it may have expired by then and another process may be sending it), nor once
        `still_wanted()` says no (the process is stopping), nor when `handing.begin()`, asked
        in the instant before, says no (its broadcast was paused or cancelled:
        scheduler/broadcast_gate.py); `handing.end()` follows Telegram's answer.
        """
        result = await self._deliver(chat_id, outgoing, deadline, still_wanted, handing)
        return self._count(result)

    async def _deliver(
        self,
        chat_id: int,
        outgoing: Outgoing,
        deadline: float | None,
        still_wanted: Callable[[], bool] | None,
        handing: Handing | None = None,
    ) -> DeliveryResult:
        transient_failures = rate_limited = 0
        attempted = False
        while True:
            await self.limiter.acquire(chat_id, paid=outgoing.paid)
            if (unwanted := _unwanted(self.limiter.clock(), deadline, still_wanted)) is not None:
                return DeliveryResult(DeliveryStatus.RETRY, error=unwanted, attempted=attempted)
            if handing is not None and not handing.begin():
                return DeliveryResult(DeliveryStatus.RETRY, error=HALTED, attempted=attempted)
            attempted = True
            try:
                try:
                    message_id = await self._call(chat_id, outgoing)
                finally:
                    if handing is not None:
                        handing.end()
            except TelegramRetryAfter as error:
                self._slow_down(error.retry_after)
                rate_limited += 1
                if rate_limited > RATE_LIMIT_WAITS:
                    return DeliveryResult(DeliveryStatus.RETRY, error="429")
                continue
            except (TelegramForbiddenError, TelegramBadRequest) as error:
                return await self._refused(chat_id, error)
            except (TelegramNetworkError, TelegramServerError, TimeoutError) as error:
                reason = f"{type(error).__name__}: {error}"
            except Exception as error:  # an unknown failure must not stop the other sends
                logger.exception("Unexpected error sending to %s", chat_id)
                reason = f"{type(error).__name__}: {error}"
            else:
                return DeliveryResult(DeliveryStatus.SENT, message_id=message_id)
            transient_failures += 1
            if transient_failures > self.network_retries:
                return DeliveryResult(DeliveryStatus.RETRY, error=reason[:300])
            delay = backoff(transient_failures, self.backoff_base)
            if deadline is not None and self.limiter.clock() + delay > deadline:
                return DeliveryResult(DeliveryStatus.RETRY, error=reason[:300])
            await asyncio.sleep(delay)

    def _slow_down(self, retry_after: float) -> None:
        """A 429: every sender of this process waits with this one."""
        self.stats.rate_limited += 1
        self.limiter.pause(retry_after)
        logger.warning("Telegram asked to slow down: pausing %ss", retry_after)

    async def _refused(
        self, chat_id: int, error: TelegramForbiddenError | TelegramBadRequest
    ) -> DeliveryResult:
        """403, or a 400: the resident is gone (marked inactive), or this message is wrong."""
        unreachable = any(marker in error.message.lower() for marker in UNREACHABLE)
        if isinstance(error, TelegramForbiddenError) or unreachable:
            await self._deactivate(chat_id)
            return DeliveryResult(DeliveryStatus.BLOCKED, error=error.message)
        logger.warning("Telegram refused a message to %s: %s", chat_id, error.message)
        return DeliveryResult(DeliveryStatus.FAILED, error=error.message)

    async def _call(self, chat_id: int, outgoing: Outgoing) -> int:
        """Hands the message to Telegram in the form it takes (document, photo or text)."""
        common: dict[str, Any] = {
            "reply_markup": outgoing.markup,
            "allow_paid_broadcast": True if outgoing.paid else None,
            "request_timeout": math.ceil(self.send_timeout),
        }
        caption = outgoing.text or None
        if outgoing.document is not None:
            sent = await self.bot.send_document(
                chat_id, outgoing.document, caption=caption, **common
            )
        elif outgoing.photo is not None:
            sent = await self.bot.send_photo(chat_id, outgoing.photo, caption=caption, **common)
        else:
            no_preview = LinkPreviewOptions(is_disabled=True)
            sent = await self.bot.send_message(
                chat_id, outgoing.text, link_preview_options=no_preview, **common
            )
        return sent.message_id

    async def _deactivate(self, chat_id: int) -> None:
        if self.session_maker is None:
            return
        try:
            async with self.session_maker.begin() as session:
                await mark_chat_inactive(session, chat_id)
        except Exception:  # the database being away must not take sending down with it
            logger.exception("Could not mark chat %s inactive", chat_id)

    def _count(self, result: DeliveryResult) -> DeliveryResult:
        self.stats.results[result.status] += 1
        return result


def _unwanted(
    now: float, deadline: float | None, still_wanted: Callable[[], bool] | None
) -> str | None:
    """Why a message must not be handed to Telegram now, if it must not."""
    if deadline is not None and now > deadline:
        return "deadline"
    if still_wanted is not None and not still_wanted():
        return "stopping"
    return None


def backoff(failures: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait after the `failures`-th failure in a row: doubling, with ±25 % jitter."""
    delay = min(cap, base * 2 ** (failures - 1))
    return delay * random.uniform(0.75, 1.25)  # jitter spreads retries apart


async def mark_chat_inactive(session: AsyncSession, chat_id: int) -> None:
    """The resident behind `chat_id` blocked the bot: stop sending until they return."""
    await session.execute(
        update(Resident).where(Resident.telegram_id == chat_id).values(is_active=False)
    )
