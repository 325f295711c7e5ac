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

If Redis cannot be reached, updates are handled rather than dropped: a rare duplicate is
better than a bot that stops answering.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Telegram redelivers within minutes; a quarter of an hour covers it with room to spare.
LEDGER_TTL_SECONDS = 15 * 60
# In memory: the most recent ids kept (a few MB at most).
LEDGER_CAPACITY = 50_000


class UpdateLedger(Protocol):
    async def first_time(self, update_id: int) -> bool:
        """True exactly once per `update_id` (within the ledger's memory)."""
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


class RedisUpdateLedger:
    """Every process of the bot: one key per update id, set only if absent."""

    def __init__(self, redis: Redis, prefix: str, ttl: int = LEDGER_TTL_SECONDS) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:update:"
        self.ttl = ttl

    async def first_time(self, update_id: int) -> bool:
        try:
            claimed = await self.redis.set(f"{self.prefix}{update_id}", 1, nx=True, ex=self.ttl)
        except (RedisError, OSError) as error:
            logger.warning("Redis unavailable, update %s handled unchecked: %s", update_id, error)
            return True
        return bool(claimed)


def create_ledger(redis: Redis | None, prefix: str) -> UpdateLedger:
    return MemoryUpdateLedger() if redis is None else RedisUpdateLedger(redis, prefix)
