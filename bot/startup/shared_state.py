"""State that several bot processes must share: in Redis when `REDIS_URL` is set.

With Redis, FSM state (aiogram's `RedisStorage`), flood control (bot/middlewares/flood.py) and
the ledger
of handled updates (bot/middlewares/dedupe.py) are shared, so any process may take a resident's next
update, and each process tells the others which tables it wrote (`TableChangesRelay`), so
what they keep in memory is forgotten everywhere. Without it, one process keeps them in memory
(`MemoryStorage`), which is all a single process on SQLite needs. Every key starts with
`REDIS_PREFIX`.

Redis going away mid-run degrades the bot rather than stopping it (bot/middlewares/outages.py):
FSM state falls back to this process's memory (`ResilientStorage`); someone this process knew
to be in the middle of a form is told once that it is lost; forms begun meanwhile are written
back to Redis when it answers again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping
from copy import copy
from typing import Any
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.base import StateType
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.memory import MemoryStorageRecord
from aiogram.fsm.storage.redis import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.middlewares.outages import RedisOutage
from bot.middlewares.outages import Unreachable
from bot.settings import Settings
from bot.settings import SettingsError
from catalogue.table_changes import TableChanges
from scheduler.stopping import cancel_and_wait

logger = logging.getLogger(__name__)

# An idle FSM form (someone left in the middle of a question) is forgotten after a month.
FSM_STATE_TTL_SECONDS = 30 * 24 * 3600


def redacted(url: str) -> str:
    """The URL without its password, fit for a log line or an error message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


async def connect_redis(settings: Settings) -> Redis | None:
    """The Redis client of this process, checked to answer; None without `REDIS_URL`."""
    if settings.redis_url is None:
        return None
    client = Redis.from_url(settings.redis_url, socket_connect_timeout=5, health_check_interval=30)
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        await client.aclose()
        raise SettingsError(
            f"Cannot reach REDIS_URL {redacted(settings.redis_url)}: {error}"
        ) from None
    return client


class LeanMemoryStorage(MemoryStorage):
    """aiogram's MemoryStorage, minus a record for everyone who ever wrote.

    aiogram's reads go through a `defaultdict`, so each person's first update leaves an empty
    record behind for good: memory grows with every resident the bot has met (bench/scaling.py
    showed it). Here reads do not create records, and a record with no state and no data
    left is dropped, so only people in the middle of a form take memory.
    """

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await super().set_state(key, state.state if isinstance(state, State) else state)
        self._drop_if_empty(key)

    async def get_state(self, key: StorageKey) -> str | None:
        record = self.storage.get(key)
        return record.state if record is not None else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await super().set_data(key, data)
        self._drop_if_empty(key)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        record = self.storage.get(key)
        return record.data.copy() if record is not None else {}

    async def get_value(
        self, storage_key: StorageKey, dict_key: str, default: Any | None = None
    ) -> Any | None:
        record = self.storage.get(storage_key, MemoryStorageRecord())
        return copy(record.data.get(dict_key, default))

    def _drop_if_empty(self, key: StorageKey) -> None:
        record = self.storage.get(key)
        if record is not None and record.state is None and not record.data:
            del self.storage[key]


# People this process last saw in the middle of a form, remembered to tell them of a loss.
IN_FORM_CAPACITY = 100_000


class ResilientStorage(BaseStorage):
    """FSM state in Redis, and in this process's memory while Redis is away.

    While Redis is away, forms begun or changed are kept in memory and written back to Redis
    when it answers again. Who was in a form in Redis cannot be read meanwhile: a person this
    process last saw in one is told once (`take_lost`, read by `FormsLostNotice`).
    """

    def __init__(self, redis: RedisStorage, outage: RedisOutage) -> None:
        self.redis = redis
        self.outage = outage
        self.memory = LeanMemoryStorage()
        self._in_form: set[StorageKey] = set()
        self._written_meanwhile: set[StorageKey] = set()  # to write back to Redis
        self._lost: set[StorageKey] = set()  # told, or to be told, in this outage
        self._to_tell: set[StorageKey] = set()
        outage.on_return(self._write_back)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        self._seen(key, value)
        try:
            await self.outage.call(lambda: self.redis.set_state(key, value))
        except Unreachable:
            self._written_meanwhile.add(key)
            await self.memory.set_state(key, value)

    async def get_state(self, key: StorageKey) -> str | None:
        if key in self._written_meanwhile and self.outage.down:
            return await self.memory.get_state(key)
        try:
            state = await self.outage.call(lambda: self.redis.get_state(key))
        except Unreachable:
            self._written_meanwhile.add(key)
            if key in self._in_form and key not in self._lost:
                self._lost.add(key)
                self._to_tell.add(key)
            return await self.memory.get_state(key)
        self._seen(key, state)
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        try:
            await self.outage.call(lambda: self.redis.set_data(key, data))
        except Unreachable:
            self._written_meanwhile.add(key)
            await self.memory.set_data(key, data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        if key in self._written_meanwhile and self.outage.down:
            return await self.memory.get_data(key)
        try:
            return await self.outage.call(lambda: self.redis.get_data(key))
        except Unreachable:
            self._written_meanwhile.add(key)
            return await self.memory.get_data(key)

    def take_lost(self, key: StorageKey) -> bool:
        """True once for someone whose form could not be read from Redis in this outage."""
        if key in self._to_tell:
            self._to_tell.discard(key)
            return True
        return False

    def _seen(self, key: StorageKey, state: str | None) -> None:
        if state is None:
            self._in_form.discard(key)
        elif len(self._in_form) < IN_FORM_CAPACITY:
            self._in_form.add(key)

    async def _write_back(self) -> None:
        written, self._written_meanwhile = self._written_meanwhile, set()
        self._lost.clear()
        self._to_tell.clear()
        for key in written:
            await self.redis.set_state(key, await self.memory.get_state(key))
            await self.redis.set_data(key, await self.memory.get_data(key))
            await self.memory.set_state(key, None)
            await self.memory.set_data(key, {})

    async def close(self) -> None:
        await self.redis.close()


def create_storage(
    settings: Settings, redis: Redis | None, outage: RedisOutage | None = None
) -> BaseStorage:
    if redis is None:
        return LeanMemoryStorage()
    storage = RedisStorage(
        redis,
        key_builder=DefaultKeyBuilder(prefix=f"{settings.redis_prefix}:fsm", with_destiny=True),
        state_ttl=FSM_STATE_TTL_SECONDS,
        data_ttl=FSM_STATE_TTL_SECONDS,
    )
    return ResilientStorage(storage, outage or RedisOutage())


class TableChangesRelay:
    """Tells the other processes on this Redis which tables this one wrote, and hears theirs.

    Residents, seats and subscriptions are kept in each process's memory while the tables they
    come from are unchanged (catalogue/table_changes.py); a write committed here reaches the
    others' counts a moment later over Redis pub/sub. Pub/sub keeps nothing for a listener that
    is away, so after losing the connection a process forgets everything it kept.
    """

    def __init__(
        self,
        redis: Redis,
        changes: TableChanges,
        prefix: str,
        outage: RedisOutage | None = None,
    ) -> None:
        self.redis = redis
        self.changes = changes
        self.outage = outage or RedisOutage()
        self.channel = f"{prefix}:table-changes"
        self.sender = uuid.uuid4().hex  # our own news comes back to us: not counted twice
        self._outgoing: set[str] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.channel)
        self.changes.on_change(self._send_later)
        self._tasks = [
            asyncio.create_task(self._send(), name="table-changes-send"),
            asyncio.create_task(self._hear(pubsub), name="table-changes-hear"),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)

    def _send_later(self, tables: frozenset[str]) -> None:
        # Called inside a commit, where nothing may be awaited; several commits in a row
        # go out as one message.
        self._outgoing |= tables
        self._wake.set()

    async def _send(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            tables, self._outgoing = self._outgoing, set()
            news = json.dumps({"from": self.sender, "tables": sorted(tables)})
            try:
                await self.redis.publish(self.channel, news)
            except (RedisError, OSError) as error:
                # The others forget what they keep after its maximum age all the same.
                self.outage.failed(error, "other processes hear of writes a minute late")

    async def _hear(self, pubsub: Any) -> None:
        try:
            while True:
                try:
                    async for message in pubsub.listen():
                        self._take(message)
                except (RedisError, OSError) as error:
                    self.outage.failed(error, "other processes' writes are heard a minute late")
                    self.changes.everything_changed()
                    await asyncio.sleep(1)  # the pub/sub connection subscribes again
        finally:
            await pubsub.aclose()

    def _take(self, message: dict[str, Any]) -> None:
        try:
            news = json.loads(message["data"])
            sender, tables = news["from"], news["tables"]
        except (ValueError, KeyError, TypeError):
            tables = None
        if not isinstance(tables, list) or not all(isinstance(name, str) for name in tables):
            # Anyone may publish on the channel: a bad message must not stop the listening.
            logger.warning("Ignored a malformed message on %s", self.channel)
            return
        if sender != self.sender:
            self.changes.changed(tables, announce=False)
