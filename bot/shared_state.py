"""State that several bot processes must share: in Redis when `REDIS_URL` is set.

With Redis, FSM state (aiogram's `RedisStorage`), flood control (bot/flood.py) and the ledger
of handled updates (bot/dedupe.py) are shared, so any process may take a resident's next
update. Without it, one process keeps them in memory (`MemoryStorage`), which is all a single
process on SQLite needs. Every key starts with `REDIS_PREFIX`.
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import copy
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage, MemoryStorageRecord
from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.settings import Settings, SettingsError

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


def create_storage(settings: Settings, redis: Redis | None) -> BaseStorage:
    if redis is None:
        return LeanMemoryStorage()
    return RedisStorage(
        redis,
        key_builder=DefaultKeyBuilder(prefix=f"{settings.redis_prefix}:fsm", with_destiny=True),
        state_ttl=FSM_STATE_TTL_SECONDS,
        data_ttl=FSM_STATE_TTL_SECONDS,
    )
