"""Shutdown never hangs on a task whose cancellation a library swallowed (scheduler/stopping.py).

Seen for real: `bench/scaling.py`'s worker hung at `app.close()` because the table-changes
relay's sender, cancelled while redis-py published, went back to waiting for the next change.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from scheduler.stopping import cancel_and_wait


async def swallows_one_cancellation(started: asyncio.Event, swallowed: list[str]) -> None:
    """What such a library call leaves behind: the first cancellation caught, then a wait
    for something that will not come."""
    started.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        swallowed.append("once")
    await asyncio.Event().wait()


async def test_a_task_that_swallowed_its_cancellation_is_cancelled_again() -> None:
    started, swallowed = asyncio.Event(), []
    task = asyncio.create_task(swallows_one_cancellation(started, swallowed))
    await started.wait()
    left = await asyncio.wait_for(cancel_and_wait([task], patience=0.05), timeout=5)
    assert left == set()
    assert swallowed == ["once"]
    assert task.cancelled()


async def test_a_task_that_will_not_end_is_named_and_left_behind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    let_go = asyncio.Event()

    async def stubborn() -> None:
        while not let_go.is_set():
            try:
                await let_go.wait()
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn(), name="stubborn-task")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING):
        left = await asyncio.wait_for(cancel_and_wait([task], patience=0.02), timeout=5)
    assert left == {task}
    assert "stubborn-task did not stop when cancelled" in caplog.text
    let_go.set()
    await task


async def test_tasks_that_end_when_cancelled_end_at_once() -> None:
    tasks = [asyncio.create_task(asyncio.sleep(3600)) for _ in range(3)]
    await asyncio.sleep(0)
    assert await asyncio.wait_for(cancel_and_wait(tasks), timeout=1) == set()
    assert all(task.cancelled() for task in tasks)
