"""Outer middlewares at the door, before any database work: one job each.

Order (bot/startup/dispatcher.py): `InFlightUpdates` → metrics → log context → `DuplicateUpdates` →
`FloodControl` → the database session → the resident → their language.

Why duplicates are dropped here, as the first middleware on `Update`, rather than in the
webhook handler or the polling loop: every way an update enters (webhook, long polling, the
local chat, the tests, the benchmarks) passes `Dispatcher.feed_update`, so one check covers
them all; `update_id` belongs to the whole update, not to a message or a button press, so the
`Update` observer is the level that knows it; and being first, a duplicate costs one Redis
round trip and never opens a database transaction. Flood control comes right after, for the
same reason: a flooding person's updates are dropped before they cost the database anything,
so they do not slow anyone else down.

A dropped update's result is a `Dropped` value, so the metrics middleware and the tests can
tell it from an update that was handled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from aiogram import BaseMiddleware
from aiogram import Bot
from aiogram.types import TelegramObject
from aiogram.types import Update
from aiogram.types import User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.i18n import best_locale
from bot.middlewares.dedupe import UpdateLedger
from bot.middlewares.flood import FloodCounter
from bot.middlewares.flood import Verdict
from catalogue.residents import resident_language

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Dropped(StrEnum):
    """Why an update was not handled."""

    DUPLICATE = "duplicate"
    FLOOD = "flood"
    DATABASE = "database"  # unreachable: answered 503, Telegram delivers it again


class InFlightUpdates(BaseMiddleware):
    """Counts updates being handled, so a stopping process can let them finish."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self.count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """True once no update is being handled; False if `timeout` seconds passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


class DuplicateUpdates(BaseMiddleware):
    """An `update_id` handled before (in any process) is dropped: see bot/middlewares/dedupe.py."""

    def __init__(self, ledger: UpdateLedger) -> None:
        self.ledger = ledger

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Update) and not await self.ledger.first_time(event.update_id):
            logger.info("Update %s delivered again: dropped", event.update_id)
            return Dropped.DUPLICATE
        result = await handler(event, data)
        if result is Dropped.DATABASE and isinstance(event, Update):
            await self.ledger.forget(event.update_id)  # its redelivery must be handled
        return result


class FloodControl(BaseMiddleware):
    """Past `FLOOD_LIMIT` updates a second, one polite "slow down" and the rest dropped.

    A dropped message is dropped in silence once they were told; a dropped button press is
    still answered (once, as each press must be, or its spinner turns until Telegram gives
    up), with the same hint as a passing toast.
    """

    LOCALES_KEPT = 10_000  # people whose language is remembered between two of their floods

    def __init__(
        self,
        counter: FloodCounter,
        i18n: I18n,
        session_maker: async_sessionmaker[AsyncSession],
        default_locale: str,
    ) -> None:
        self.counter = counter
        self.i18n = i18n
        self.session_maker = session_maker
        self.default_locale = default_locale
        self._locales: dict[int, str] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or not isinstance(event, Update):
            return await handler(event, data)
        verdict = await self.counter.hit(user.id)
        if verdict is Verdict.PASS:
            return await handler(event, data)
        if verdict is Verdict.WARN:
            logger.warning(
                "User %s sends more than %s updates a second", user.id, self.counter.limit
            )
        if verdict is Verdict.WARN or event.callback_query is not None:
            await self._ask_to_slow_down(event, user, data.get("bot"), warn=verdict is Verdict.WARN)
        return Dropped.FLOOD

    async def _ask_to_slow_down(
        self, update: Update, user: User, bot: Bot | None, *, warn: bool
    ) -> None:
        if bot is None:
            return
        try:
            locale = await self._locale(user, fresh=warn)
            with self.i18n.context(), self.i18n.use_locale(locale):
                text = _("You are sending messages very fast. Please wait a few seconds.")
            if update.callback_query is not None:
                await bot.answer_callback_query(update.callback_query.id, text, show_alert=warn)
            elif update.message is not None:
                await bot.send_message(update.message.chat.id, text)
        except Exception as error:  # the warning is a courtesy; failing to send it changes nothing
            logger.warning("Could not ask user %s to slow down: %s", user.id, type(error).__name__)

    async def _locale(self, user: User, *, fresh: bool) -> str:
        """Their language: asked of the database once per flood, not once per dropped press."""
        if fresh or user.id not in self._locales:
            if len(self._locales) >= self.LOCALES_KEPT:
                self._locales.clear()
            async with self.session_maker() as session:
                language = await resident_language(session, user.id)
            self._locales[user.id] = language or best_locale(
                user.language_code, self.default_locale
            )
        return self._locales[user.id]
