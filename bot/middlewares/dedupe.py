"""The ledger of handled updates: an `update_id` seen before is not handled again.

Telegram delivers an update again when it believes the first delivery failed: a webhook that
answered too slowly, a connection that broke before the answer, a process that died after
handling a batch of `getUpdates` but before asking for the next one. Handling it twice would
subscribe twice, check a volunteer in twice, send a broadcast twice. So the first process to
see an `update_id` claims it, atomically, and everyone else drops it:

* with Redis (`REDIS_URL`): `SET prefix:update:<id> 1 NX EX <ttl>`, one round trip, shared
  by every process, forgotten after the TTL (Telegram redelivers within minutes);
* without: a bounded set of the most recent ids in this process's memory.

The claim is made before the update is handled: an update is handled at most once. (A crash
in the middle of one loses that update rather than risking a double effect; its database
transaction is rolled back either way.)

If Redis cannot be reached, this process's memory stands in (bot/middlewares/outages.py):
a redelivery to the same process is still dropped, and the bot never stops answering.

An update refused because the database is away is `forget`-ten again, so Telegram's
redelivery of it is handled.
"""

from __future__ import annotations

import contextlib
from collections import deque
from typing import Protocol

from redis.asyncio import Redis

from bot.middlewares.outages import RedisOutage
from bot.middlewares.outages import Unreachable

# Telegram redelivers within minutes; a quarter of an hour covers it with room to spare.
LEDGER_TTL_SECONDS = 15 * 60
# In memory: the most recent ids kept (a few MB at most).
LEDGER_CAPACITY = 50_000


class UpdateLedger(Protocol):
    async def first_time(self, update_id: int) -> bool:
        """True exactly once per `update_id` (within the ledger's memory)."""
        ...

    async def forget(self, update_id: int) -> None:
        """The update was not handled after all: its next delivery is."""
        ...


class MemoryUpdateLedger:
    """One process: the last `capacity` update ids, in arrival order."""

    def __init__(self, capacity: int = LEDGER_CAPACITY) -> None:
        self.capacity = capacity
        self._seen: set[int] = set()
        self._order: deque[int] = deque()

    async def first_time(self, update_id: int) -> bool:
        if update_id in self._seen:
            return False
        self._seen.add(update_id)
        self._order.append(update_id)
        if len(self._order) > self.capacity:
            self._seen.discard(self._order.popleft())
        return True

    async def forget(self, update_id: int) -> None:
        self._seen.discard(update_id)  # (its place in the order ages out harmlessly)


class RedisUpdateLedger:
    """Every process of the bot: one key per update id, set only if absent."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        ttl: int = LEDGER_TTL_SECONDS,
        outage: RedisOutage | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:update:"
        self.ttl = ttl
        self.outage = outage or RedisOutage()
        self.fallback = MemoryUpdateLedger()

    async def first_time(self, update_id: int) -> bool:
        key = f"{self.prefix}{update_id}"
        try:
            claimed = await self.outage.call(lambda: self.redis.set(key, 1, nx=True, ex=self.ttl))
        except Unreachable:
            return await self.fallback.first_time(update_id)
        return bool(claimed)

    async def forget(self, update_id: int) -> None:
        await self.fallback.forget(update_id)
        with contextlib.suppress(Unreachable):
            await self.outage.call(lambda: self.redis.delete(f"{self.prefix}{update_id}"))


def create_ledger(
    redis: Redis | None, prefix: str, outage: RedisOutage | None = None
) -> UpdateLedger:
    if redis is None:
        return MemoryUpdateLedger()
    return RedisUpdateLedger(redis, prefix, outage=outage)
