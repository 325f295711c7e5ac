"""Stopping background tasks without hanging the shutdown.

A cancelled task is expected to end at its next await. Some libraries catch the cancellation
on the way (redis-py's connection and pub/sub teardown, for one, finish their own work first
and may swallow it): the task then goes on and waits, say, for the next message to publish,
and a shutdown that awaits it waits for ever. So a task still running after `patience` is
cancelled again, a few times, and one that still will not end is given up on and named.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)

PATIENCE = 1.0  # seconds a cancelled task is given to end before it is cancelled again
ATTEMPTS = 3


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], patience: float = PATIENCE, attempts: int = ATTEMPTS
) -> set[asyncio.Task[Any]]:
    """Cancel `tasks` and wait for them to end; the ones that never did (logged)."""
    pending = {task for task in tasks if not task.done()}
    for _ in range(attempts):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=patience)
    for task in pending:
        logger.warning("Task %s did not stop when cancelled; left behind", task.get_name())
    return pending
