"""Retrying the bot's replies when Telegram stumbles: a session-level request middleware.

Installed on the session of the bot that answers updates (bot/startup/app.py), so every handler's
`message.answer`, `edit_text`, `answer_callback_query` gets it without knowing:

* 5xx answers, timeouts and broken connections: tried again after 0.5 s, 1 s, 2 s (doubling,
  with jitter: `scheduler.delivery.backoff`), `TRANSIENT_ATTEMPTS` tries in all;
* 429 "Too Many Requests": waits the `retry_after` Telegram asks for and tries again, up to
  `RATE_LIMIT_WAITS` times, unless Telegram asks for longer than `MAX_RETRY_AFTER` seconds (a
  reply that late is worse than none: the error goes up and the resident gets the apology);
* anything else (400 bad request, 403 blocked) is not retried: it would fail again.

A broken connection may hide a request Telegram did receive, so a retried `sendMessage` can,
rarely, arrive twice; losing the reply would be worse. `getUpdates` is left to aiogram's own
polling back-off.

Bulk sending (reminders, digests, broadcasts) does *not* go through this: the outbox has a bot
of its own whose `scheduler.delivery.Delivery` paces every send, pauses all of them together on
a 429 and hands failures back to the outbox to retry later. Retrying underneath it would hide
the 429s its shared limiter must see, and stretch its sends past their lease.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiogram.exceptions import TelegramNetworkError
from aiogram.exceptions import TelegramRetryAfter
from aiogram.exceptions import TelegramServerError
from aiogram.methods import Response
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

from bot.middlewares.bot_api_calls import AroundBotApiCalls
from bot.middlewares.bot_api_calls import SendRequest
from scheduler.delivery import backoff

logger = logging.getLogger(__name__)

TRANSIENT_ATTEMPTS = 4
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
RATE_LIMIT_WAITS = 3
MAX_RETRY_AFTER = 30


class RetryRequests(AroundBotApiCalls):
    def __init__(
        self,
        attempts: int = TRANSIENT_ATTEMPTS,
        backoff_base: float = BACKOFF_BASE,
        rate_limit_waits: int = RATE_LIMIT_WAITS,
        max_retry_after: int = MAX_RETRY_AFTER,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.attempts = attempts
        self.backoff_base = backoff_base
        self.rate_limit_waits = rate_limit_waits
        self.max_retry_after = max_retry_after
        self.on_retry = on_retry

    async def around(
        self, method: TelegramMethod[TelegramType], send: SendRequest[TelegramType]
    ) -> Response[TelegramType]:
        failures = waits = 0
        while True:
            try:
                return await send()
            except TelegramRetryAfter as error:
                waits += 1
                if waits > self.rate_limit_waits or error.retry_after > self.max_retry_after:
                    raise
                delay, reason = float(error.retry_after), "429"
            except (TelegramServerError, TelegramNetworkError, TimeoutError) as error:
                failures += 1
                if failures >= self.attempts:
                    raise
                delay = backoff(failures, self.backoff_base, BACKOFF_CAP)
                reason = "5xx" if isinstance(error, TelegramServerError) else "network"
            logger.warning(
                "Bot API %s failed (%s); trying again in %.1fs",
                method.__api_method__,
                reason,
                delay,
            )
            if self.on_retry is not None:
                self.on_retry(reason)
            await asyncio.sleep(delay)
