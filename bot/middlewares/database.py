"""One database transaction per update, committed before the bot first speaks of its writes.

An update that came by webhook takes its connection first: if the database cannot be reached it
is not handled but answered 503 (its `admission` says so), so Telegram delivers it again.

With long polling the connection is taken at the first query, so an update that needs no
database (a cached card, /help) costs no connection. If the database turns out to be
unreachable before the bot has said anything, the update waits for it
(bot/middlewares/outages.py) and is then handled afresh: nothing was committed and nothing sent,
so nothing is lost or doubled. A failure after the bot has spoken goes to the error router.
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
from bot.middlewares.outages import database_unreachable

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass
class _UpdateTransaction:
    session: AsyncSession
    task: asyncio.Task[Any] | None  # the update's own task: not one it started
    # A commit or a Bot API call was attempted: from then on the update is never handled afresh.
    irrevocable: bool = False


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
        if admission is not None:
            return await self._admitted(handler, event, data, admission)
        as_given = dict(data)
        while True:
            await self.outage.wait_until_up()
            # Each attempt starts from the data as given, in the same dict: the error router
            # reads what the attempt that failed put there (the person's language, say).
            data.clear()
            data.update(as_given)
            transaction: _UpdateTransaction | None = None
            try:
                async with self.session_maker() as session:
                    transaction = _UpdateTransaction(session, asyncio.current_task())
                    return await self._handle(handler, event, data, transaction)
            except Exception as error:
                afresh = transaction is not None and not transaction.irrevocable
                if not (afresh and database_unreachable(error)):
                    raise
                self.outage.failed(error)  # polling holds; this update waits for the database

    async def _admitted(
        self,
        handler: Handler,
        event: TelegramObject,
        data: dict[str, Any],
        admission: asyncio.Future[bool],
    ) -> Any:
        async with self.session_maker() as session:  # closing rolls back what is not committed
            if not await self._connected(session):
                admission.set_result(False)
                return Dropped.DATABASE
            admission.set_result(True)
            transaction = _UpdateTransaction(session, asyncio.current_task())
            return await self._handle(handler, event, data, transaction)

    @staticmethod
    async def _handle(
        handler: Handler,
        event: TelegramObject,
        data: dict[str, Any],
        transaction: _UpdateTransaction,
    ) -> Any:
        data["session"] = transaction.session
        token = _UPDATE_TRANSACTION.set(transaction)
        try:
            result = await handler(event, data)
        finally:
            _UPDATE_TRANSACTION.reset(token)
        if transaction.session.in_transaction():  # not if all was committed before the bot spoke
            transaction.irrevocable = True
            await transaction.session.commit()
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
        if transaction is not None and transaction.task is asyncio.current_task():
            transaction.irrevocable = True
            if transaction.session.in_transaction():
                await transaction.session.commit()
        return await send()
