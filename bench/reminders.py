"""Reminders: lateness under load with a restart in the middle, and 100,000 waiting reminders.

    python bench/reminders.py [--reminders 10000] [--window 60] [--future 100000]

1. `--reminders` reminders fall due evenly within `--window` seconds (one minute), each to a
   different resident, on PostgreSQL. The real `learncity run` process sends them to a local
   Bot API server (tests/fake_bot_api.py) without a rate limit (OUTBOUND_RATE set high).
   Halfway through, the bot is restarted; lateness is the time from a reminder's due time to
   its arrival at the Bot API. Two restarts are measured, each on a fresh database:
   * rolling: a new process starts, then the old one gets SIGTERM (how a deploy with two
     processes on one PostgreSQL goes; both share the queue meanwhile);
   * stop-start: SIGTERM, then a new process: reminders due while no process runs wait for
     its start-up, which is reported apart.
   Reported: p50, p99 and max lateness, lost, duplicated. Anchors: a bare aiogram loop that
   sleeps until each due time and sends (no database, no restart) measured in the same run,
   which shows what the shared machine's load alone costs; and Telegram's own limit of about
   30 messages a second: at that rate the same minute's reminders would take
   `reminders / 30` seconds to send.
2. `--future` reminders due over the next 30 days: the time to queue them, and what they cost
   the bot process: start-up time to its first getUpdates and resident memory, with and
   without them. Because the truth is in the table, not in the scheduler, nothing is loaded.
   The anchor is APScheduler 3 holding the same number of date jobs in its memory job store
   (what a design with one job per reminder costs), measured in a separate process.

Targets: p99 lateness ≤ 1 s, 0 lost, 0 duplicates, ≤ 100 MB added, start-up ≤ 3 s.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import asyncpg
import psutil
from sqlalchemy import insert
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import add_offer
from bench.common import scratch_database
from bench.common import settings_for
from bot.startup.app import create_app
from catalogue.models import OfferKind
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import Venue
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from tests.fake_bot_api import FakeBotApi

TELEGRAM_LIMIT = 30  # messages a second, Telegram's broadcast limit for one bot
SESSIONS = 100
FIRST_CHAT = 5_000_000
CHUNK = 5000


async def seed(database_url: str, dues: list[datetime], sessions_start: datetime) -> float:
    """Residents going to sessions, one reminder row each with the given due times.

    Rows are written as the planner writes them (kind "reminder", anchored to the session's
    start, a dedupe key per resident, session and offset); returns seconds spent queueing."""
    app = await create_app(settings_for(database_url))
    now = datetime.now(UTC)
    async with app.session_maker.begin() as session:
        venue = Venue(
            external_id="bench-hall",
            name={"en": "Town hall"},
            address={"en": "1 Square"},
            latitude=56.5,
            longitude=60.8,
            accessibility={},
        )
        offer = await add_offer(
            session,
            venue,
            external_id="bench-lecture",
            title={"en": "Evening lecture"},
            kind=OfferKind.LECTURE,
        )
        sessions = [
            OfferSession(
                external_id=f"bench-{n}",
                offer_id=offer.id,
                venue_id=venue.id,
                starts_at=sessions_start + timedelta(minutes=n),
                ends_at=sessions_start + timedelta(minutes=n + 60),
            )
            for n in range(SESSIONS)
        ]
        session.add_all(sessions)
        await session.flush()
        session_rows = [(item.id, item.starts_at) for item in sessions]
    residents = [
        {
            "telegram_id": FIRST_CHAT + n,
            "language": "en",
            "language_chosen": True,
            "is_active": True,
            "created_at": now,
            "reminder_offsets": [60],
            "reminders_on": True,
            "announcements_on": True,
        }
        for n in range(len(dues))
    ]
    async with app.session_maker.begin() as session:
        for start in range(0, len(residents), CHUNK):
            await session.execute(insert(Resident), residents[start : start + CHUNK])
    async with app.session_maker() as session:
        resident_ids = list(
            await session.scalars(select(Resident.id).order_by(Resident.telegram_id))
        )
    attendance = []
    outbox = []
    for n, (resident_id, due) in enumerate(zip(resident_ids, dues, strict=True)):
        session_id, starts = session_rows[n % SESSIONS]
        attendance.append(
            {
                "resident_id": resident_id,
                "session_id": session_id,
                "status": SeatStatus.GOING,
                "via_offer": False,
                "created_at": now,
                "updated_at": now,
            }
        )
        outbox.append(
            {
                "kind": "reminder",
                "chat_id": FIRST_CHAT + n,
                "resident_id": resident_id,
                "session_id": session_id,
                "payload": {"offset": 60},
                "due_at": due,
                "anchor_at": starts,
                "state": OutboxState.PENDING,
                "attempts": 0,
                "dedupe_key": f"reminder:{resident_id}:{session_id}:60",
                "created_at": now,
            }
        )
    async with app.session_maker.begin() as session:
        for start in range(0, len(attendance), CHUNK):
            await session.execute(insert(Seat), attendance[start : start + CHUNK])
    queueing = time.perf_counter()
    async with app.session_maker.begin() as session:
        for start in range(0, len(outbox), CHUNK):
            await session.execute(insert(OutboxMessage), outbox[start : start + CHUNK])
    queued_in = time.perf_counter() - queueing
    await app.close()
    return queued_in


async def shift_due_times(database_url: str, shift: timedelta) -> None:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    await connection.execute("UPDATE outbox_message SET due_at = due_at + $1", shift)
    await connection.close()


def bot_environment(api: FakeBotApi, database_url: str, token: str) -> dict[str, str]:
    return os.environ | {
        "BOT_TOKEN": token,
        "BOT_API_URL": api.url,
        "DATABASE_URL": database_url,
        "LOAD_DEMO": "false",
        "DEFAULT_LOCALE": "en",
        "OUTBOUND_RATE": "100000",
    }


async def start_bot(api: FakeBotApi, database_url: str, token: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        env=bot_environment(api, database_url, token),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def polled_by(api: FakeBotApi, token: str, timeout: float = 60) -> float:
    """Seconds until the process with `token` asks for updates for the first time."""
    started = time.monotonic()
    await api.wait_until(lambda: api.polls_by_token[token] > 0, timeout)
    return time.monotonic() - started


async def lateness_run(count: int, window: float, rolling: bool) -> dict[str, float]:
    async with scratch_database() as url:
        api = FakeBotApi()
        sends = [0]  # counted as they arrive: scanning every call while waiting costs CPU

        def count_send(event: str, _message) -> None:
            if event == "send":
                sends[0] += 1

        api.telegram.listeners.append(count_send)
        await api.start()
        lead = 12.0  # seconds for the first process to start before the first reminder is due
        first_due = datetime.now(UTC) + timedelta(seconds=lead + 20)
        dues = [first_due + timedelta(seconds=window * n / count) for n in range(count)]
        await seed(url, dues, first_due + timedelta(hours=2))
        first = await start_bot(api, url, "111:first")
        await polled_by(api, "111:first")
        # However long the start took on this machine, the minute begins three seconds from now.
        shift = datetime.now(UTC) + timedelta(seconds=3) - dues[0]
        dues = [due + shift for due in dues]
        await shift_due_times(url, shift)
        await asyncio.sleep(max(0.0, (dues[count // 2] - datetime.now(UTC)).total_seconds()))
        restart_started = time.monotonic()
        if rolling:
            second = await start_bot(api, url, "222:second")
            await polled_by(api, "222:second")
            first.send_signal(signal.SIGTERM)
            await first.wait()
            gap = 0.0
        else:
            first.send_signal(signal.SIGTERM)
            await first.wait()
            stopped = time.monotonic()
            second = await start_bot(api, url, "222:second")
            await polled_by(api, "222:second")
            gap = time.monotonic() - stopped
        restart_seconds = time.monotonic() - restart_started
        left = (dues[-1] - datetime.now(UTC)).total_seconds() + 60
        with contextlib.suppress(TimeoutError):
            await api.wait_until(lambda: sends[0] >= count, timeout=left)
        await asyncio.sleep(2)  # a duplicate would arrive by now
        second.send_signal(signal.SIGTERM)
        await second.wait()
        await api.stop()
    due_of = {FIRST_CHAT + n: due.timestamp() for n, due in enumerate(dues)}
    arrivals: dict[int, float] = {}
    per_chat: Counter[int] = Counter()
    for call in api.telegram.accepted():
        chat = int(call.params["chat_id"])
        per_chat[chat] += 1
        arrivals.setdefault(chat, call.at)
    lateness = sorted(max(0.0, arrivals[chat] - due_of[chat]) for chat in arrivals)
    lost = count - len(arrivals)
    quantiles = statistics.quantiles(lateness, n=100) if len(lateness) > 1 else [0.0] * 99
    return {
        "p50_s": round(statistics.median(lateness), 3) if lateness else -1,
        "p99_s": round(quantiles[98], 3),
        "max_s": round(lateness[-1], 3) if lateness else -1,
        "late_over_1s": sum(1 for value in lateness if value > 1.0),
        "lost": lost,
        "duplicates": sum(per_chat.values()) - len(per_chat),
        "restart_s": round(restart_seconds, 2),
        "no_process_s": round(gap, 2),
    }


async def process_figures(database_url: str, bare: bool = False) -> dict[str, float]:
    """Start-up to the first getUpdates and resident memory of a fresh bot process (or of
    bench/bare_bot.py, a bare aiogram bot: what Python and aiogram alone take here)."""
    api = FakeBotApi()
    await api.start()
    started = time.monotonic()
    if bare:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).with_name("bare_bot.py")),
            env=bot_environment(api, database_url, "333:probe"),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
    else:
        process = await start_bot(api, database_url, "333:probe")
    await api.wait_until(lambda: api.polls_by_token["333:probe"] > 0, timeout=60)
    startup = time.monotonic() - started
    await asyncio.sleep(3)  # the upkeep job runs two seconds after start: include it
    rss = psutil.Process(process.pid).memory_info().rss / 2**20
    process.send_signal(signal.SIGTERM)
    await process.wait()
    await api.stop()
    return {"startup_s": round(startup, 2), "rss_mb": round(rss, 1)}


async def future_run(count: int) -> dict[str, float]:
    async with scratch_database() as url:
        await seed(url, [], datetime.now(UTC) + timedelta(days=31))
        empty = await process_figures(url)
    async with scratch_database() as url:
        now = datetime.now(UTC)
        dues = [now + timedelta(days=1) + timedelta(seconds=25 * n) for n in range(count)]
        queued_in = await seed(url, dues, now + timedelta(days=31))
        loaded = await process_figures(url)
        bare = await process_figures(url, bare=True)
    return {
        "startup_bare_aiogram_s": bare["startup_s"],
        "rss_bare_aiogram_mb": bare["rss_mb"],
        "queue_s": round(queued_in, 2),
        "startup_empty_s": empty["startup_s"],
        "startup_s": loaded["startup_s"],
        "rss_empty_mb": empty["rss_mb"],
        "rss_mb": loaded["rss_mb"],
        "rss_added_mb": round(loaded["rss_mb"] - empty["rss_mb"], 1),
    }


async def bare_sender_run(count: int, window: float) -> dict[str, float]:
    """The anchor for lateness: a bare aiogram loop that sleeps until each due time and sends,
    no database, no restart, in a process of its own, to the same kind of server."""
    api = FakeBotApi()
    await api.start()
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--bare-sender", api.url, str(count), str(window),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    # The sender says when its first message is due, once it has started.
    first_due = float((await process.stdout.readline()).decode())
    await process.wait()
    await api.stop()
    lateness = sorted(
        max(0.0, call.at - (first_due + window * int(call.params["text"]) / count))
        for call in api.telegram.accepted()
    )
    return {
        "p50_s": round(statistics.median(lateness), 3),
        "p99_s": round(statistics.quantiles(lateness, n=100)[98], 3),
        "max_s": round(lateness[-1], 3),
    }


async def bare_sender(api_url: str, count: int, window: float) -> None:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    bot = Bot("444:bare", session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
    first_due = time.time() + 2
    print(first_due, flush=True)
    pending: set[asyncio.Task] = set()
    for n in range(count):
        delay = first_due + window * n / count - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(bot.send_message(FIRST_CHAT + n, str(n)))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    await bot.session.close()


def apscheduler_anchor(count: int) -> dict[str, float]:
    """APScheduler 3 holding `count` date jobs in memory, in a process of its own."""
    output = subprocess.run(
        [sys.executable, __file__, "--apscheduler-jobs", str(count)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return json.loads(output.strip().splitlines()[-1])


async def apscheduler_jobs(count: int) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    async def noop(reminder_id: int) -> None:
        return None

    async def run() -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.start()
        before = psutil.Process().memory_info().rss
        started = time.perf_counter()
        now = datetime.now(UTC)
        for n in range(count):
            scheduler.add_job(
                noop,
                "date",
                run_date=now + timedelta(days=1, seconds=25 * n),
                args=[n],
                id=f"reminder-{n}",
            )
        added = time.perf_counter() - started
        rss = psutil.Process().memory_info().rss
        scheduler.shutdown(wait=False)
        figures = {"add_s": round(added, 2), "rss_added_mb": round((rss - before) / 2**20, 1)}
        print(json.dumps(figures))

    await run()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--future", type=int, default=100_000)
    parser.add_argument("--apscheduler-jobs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--bare-sender", nargs=3, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.apscheduler_jobs:
        await apscheduler_jobs(arguments.apscheduler_jobs)
        return
    if arguments.bare_sender:
        url, count, window = arguments.bare_sender
        await bare_sender(url, int(count), float(window))
        return

    count, window = arguments.reminders, arguments.window
    load_before = os.getloadavg()[0]
    bare = await bare_sender_run(count, window)
    rolling = await lateness_run(count, window, rolling=True)
    stop_start = await lateness_run(count, window, rolling=False)
    future = await future_run(arguments.future)
    anchor = apscheduler_anchor(arguments.future)

    print(f"{count} reminders due within {window:.0f} s, restarted halfway (PostgreSQL)")
    print(f"{'':<28}{'p50 s':>8}{'p99 s':>8}{'max s':>8}{'>1 s':>7}{'lost':>6}{'dup':>5}")
    for label, run in [("rolling restart", rolling), ("stop, then start", stop_start)]:
        print(
            f"{label:<28}{run['p50_s']:>8}{run['p99_s']:>8}{run['max_s']:>8}"
            f"{run['late_over_1s']:>7}{run['lost']:>6}{run['duplicates']:>5}"
        )
    print(
        f"{'bare aiogram loop (anchor)':<28}{bare['p50_s']:>8}{bare['p99_s']:>8}{bare['max_s']:>8}"
    )
    load_after = os.getloadavg()[0]
    print(f"machine load average: {load_before:.1f} before, {load_after:.1f} after (2 cores)")
    print(f"stop-start: no process ran for {stop_start['no_process_s']} s (start-up)")
    at_limit = count / TELEGRAM_LIMIT
    print(
        f"anchor: Telegram's {TELEGRAM_LIMIT} msg/s would take {at_limit:.0f} s for the same "
        f"{count} (the demand here is {count / window:.0f} msg/s)"
    )
    print(f"\n{arguments.future} future reminders{'':<10}{'ours':>10}{'APScheduler jobs':>20}")
    print(f"{'time to queue, s':<38}{future['queue_s']:>10}{anchor['add_s']:>20}")
    print(f"{'memory added, MB':<38}{future['rss_added_mb']:>10}{anchor['rss_added_mb']:>20}")
    print(f"{'start-up to first poll, s':<38}{future['startup_s']:>10}")
    print(f"{'start-up with none queued, s':<38}{future['startup_empty_s']:>10}")
    print(f"{'start-up of a bare aiogram bot, s':<38}{future['startup_bare_aiogram_s']:>10}")
    print(f"{'bot process memory, MB':<38}{future['rss_mb']:>10}")
    print(f"{'bare aiogram bot memory, MB':<38}{future['rss_bare_aiogram_mb']:>10}")
    print(
        json.dumps(
            {
                "reminders": count,
                "window_s": window,
                "lateness_p50_s": rolling["p50_s"],
                "lateness_p99_s": rolling["p99_s"],
                "lateness_max_s": rolling["max_s"],
                "lost": rolling["lost"] + stop_start["lost"],
                "duplicates": rolling["duplicates"] + stop_start["duplicates"],
                "stop_start_p50_s": stop_start["p50_s"],
                "stop_start_p99_s": stop_start["p99_s"],
                "stop_start_max_s": stop_start["max_s"],
                "stop_start_no_process_s": stop_start["no_process_s"],
                "bare_loop_p50_s": bare["p50_s"],
                "bare_loop_p99_s": bare["p99_s"],
                "load_average": [round(load_before, 1), round(load_after, 1)],
                "telegram_limit_per_s": TELEGRAM_LIMIT,
                "seconds_at_telegram_limit": round(at_limit),
                "future_reminders": arguments.future,
                "future_queue_s": future["queue_s"],
                "future_rss_added_mb": future["rss_added_mb"],
                "startup_s": future["startup_s"],
                "startup_empty_s": future["startup_empty_s"],
                "rss_mb": future["rss_mb"],
                "startup_bare_aiogram_s": future["startup_bare_aiogram_s"],
                "rss_bare_aiogram_mb": future["rss_bare_aiogram_mb"],
                "apscheduler_jobs_add_s": anchor["add_s"],
                "apscheduler_jobs_rss_added_mb": anchor["rss_added_mb"],
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
