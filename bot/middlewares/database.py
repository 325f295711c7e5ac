"""One database transaction per update, committed before the bot first speaks of its writes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.middlewares.bot_api_calls import AroundBotApiCalls
from bot.middlewares.bot_api_calls import SendRequest

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


class CommitBeforeSending(AroundBotApiCalls):
    """Commits the update's transaction before its first Bot API call, so the bot never tells
    a resident "you are going" about a seat that a failed commit then undid, their next press
    already finds it, and SQLite's one write lock is not held while Telegram answers. What the
    handler does after speaking is committed when it returns."""

    async def around(
        self, method: TelegramMethod[TelegramType], send: SendRequest[TelegramType]
    ) -> Response[TelegramType]:
        transaction = _UPDATE_TRANSACTION.get()
        if (
            transaction is not None
            and transaction.task is asyncio.current_task()
            and transaction.session.in_transaction()
        ):
            await transaction.session.commit()
        return await send()
