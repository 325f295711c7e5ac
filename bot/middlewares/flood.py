"""Flood control: how many updates a second one person may send before we stop listening.

`hit(user_id)` counts an update and says what to do with it: `PASS` while the person stays
within `FLOOD_LIMIT` updates in the current second; past it, `WARN` once (they get one polite
"slow down") and `DROP` for the rest, until `WARN_COOLDOWN` seconds have passed. The counts
are per whole second of the clock (a fixed window): at most twice the limit can pass in a
second that straddles two windows, which is fine for keeping a script from flooding us.

With Redis the counts are shared by every bot process (one `INCR` per update, with the key
expiring after two seconds); without it, they are kept in this process's memory. If Redis
cannot be reached, this process's memory counts instead (bot/middlewares/outages.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol

from redis.asyncio import Redis

from bot.middlewares.outages import RedisOutage
from bot.middlewares.outages import Unreachable

WARN_COOLDOWN = 30.0  # seconds between two "slow down" messages to the same person
PRUNE_AT = 10_000  # people counted in memory before old windows are forgotten


class Verdict(StrEnum):
    PASS = "pass"
    WARN = "warn"  # over the limit: tell them once
    DROP = "drop"  # over the limit, already told


class FloodCounter(Protocol):
    limit: int

    async def hit(self, user_id: int) -> Verdict: ...


class MemoryFloodCounter:
    def __init__(
        self,
        limit: int,
        cooldown: float = WARN_COOLDOWN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.cooldown = cooldown
        self.clock = clock
        self._windows: dict[int, tuple[int, int]] = {}  # user → (second, updates in it)
        self._warned_until: dict[int, float] = {}

    async def hit(self, user_id: int) -> Verdict:
        now = self.clock()
        second = int(now)
        start, count = self._windows.get(user_id, (second, 0))
        count = count + 1 if start == second else 1
        self._windows[user_id] = (second, count)
        if len(self._windows) > PRUNE_AT:
            self._prune(second, now)
        if count <= self.limit:
            return Verdict.PASS
        if self._warned_until.get(user_id, 0.0) <= now:
            self._warned_until[user_id] = now + self.cooldown
            return Verdict.WARN
        return Verdict.DROP

    def _prune(self, second: int, now: float) -> None:
        self._windows = {user: w for user, w in self._windows.items() if w[0] == second}
        self._warned_until = {user: t for user, t in self._warned_until.items() if t > now}


class RedisFloodCounter:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        limit: int,
        cooldown: float = WARN_COOLDOWN,
        clock: Callable[[], float] = time.time,
        outage: RedisOutage | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:flood:"
        self.limit = limit
        self.cooldown = cooldown
        self.clock = clock
        self.outage = outage or RedisOutage()
        self.fallback = MemoryFloodCounter(limit, cooldown)

    async def hit(self, user_id: int) -> Verdict:
        try:
            return await self.outage.call(lambda: self._hit(user_id))
        except Unreachable:
            return await self.fallback.hit(user_id)

    async def _hit(self, user_id: int) -> Verdict:
        key = f"{self.prefix}{user_id}:{int(self.clock())}"
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, 2)
            count, _ = await pipe.execute()
        if count <= self.limit:
            return Verdict.PASS
        told = await self.redis.set(
            f"{self.prefix}{user_id}:warned", 1, nx=True, px=int(self.cooldown * 1000)
        )
        return Verdict.WARN if told else Verdict.DROP


def create_flood_counter(
    redis: Redis | None, prefix: str, limit: int, outage: RedisOutage | None = None
) -> FloodCounter | None:
    """None when `FLOOD_LIMIT` is 0 (off)."""
    if limit <= 0:
        return None
    if redis is None:
        return MemoryFloodCounter(limit)
    return RedisFloodCounter(redis, prefix, limit, outage=outage)
