"""The planning half of bench/broadcast.py, run as a process of its own.

    python bench/broadcast_planner.py DATABASE_URL BROADCAST_ID

Writes every delivery row of the broadcast page by page, exactly as the bot's broadcast runner
does, and prints one JSON line: the time it took and this process's resident memory (start and
peak, sampled every 50 ms). It imports only what planning needs (SQLAlchemy, SQLModel, our
tables), so the memory figure is planning's own, not aiogram's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalogue.database import create_engine
from catalogue.database import create_session_maker
from catalogue.outbox.broadcasts import plan_page


async def main(database_url: str, broadcast_id: int) -> None:
    process = psutil.Process()
    samples: list[float] = []

    async def sample_memory() -> None:
        while True:
            samples.append(process.memory_info().rss / 2**20)
            await asyncio.sleep(0.05)

    engine = create_engine(database_url)
    session_maker = create_session_maker(engine)
    sampler = asyncio.create_task(sample_memory())
    await asyncio.sleep(0)
    start_rss = process.memory_info().rss / 2**20
    started = time.perf_counter()
    pages = 0
    while True:
        async with session_maker.begin() as session:
            if not await plan_page(session, broadcast_id):
                break
        pages += 1
    planning = time.perf_counter() - started
    samples.append(process.memory_info().rss / 2**20)
    sampler.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sampler
    await engine.dispose()
    print(
        json.dumps(
            {
                "planning_s": round(planning, 2),
                "pages": pages,
                "rss_start_mb": round(start_rss, 1),
                "peak_rss_mb": round(max(samples), 1),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
