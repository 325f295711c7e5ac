"""Pause and Cancel that hold the moment the organiser is answered.

The outbox worker claims a couple of seconds of messages at a time and waits for the limiter
before handing each to Telegram, so a broadcast's state in the database, read when its rows
were claimed, is seconds old by the time a message goes. The gate is what the sender asks in
the instant before it hands a broadcast's message to Telegram, and what an organiser's press
closes before it is answered:

* `control(broadcast_id, closing=True)` (Pause, Cancel): from now on no message of the
  broadcast is handed to Telegram by this process; the press waits until the messages already
  handed over have Telegram's answer and their outcome is written (they count as delivered),
  then changes the broadcast in the database and redraws the progress message, and only then
  is answered;
* `control(broadcast_id, closing=False)` (Resume) holds the lock while the press changes the
  broadcast, and `open(broadcast_id)` lets its messages go again once it is sending;
* `lock(broadcast_id)`: the runner redraws a progress message under the same lock, so its
  edit never lands after, and over, the organiser's press.

A refused message goes back to the queue (scheduler/outbox.py) and the renderer then skips it
as paused or cancelled. The gate lives in one bot process (handed to the handlers as
`broadcast_gate` and to that process's worker and runner); with several processes on one
database, a press holds exactly in the process that handles it, and the others learn from the
database when they next claim rows. A gate closed here and found sending again by the runner,
in a read that began after the press was handled, was resumed by another process: it opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

HALTED = "halted"  # the reason a sender did not hand a message over
SETTLE_SECONDS = 12.0  # at most this long a press waits for messages in flight


class BroadcastGate:
    def __init__(
        self, settle_seconds: float = SETTLE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settle_seconds = settle_seconds
        self.clock = clock
        # Closed broadcasts → when the closing press was handled (None: it is being handled).
        self._closed: dict[int, float | None] = {}
        self._in_flight: Counter[int] = Counter()
        self._idle: dict[int, asyncio.Event] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        # Waits until every outcome the worker has is written (the worker sets it).
        self.recorded: Callable[[], Awaitable[None]] | None = None

    # -- the sender's side

    def handing(self, broadcast_id: int) -> Handing:
        return Handing(self, broadcast_id)

    def _enter(self, broadcast_id: int) -> bool:
        if broadcast_id in self._closed:
            return False
        self._in_flight[broadcast_id] += 1
        return True

    def _leave(self, broadcast_id: int) -> None:
        self._in_flight[broadcast_id] -= 1
        if self._in_flight[broadcast_id] <= 0:
            del self._in_flight[broadcast_id]
            idle = self._idle.pop(broadcast_id, None)
            if idle is not None:
                idle.set()

    def is_open(self, broadcast_id: int) -> bool:
        return broadcast_id not in self._closed

    # -- the organiser's side

    def lock(self, broadcast_id: int) -> asyncio.Lock:
        return self._locks.setdefault(broadcast_id, asyncio.Lock())

    @contextlib.asynccontextmanager
    async def control(self, broadcast_id: int, *, closing: bool) -> AsyncIterator[None]:
        """Hold the broadcast while a press changes it; `closing`: nothing more goes out."""
        async with self.lock(broadcast_id):
            if closing:
                self._closed[broadcast_id] = None
                await self._settle(broadcast_id)
            try:
                yield
            finally:
                if closing and broadcast_id in self._closed:
                    self._closed[broadcast_id] = self.clock()

    def open(self, broadcast_id: int) -> None:
        """The broadcast was resumed: its messages may go again."""
        self._closed.pop(broadcast_id, None)

    async def _settle(self, broadcast_id: int) -> None:
        """Wait for the messages in flight to be answered and their outcomes written."""
        deadline = self.clock() + self.settle_seconds
        if self._in_flight.get(broadcast_id):
            idle = self._idle.setdefault(broadcast_id, asyncio.Event())
            try:
                await asyncio.wait_for(idle.wait(), self.settle_seconds)
            except TimeoutError:
                logger.warning("Broadcast %s: messages still in flight", broadcast_id)
        if self.recorded is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.recorded(), max(0.1, deadline - self.clock()))

    def reconcile(self, sending: Iterable[int], read_started: float) -> None:
        """The runner found these broadcasts sending in a read that began at `read_started`."""
        for broadcast_id in sending:
            handled_at = self._closed.get(broadcast_id, 0.0)
            if handled_at is not None and handled_at < read_started:
                self._closed.pop(broadcast_id, None)


@dataclass
class Handing:
    """One message's passage to Telegram: asked right before each attempt, ended after it."""

    gate: BroadcastGate
    broadcast_id: int
    inside: bool = False

    def begin(self) -> bool:
        """True: the message may go now (and is in flight until `end`)."""
        if self.inside:
            return True
        self.inside = self.gate._enter(self.broadcast_id)
        return self.inside

    def end(self) -> None:
        if self.inside:
            self.inside = False
            self.gate._leave(self.broadcast_id)
