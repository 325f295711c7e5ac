"""Outer middlewares, one job each: a DB session per update, the resident, their language;
and the one Bot API middleware that commits an update's writes before the bot says anything."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18nMiddleware
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import best_locale
from bot.screens import Viewer
from bot.settings import Settings
from catalogue.residents import KnownResidents, resident_and_team_role
from catalogue.team import role_from

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class _UpdateTransaction:
    session: AsyncSession
    task: asyncio.Task[Any] | None  # the update's own task: not one it started


_UPDATE_TRANSACTION: ContextVar[_UpdateTransaction | None] = ContextVar(
    "learncity_update_transaction", default=None
)


class DatabaseSessionMiddleware(BaseMiddleware):
    """One transaction per update: committed when the handler returns, rolled back if it
    raises, and committed early, by `CommitBeforeSending`, when the handler first speaks."""

    def __init__(self, session_maker: async_sessionmaker[AsyncSession]) -> None:
        self.session_maker = session_maker

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.session_maker() as session:  # closing rolls back what is not committed
            data["session"] = session
            open_transaction = _UpdateTransaction(session, asyncio.current_task())
            token = _UPDATE_TRANSACTION.set(open_transaction)
            try:
                result = await handler(event, data)
            finally:
                _UPDATE_TRANSACTION.reset(token)
            if session.in_transaction():  # not if all was committed before the bot spoke
                await session.commit()
            return result


class CommitBeforeSending(BaseRequestMiddleware):
    """Commits the update's transaction before its first Bot API call, so the bot never tells
    a resident "you are going" about a seat that a failed commit then undid, their next press
    already finds it, and SQLite's one write lock is not held while Telegram answers. What the
    handler does after speaking is committed when it returns."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        transaction = _UPDATE_TRANSACTION.get()
        if (
            transaction is not None
            and transaction.task is asyncio.current_task()
            and transaction.session.in_transaction()
        ):
            await transaction.session.commit()
        return await make_request(bot, method)


class ResidentMiddleware(BaseMiddleware):
    """Finds (or registers) the resident behind the update and how to show things to them."""

    def __init__(self, settings: Settings, known_residents: KnownResidents) -> None:
        self.settings = settings
        self.known_residents = known_residents

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is not None and not user.is_bot:
            language = best_locale(user.language_code, self.settings.default_locale)
            resident, member_role = await resident_and_team_role(
                data["session"], user.id, language, self.known_residents
            )
            data["resident"] = resident
            # Read by bot/permissions.py: the team's handlers need no query of their own.
            data["role"] = role_from(user.id, member_role, self.settings.admin_ids)
            data["viewer"] = Viewer.of(resident, self.settings.city_zone)
        return await handler(event, data)


class ResidentI18nMiddleware(I18nMiddleware):
    """Speaks the resident's chosen language; before they choose, Telegram's interface language."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        resident = data.get("resident")
        return resident.language if resident is not None else self.i18n.default_locale
