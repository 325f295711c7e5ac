"""One database transaction per update, committed before the bot first speaks of its writes.

The update's connection is taken first. If the database cannot be reached the update is not
handled (bot/middlewares/outages.py): an update that came by webhook is answered 503 (its
`admission` says so), so Telegram delivers it again; any other waits for the database and is
then handled.
"""

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
from bot.middlewares.guards import Dropped
from bot.middlewares.outages import DatabaseOutage

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

    def __init__(
        self,
        session_maker: async_sessionmaker[AsyncSession],
        outage: DatabaseOutage | None = None,
    ) -> None:
        self.session_maker = session_maker
        self.outage = outage or DatabaseOutage(session_maker)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        # Set by the webhook: resolved True once the update has its connection, False if not.
        admission: asyncio.Future[bool] | None = data.pop("admission", None)
        async with self.session_maker() as session:  # closing rolls back what is not committed
            while not await self._connected(session):
                if admission is not None:
                    admission.set_result(False)
                    return Dropped.DATABASE
                await self.outage.wait_until_up()
            if admission is not None:
                admission.set_result(True)
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

    async def _connected(self, session: AsyncSession) -> bool:
        if self.outage.down:
            return False
        try:
            await session.connection()
        except Exception as error:  # whatever it is, the update cannot be handled now
            self.outage.failed(error)
            await session.close()
            return False
        return True


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
