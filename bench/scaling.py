"""Several processes on PostgreSQL + Redis, and memory over a long run (part of bench/updates.py).

    python bench/scaling.py [--updates 3000] [--memory-updates 1000000]

Throughput: the browse path (a resident presses an offer button) and the search path (a
resident types a query) through the full stack (every middleware, Redis for FSM state, flood
control and the update ledger, PostgreSQL) in one bot process, then in two at once sharing the
same database and Redis, as `learncity run --webhook` processes behind a load balancer would.
Each process feeds its updates with 8 in flight (aiogram handles updates as concurrent tasks)
and answers through an in-memory Bot API, so only our stack is measured. The figure for two
processes is all their updates over the time from the first start to the last finish.

Memory: one process (SQLite, state in its own memory: the configuration whose in-process
ledger and flood counters could grow) is fed `--memory-updates` synthetic updates from 50,000
different people: mostly ones that pass every middleware cheaply (channel posts, edited
messages, redeliveries, a flooding person), with a browse press and a search query in every
200. Resident memory is read after the first tenth (warm) and at the end.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from aiogram.types import CallbackQuery
from aiogram.types import Chat
from aiogram.types import Message
from aiogram.types import Update
from aiogram.types import User
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_database
from bot.callbacks.browse import ShowOffer
from bot.settings import Settings
from bot.settings import load_settings
from bot.startup.app import App
from bot.startup.app import create_app
from bot.startup.dispatcher import create_bot
from bot.startup.offline_api import OfflineSession
from bot.startup.offline_api import OfflineTelegram
from catalogue.models import Offer
from catalogue.residents import get_or_create_resident
from catalogue.residents import set_language

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
USERS_PER_PROCESS = 40
IN_FLIGHT = 8
SEARCH_QUERIES = [
    "yoga",
    "ceramics",
    "english",
    "robotics",
    "history",
    "chess",
    "painting",
    "керамика",
]
PATHS = ("browse", "search")


def bench_settings(database_url: str, redis_url: str | None, prefix: str, **extra: Any) -> Settings:
    return load_settings(
        database_url=database_url,
        redis_url=redis_url or "",
        redis_prefix=prefix,
        default_locale="en",
        flood_limit=0,
        _env_file=None,
        **extra,
    )


def person(user_id: int) -> User:
    return User(id=user_id, is_bot=False, first_name="R", language_code="en")


def press(update_id: int, user: User, message_id: int, data: str) -> Update:
    message = Message(
        message_id=message_id,
        date=datetime.now(UTC),
        chat=Chat(id=user.id, type="private"),
        text="…",
    )
    query = CallbackQuery(
        id=str(update_id), from_user=user, chat_instance="bench", message=message, data=data
    )
    return Update(update_id=update_id, callback_query=query)


def typed(update_id: int, user: User, text: str) -> Update:
    message = Message(
        message_id=update_id,
        date=datetime.now(UTC),
        chat=Chat(id=user.id, type="private"),
        from_user=user,
        text=text,
    )
    return Update(update_id=update_id, message=message)


async def residents(app: App, user_ids: list[int]) -> list[str]:
    """Residents who chose English; returns the offer buttons' callback data."""
    async with app.session_maker.begin() as session:
        offer_ids = list(await session.scalars(select(Offer.id).order_by(Offer.id)))
        for user_id in user_ids:
            await set_language(session, await get_or_create_resident(session, user_id, "en"), "en")
    return [ShowOffer(offer_id=offer_id).pack() for offer_id in offer_ids]


def path_updates(
    path: str, users: list[User], message_ids: dict[int, int], datas: list[str], ids: range
) -> list[Update]:
    updates = []
    for n, update_id in enumerate(ids):
        user = users[n % len(users)]
        if path == "browse":
            updates.append(press(update_id, user, message_ids[user.id], datas[n % len(datas)]))
        else:
            updates.append(typed(update_id, user, SEARCH_QUERIES[n % len(SEARCH_QUERIES)]))
    return updates


async def feed_all(app: App, bot, updates: list[Update]) -> None:
    queue = iter(updates)

    async def lane() -> None:
        for update in queue:
            await app.dispatcher.feed_update(bot, update)

    await asyncio.gather(*(lane() for _ in range(IN_FLIGHT)))


# ---------------------------------------------------------------- one worker process


def dump_tasks_on_signal() -> None:
    """`kill -USR1 <worker>` prints where every task of a stuck worker waits, to stderr."""

    def dump() -> None:
        for task in asyncio.all_tasks():
            task.print_stack(limit=12, file=sys.stderr)

    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, dump)


async def worker(arguments: argparse.Namespace) -> None:
    dump_tasks_on_signal()
    settings = bench_settings(arguments.database_url, arguments.redis_url, arguments.prefix)
    app = await create_app(settings)
    telegram = OfflineTelegram()
    bot = create_bot(settings, OfflineSession(telegram))
    first_user = 600_000 + arguments.index * 1000
    users = [person(first_user + n) for n in range(USERS_PER_PROCESS)]
    async with app.session_maker() as session:
        offer_ids = list(await session.scalars(select(Offer.id).order_by(Offer.id)))
    datas = [ShowOffer(offer_id=offer_id).pack() for offer_id in offer_ids]
    message_ids = {
        u.id: telegram.answer("sendMessage", {"chat_id": u.id, "text": "start"})["message_id"]
        for u in users
    }
    base = arguments.first_id
    warm = path_updates(arguments.path, users, message_ids, datas, range(base, base + 100))
    timed = path_updates(
        arguments.path, users, message_ids, datas, range(base + 1000, base + 1000 + arguments.count)
    )
    await feed_all(app, bot, warm)
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    started, cpu = time.time(), time.process_time()
    await feed_all(app, bot, timed)
    ended, cpu = time.time(), time.process_time() - cpu
    answer = telegram.last_bot_message(users[0].id)
    print(
        json.dumps(
            {
                "count": arguments.count,
                "started": started,
                "ended": ended,
                "cpu_s": cpu,
                "answer": (answer.text if answer else "")[:60],
                "errors": app.metrics.value("learncity_update_errors_total", type="message")
                + app.metrics.value("learncity_update_errors_total", type="callback_query"),
            }
        ),
        flush=True,
    )
    await bot.session.close()
    await app.close()


RUNS = itertools.count(1)


async def processes_rate(
    path: str, processes: int, count: int, database_url: str, redis_url: str, prefix: str
) -> dict[str, Any]:
    """Updates a second of `processes` worker processes feeding `count` updates each."""
    workers = []
    for index in range(processes):
        options = {
            "--path": path,
            "--count": count,
            "--index": index,
            "--first-id": next(RUNS) * 100_000_000,  # the update ledger in Redis is shared
            "--database-url": database_url,
            "--redis-url": redis_url,
            "--prefix": prefix,
        }
        command = [sys.executable, __file__, "--worker"]
        for option, value in options.items():
            command += [option, str(value)]
        workers.append(
            await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
        )
    for process in workers:
        line = await process.stdout.readline()
        if not json.loads(line or b"{}").get("ready"):
            raise RuntimeError(f"a {path} worker did not start")
    database_cpu = postgres_cpu()
    for process in workers:
        process.stdin.write(b"go\n")
        await process.stdin.drain()
    results = []
    for process in workers:
        results.append(json.loads(await process.stdout.readline()))
    database_cpu = postgres_cpu() - database_cpu
    for process in workers:
        await process.wait()
    span = max(r["ended"] for r in results) - min(r["started"] for r in results)
    total = sum(r["count"] for r in results)
    return {
        "rate": total / span,
        "ours_cpu_ms": 1000 * sum(r["cpu_s"] for r in results) / total,
        "postgres_cpu_ms": 1000 * database_cpu / total,
        "answer": results[0]["answer"],
        "errors": sum(r["errors"] for r in results),
    }


def postgres_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL server's processes on this machine."""
    used = 0.0
    for process in psutil.process_iter(["name"]):
        if process.info["name"] and process.info["name"].startswith("postgres"):
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            used += times.user + times.system
    return used


async def scaling(count: int) -> dict[str, Any]:
    prefix = f"learncity-bench-{uuid.uuid4().hex[:8]}"
    figures: dict[str, Any] = {}
    async with scratch_database() as url:
        try:
            app = await create_app(bench_settings(url, REDIS_URL, prefix))  # migrate, load the demo
            await residents(
                app, [600_000 + i * 1000 + n for i in range(2) for n in range(USERS_PER_PROCESS)]
            )
            await app.close()
            for path in PATHS:
                one = await processes_rate(path, 1, count, url, REDIS_URL, prefix)
                two = await processes_rate(path, 2, count, url, REDIS_URL, prefix)
                figures[f"{path}_one_process_per_s"] = round(one["rate"])
                figures[f"{path}_two_processes_per_s"] = round(two["rate"])
                figures[f"{path}_two_vs_one"] = round(two["rate"] / one["rate"], 2)
                figures[f"{path}_errors"] = one["errors"] + two["errors"]
                # CPU per update (one process): ours and the database's; both share the machine.
                figures[f"{path}_cpu_ms_ours"] = round(one["ours_cpu_ms"], 2)
                figures[f"{path}_cpu_ms_postgres"] = round(one["postgres_cpu_ms"], 2)
                figures[f"{path}_answer"] = one["answer"]
        finally:
            from redis.asyncio import Redis

            redis = Redis.from_url(REDIS_URL)
            async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
                await redis.delete(key)
            await redis.aclose()
    return figures


# ---------------------------------------------------------------- memory over a long run


async def memory_soak(total: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        settings = bench_settings(f"sqlite+aiosqlite:///{folder}/soak.sqlite3", None, "soak")
        settings = settings.model_copy(update={"flood_limit": 5})
        app = await create_app(settings)
        telegram = OfflineTelegram()
        bot = create_bot(settings, OfflineSession(telegram))
        browsing = [person(700_000 + n) for n in range(20)]
        datas = await residents(app, [u.id for u in browsing])
        message_ids = {
            u.id: telegram.answer("sendMessage", {"chat_id": u.id, "text": "start"})["message_id"]
            for u in browsing
        }
        process = psutil.Process()
        ids = itertools.count(1)
        warm_at, warm_rss, peak = total // 10, 0.0, 0.0
        started = time.perf_counter()
        previous: Update | None = None
        for n in range(total):
            update_id = next(ids)
            someone = person(800_000 + n % 50_000)
            step = n % 200
            if step == 0:
                user = browsing[(n // 200) % len(browsing)]
                update = press(update_id, user, message_ids[user.id], datas[n % len(datas)])
            elif step == 100:
                user = browsing[(n // 200 + 7) % len(browsing)]
                update = typed(update_id, user, SEARCH_QUERIES[n % len(SEARCH_QUERIES)])
            elif step % 20 == 5:  # an edited message: through every middleware and the database
                message = typed(update_id, someone, "edited").message
                update = Update(update_id=update_id, edited_message=message)
            elif step % 4 == 1 and previous is not None:
                update = previous  # Telegram delivers it again
            elif step % 50 == 7:  # someone floods: ten at once
                for extra in range(10):
                    flood = typed(next(ids), person(900_000), "/menu" if extra else "/start")
                    await app.dispatcher.feed_update(bot, flood)
                continue
            else:
                post = Message(
                    message_id=update_id,
                    date=datetime.now(UTC),
                    chat=Chat(id=-100_500, type="channel"),
                    text="news",
                )
                update = Update(update_id=update_id, channel_post=post)
            await app.dispatcher.feed_update(bot, update)
            previous = update
            if len(telegram.calls) > 1000:  # the in-memory Telegram is not ours to measure
                telegram.calls.clear()
                telegram.messages = {
                    key: m
                    for key, m in telegram.messages.items()
                    if message_ids.get(m.chat_id) == m.message_id  # the ones being pressed
                }
            if n + 1 == warm_at or n + 1 == total or (n + 1) % 100_000 == 0:
                gc.collect()
                rss = process.memory_info().rss / 2**20
                peak = max(peak, rss)
                if n + 1 == warm_at:
                    warm_rss = rss
        elapsed = time.perf_counter() - started
        end_rss = process.memory_info().rss / 2**20
        await bot.session.close()
        await app.close()
    return {
        "memory_updates": total,
        "memory_updates_per_s": round(total / elapsed),
        "memory_rss_warm_mb": round(warm_rss, 1),
        "memory_rss_end_mb": round(end_rss, 1),
        "memory_rss_peak_mb": round(peak, 1),
        "memory_growth_pct": round(100 * (end_rss - warm_rss) / warm_rss, 2),
    }


# ---------------------------------------------------------------- on its own


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--updates", type=int, default=3000, help="per process and path")
    options.add_argument("--memory-updates", type=int, default=1_000_000)
    options.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options.add_argument("--path", choices=PATHS, help=argparse.SUPPRESS)
    options.add_argument("--count", type=int, help=argparse.SUPPRESS)
    options.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    options.add_argument("--first-id", type=int, default=1, help=argparse.SUPPRESS)
    options.add_argument("--database-url", help=argparse.SUPPRESS)
    options.add_argument("--redis-url", help=argparse.SUPPRESS)
    options.add_argument("--prefix", help=argparse.SUPPRESS)
    return options


async def main() -> None:
    arguments = parser().parse_args()
    figures: dict[str, Any] = {"cores": os.cpu_count(), "load_before": os.getloadavg()[0]}
    figures |= await scaling(arguments.updates)
    figures |= await memory_soak(arguments.memory_updates)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    options = parser().parse_args()
    asyncio.run(worker(options) if options.worker else main())
