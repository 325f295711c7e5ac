"""Degraded, not dead: what the bot does while Redis or the database is away.

An `Outage` is one dependency's state. The log hears of it once per change ("unreachable",
"back") and, while it lasts, once a minute: never a traceback per update.

* **Redis** (`RedisOutage`): flood control, the update ledger and FSM state fall back to this
  process's memory (bot/middlewares/flood.py, dedupe.py, bot/startup/shared_state.py). After a
  failure Redis is not asked again for `RETRY_SECONDS`, so a dead Redis costs no time per
  update. A person whose form lived only in Redis is told once (`FormsLostNotice`).
* **The database** (`DatabaseOutage`): an update that cannot get a connection is not handled
  (bot/middlewares/database.py). In webhook mode it is answered 503, so Telegram delivers it
  again; with long polling the update waits, and no further updates are fetched, until one
  probe a second finds the database back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from types import TracebackType
from typing import Any
from typing import TypeVar

from aiogram import BaseMiddleware
from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import GetUpdates
from aiogram.methods import Response
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject
from aiogram.utils.i18n import gettext as _
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from scheduler.stopping import cancel_and_wait

logger = logging.getLogger(__name__)

T = TypeVar("T")
Next = NextRequestMiddlewareType[TelegramType]
Method = TelegramMethod[TelegramType]
Reply = Response[TelegramType]
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

REMIND_EVERY = 60.0  # seconds between two "still unreachable" lines
RETRY_SECONDS = 2.0  # Redis is not asked again for this long after a failure
PROBE_EVERY = 1.0  # seconds between two probes of an unreachable database


def cause(error: BaseException) -> str:
    """The failure in one short line, for the log (never for a person or /healthz)."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:200] if text else type(error).__name__


class Outage:
    """One dependency: up or down, each change logged once, a reminder a minute meanwhile."""

    clock = staticmethod(time.monotonic)
    remind_every = REMIND_EVERY

    def __init__(self, name: str) -> None:
        self.name = name
        self.down = False
        self.since = self._told_at = 0.0

    def failed(self, error: BaseException, fallback: str = "") -> None:
        now = self.clock()
        how = f" ({cause(error)}); {fallback}" if fallback else f" ({cause(error)})"
        if not self.down:
            self.down, self.since, self._told_at = True, now, now
            logger.warning("%s is unreachable%s", self.name, how)
            self._went_down()
        elif now - self._told_at >= self.remind_every:
            self._told_at = now
            logger.warning("%s is still unreachable after %d s%s", self.name, now - self.since, how)

    def recovered(self) -> None:
        if self.down:
            self.down = False
            logger.warning("%s is back after %d s", self.name, self.clock() - self.since)
            self._came_back()

    def _went_down(self) -> None:
        """Hook for subclasses."""

    def _came_back(self) -> None:
        """Hook for subclasses."""


class Unreachable(Exception):
    """Redis was not asked (it failed a moment ago) or did not answer."""


class RedisOutage(Outage):
    """Redis for flood control, the update ledger and FSM state, with memory to fall back on."""

    FALLBACK = "flood control, the update ledger and forms use this process's memory"

    retry_seconds = RETRY_SECONDS

    def __init__(self) -> None:
        super().__init__("Redis")
        self._retry_at = 0.0
        self._on_return: list[Callable[[], Awaitable[None]]] = []

    def on_return(self, callback: Callable[[], Awaitable[None]]) -> None:
        """`callback` runs each time Redis answers again after an outage."""
        self._on_return.append(callback)

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """`operation()` on Redis; `Unreachable` while it is away."""
        if self.down and self.clock() < self._retry_at:
            raise Unreachable
        try:
            result = await operation()
        except (RedisError, OSError) as error:
            self._retry_at = self.clock() + self.retry_seconds
            self.failed(error, self.FALLBACK)
            raise Unreachable from error
        if self.down:
            self.recovered()
            for callback in self._on_return:
                try:
                    await callback()
                except (RedisError, OSError) as error:
                    self.failed(error, self.FALLBACK)
        return result


def is_unreachable(error: BaseException) -> bool:
    """An error that says the database cannot be reached, rather than that a query was wrong:
    itself, or what it was raised from or while handling (a transaction left unusable by a
    dropped connection, say)."""
    return any(_says_unreachable(link) for link in _chain(error))


def database_unreachable(error: BaseException) -> bool:
    """The database could not be reached on the way to it (not, say, Telegram's network)."""
    return is_unreachable(error) and from_the_database(error)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, then what it was raised from or while handling, and so on, each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _says_unreachable(error: BaseException) -> bool:
    if isinstance(error, OSError | TimeoutError | ConnectionError):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated or isinstance(error, OperationalError | InterfaceError):
            return True
        origin = error.orig.__cause__ if error.orig is not None else None
        return type(origin).__name__ in {
            "CannotConnectNowError",
            "ConnectionDoesNotExistError",
            "ConnectionFailureError",
            "InvalidCatalogNameError",
            "TooManyConnectionsError",
            "AdminShutdownError",
        } or isinstance(origin, OSError)
    return False


class DatabaseOutage(Outage):
    """The database: while it is away a probe a second looks for it; `wait_until_up` waits."""

    probe_every = PROBE_EVERY

    def __init__(self, session_maker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__("The database")
        self.session_maker = session_maker
        self._up = asyncio.Event()
        self._up.set()
        self._prober: asyncio.Task[None] | None = None

    def _went_down(self) -> None:
        self._up.clear()
        with contextlib.suppress(RuntimeError):  # no event loop: nothing can wait anyway
            if self._prober is None or self._prober.done():
                self._prober = asyncio.get_running_loop().create_task(
                    self._probe(), name="database-probe"
                )

    def _came_back(self) -> None:
        self._up.set()

    async def reachable(self) -> bool:
        """One connection taken from the pool (pinged) and given back."""
        try:
            async with self.session_maker() as session:
                await session.connection()
        except Exception as error:  # whatever it is, the database is not usable
            self.failed(error)
            return False
        self.recovered()
        return True

    async def _probe(self) -> None:
        while self.down:
            await asyncio.sleep(self.probe_every)
            await self.reachable()

    async def wait_until_up(self) -> None:
        await self._up.wait()

    async def stop(self) -> None:
        if self._prober is not None:
            await cancel_and_wait([self._prober])


class FoldOutageTracebacks(logging.Filter):
    """On the workers' loggers (the outbox, broadcasts, the scheduler): a failure because the
    database is unreachable becomes part of the outage's one line per change, not a traceback
    per tick."""

    def __init__(self, outage: DatabaseOutage) -> None:
        super().__init__()
        self.outage = outage

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and database_unreachable(error):
            self.outage.failed(error)
            return False
        return True


DATABASE_LIBRARIES = ("/sqlalchemy/", "/asyncpg/", "/aiosqlite/")


def from_the_database(error: BaseException) -> bool:
    """Raised on the way to the database (not, say, a network error talking to Telegram)."""
    return any(_passed_through_the_database(link.__traceback__) for link in _chain(error))


def _passed_through_the_database(traceback: TracebackType | None) -> bool:
    while traceback is not None:
        if any(part in traceback.tb_frame.f_code.co_filename for part in DATABASE_LIBRARIES):
            return True
        traceback = traceback.tb_next
    return False


class FormsLostNotice(BaseMiddleware):
    """Outer middleware after the person's language: someone whose unfinished form lived only
    in Redis, while Redis is away, is told once that it is lost."""

    def __init__(self, take_lost: Callable[[StorageKey], bool]) -> None:
        self.take_lost = take_lost

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        state: FSMContext | None = data.get("state")
        bot: Bot | None = data.get("bot")
        if state is not None and bot is not None and self.take_lost(state.key):
            text = _(
                "I could not reach my memory for a moment, so the form you were filling in is "
                "lost. Please start it again."
            )
            try:
                await bot.send_message(state.key.chat_id, text)
            except Exception as error:  # the notice is a courtesy
                logger.info("Could not tell %s their form was lost: %s", state.key.chat_id, error)
        return await handler(event, data)


@dataclass
class Outages:
    """The outages one process watches: its database, and Redis when it has one."""

    database: DatabaseOutage
    redis: RedisOutage = field(default_factory=RedisOutage)

    @classmethod
    def of(cls, session_maker: async_sessionmaker[AsyncSession]) -> Outages:
        return cls(DatabaseOutage(session_maker))


class HoldPollingWhileDown(BaseRequestMiddleware):
    """Long polling asks Telegram for no more updates while the database is away: what
    Telegram keeps meanwhile is fetched, and confirmed, once the database is back."""

    def __init__(self, outage: DatabaseOutage) -> None:
        self.outage = outage

    async def __call__(self, make_request: Next, bot: Bot, method: Method) -> Reply:
        if isinstance(method, GetUpdates):
            await self.outage.wait_until_up()
        return await make_request(bot, method)
