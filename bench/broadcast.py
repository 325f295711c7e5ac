"""Broadcast delivery: rate under Telegram's limit, a crash in the middle, and a city of a million.

    python bench/broadcast.py [--recipients 10000] [--cap 30] [--dry-recipients 1000000]

1. The real `learncity run` process broadcasts to `--recipients` residents through a local Bot
   API server (tests/fake_bot_api.py) that enforces a global cap of `--cap` messages a second
   (429 + retry_after past it), one message a second per chat, and answers 403 for 1 % of the
   chats. Halfway through, the process is killed with SIGKILL and started again. Reported: the
   achieved rate while sending (and over the whole wall-clock time, restart included), messages
   lost, messages duplicated, and how many were in flight at the kill (accepted by Telegram but
   not yet written down: the most that may be duplicated). The anchor is a bare aiogram loop
   sending at the same cap to the same server, no database, measured in the same run.
2. A dry run for a city of `--dry-recipients` residents on PostgreSQL, no network: the
   broadcast's delivery rows are planned page by page as in production (the time it takes),
   then a share of them is sent by the outbox worker to a Bot API that answers at once. Peak
   RSS of this process is sampled throughout; the anchor is one `INSERT … SELECT` of all the
   rows, the database's own speed for the same writes.

Targets: ≥ 95 % of the cap, 0 lost, duplicates ≤ in flight at the kill, RSS ≤ 150 MB and flat.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_database
from bot.settings import load_settings
from bot.startup.app import create_app
from bot.startup.dispatcher import create_bot
from bot.startup.sending import create_broadcast_runner
from bot.startup.sending import create_outbox_worker
from catalogue.database import create_engine
from catalogue.database import create_session_maker
from catalogue.outbox.broadcasts import Audience
from catalogue.outbox.broadcasts import AudienceKind
from catalogue.outbox.broadcasts import Broadcast
from catalogue.outbox.broadcasts import create_broadcast
from catalogue.outbox.broadcasts import progress
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from scheduler.delivery import OutboundLimiter
from tests.fake_bot_api import FakeBotApi

ADMIN = 42
FIRST = 10_000_000
TEXT = "🎪 The <b>Lifelong Learning Festival</b> opens on Saturday: 500 free events."


class RssSampler:
    """Peak resident memory of a process, sampled in the background."""

    def __init__(self, pid: int | None = None, every: float = 0.1) -> None:
        self.process = psutil.Process(pid or os.getpid())
        self.every = every
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> float:
        with contextlib.suppress(psutil.Error):
            self.samples.append(self.process.memory_info().rss / 2**20)
        return self.samples[-1] if self.samples else 0.0

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.every)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    @property
    def peak(self) -> float:
        return round(max(self.samples, default=0.0), 1)


# ---------------------------------------------------------------- part 1: the crash run


async def seed(database_url: str, recipients: int) -> int:
    settings = load_settings(database_url=database_url, load_demo=False, _env_file=None)
    app = await create_app(settings)
    async with app.session_maker.begin() as session:
        await insert_residents(session, recipients)
        broadcast = await create_broadcast(
            session, created_by=ADMIN, text=TEXT, audience=Audience(AudienceKind.EVERYONE)
        )
    await app.close()
    return broadcast.id


async def insert_residents(session, count: int) -> None:
    """`count` residents with announcements on, written by the database itself."""
    if session.bind.dialect.name == "postgresql":
        numbers = f"SELECT g AS n FROM generate_series(0, {count - 1}) AS g"
    else:
        numbers = (
            f"WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {count - 1})"
            " SELECT n FROM s"
        )
    await session.execute(
        text(
            "INSERT INTO resident (telegram_id, language, language_chosen, is_active, created_at,"
            " reminder_offsets, reminders_on, announcements_on)"
            f" SELECT {FIRST} + n, 'en', true, true, CURRENT_TIMESTAMP, '[1440, 60]', true, true"
            f" FROM ({numbers}) AS numbers"
        )
    )


async def recorded(database_url: str, broadcast_id: int) -> tuple[int, bool]:
    engine = create_engine(database_url)
    try:
        async with create_session_maker(engine)() as session:
            done = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.broadcast_id == broadcast_id,
                    OutboxMessage.state.in_([OutboxState.SENT, OutboxState.FAILED]),
                )
            )
            reported = await session.scalar(
                select(Broadcast.reported_at).where(Broadcast.id == broadcast_id)
            )
        return done or 0, reported is not None
    finally:
        await engine.dispose()


async def watch(condition, timeout: float = 3600) -> None:
    for _ in range(int(timeout * 2)):
        if condition():
            return
        await asyncio.sleep(0.5)
    raise TimeoutError("waited in vain")


async def until_reported(database_url: str, broadcast_id: int, timeout: float = 3600) -> None:
    engine = create_engine(database_url)
    session_maker = create_session_maker(engine)
    try:
        for _ in range(int(timeout)):
            async with session_maker() as session:
                reported = await session.scalar(
                    select(Broadcast.reported_at).where(Broadcast.id == broadcast_id)
                )
            if reported is not None:
                return
            await asyncio.sleep(1.0)
    finally:
        await engine.dispose()
    raise TimeoutError("the broadcast did not finish")


def resident_sends(api: FakeBotApi) -> list[Any]:
    return [
        call
        for call in api.telegram.calls
        if call.method == "sendMessage" and int(call.params["chat_id"]) >= FIRST
    ]


async def crash_run(database_url: str, recipients: int, cap: int, rate: float) -> dict[str, Any]:
    broadcast_id = await seed(database_url, recipients)
    blocked = {FIRST + n for n in range(0, recipients, 100)}  # 1 % blocked the bot
    api = FakeBotApi()
    api.telegram.sends_per_second = cap
    api.telegram.per_chat_interval = 1.0
    api.telegram.blocked_chats.update(blocked)
    await api.start()
    environment = os.environ | {
        "BOT_TOKEN": "123456:bench",
        "BOT_API_URL": api.url,
        "DATABASE_URL": database_url,
        "ADMIN_IDS": str(ADMIN),
        "OUTBOUND_RATE": str(rate),
        "OUTBOX_LEASE_SECONDS": "10",
        "LOAD_DEMO": "false",
        "REDIS_URL": "",
    }
    command = [sys.executable, "-m", "bot", "run"]
    quiet = {"stdout": asyncio.subprocess.DEVNULL, "stderr": asyncio.subprocess.DEVNULL}
    peak_rss = 0.0

    process = await asyncio.create_subprocess_exec(*command, env=environment, **quiet)
    with RssSampler(process.pid, every=0.5) as rss:
        # Watched cheaply (a counter, twice a second): the server shares this event loop, and
        # scanning its call log often would delay its answers and bunch the bot's requests.
        await watch(lambda: api.accepted_sends >= recipients // 2)
        process.send_signal(signal.SIGKILL)
        await process.wait()
    peak_rss = max(peak_rss, rss.peak)
    killed_at = time.time()
    await asyncio.sleep(0.5)  # requests the server was answering at the kill finish
    answered = sum(
        1 for call in resident_sends(api) if call.ok or int(call.params["chat_id"]) in blocked
    )
    written, _ = await recorded(database_url, broadcast_id)
    in_flight = answered - written

    process = await asyncio.create_subprocess_exec(*command, env=environment, **quiet)
    with RssSampler(process.pid, every=0.5) as rss:
        await until_reported(database_url, broadcast_id)
        process.send_signal(signal.SIGTERM)
        await process.wait()
    peak_rss = max(peak_rss, rss.peak)
    await api.stop()

    accepted = [call for call in resident_sends(api) if call.ok]
    delivered = Counter(int(call.params["chat_id"]) for call in accepted)
    wanted = {FIRST + n for n in range(recipients)} - blocked
    times = sorted(call.at for call in accepted)
    before = [at for at in times if at <= killed_at]
    after = [at for at in times if at > killed_at]
    sending_seconds = (before[-1] - before[0]) + (after[-1] - after[0] if after else 0.0)
    rate_limited = sum(
        1
        for call in resident_sends(api)
        if not call.ok and int(call.params["chat_id"]) not in blocked
    )
    return {
        "recipients": recipients,
        "cap_per_s": cap,
        "configured_per_s": rate,
        "achieved_per_s": round(len(accepted) / sending_seconds, 2),
        "achieved_ratio": round(len(accepted) / sending_seconds / cap, 3),
        "wall_clock_per_s": round(len(accepted) / (times[-1] - times[0]), 2),
        "lost": len(wanted - set(delivered)),
        "duplicated": sum(count - 1 for count in delivered.values() if count > 1),
        "in_flight_at_kill": in_flight,
        "blocked_answered_403": len(blocked),
        "rate_limited_429": rate_limited,
        "bot_peak_rss_mb": peak_rss,
    }


async def bare_anchor(cap: int, count: int) -> float:
    """aiogram alone, spaced at the cap, to the same kind of server: the best one can do."""
    api = FakeBotApi()
    api.telegram.sends_per_second = cap
    await api.start()
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.url))
    bot = Bot("123456:anchor", session=session)
    interval = 1.0 / cap
    started = time.monotonic()
    for n in range(count):
        pause = started + n * interval - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        with contextlib.suppress(Exception):
            await bot.send_message(FIRST + n, TEXT)
    accepted = sorted(call.at for call in api.telegram.accepted("sendMessage"))
    await session.close()
    await api.stop()
    return len(accepted) / (accepted[-1] - accepted[0])


# ---------------------------------------------------------------- part 2: a million, dry


class AnsweringSession(BaseSession):
    """A Bot API that answers every send at once and keeps nothing: no network, no memory."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def make_request(self, bot: Bot, method: TelegramMethod, timeout: int | None = None):
        self.sent += 1
        body = {
            "ok": True,
            "result": {
                "message_id": self.sent,
                "date": int(time.time()),
                "chat": {"id": getattr(method, "chat_id", 0), "type": "private"},
                "text": "…",
            },
        }
        return self.check_response(bot, method, 200, json.dumps(body)).result

    async def stream_content(self, *args: Any, **kwargs: Any):
        yield b""

    async def close(self) -> None:
        return None


async def dry_run(database_url: str, recipients: int, dry_send: int) -> dict[str, Any]:
    settings = load_settings(
        database_url=database_url, load_demo=False, outbound_rate=100_000, _env_file=None
    )
    app = await create_app(settings)
    started = time.perf_counter()
    async with app.session_maker.begin() as session:
        await insert_residents(session, recipients)
    seeding = time.perf_counter() - started

    # The anchor: the same rows in one statement, then removed again.
    async with app.session_maker.begin() as session:
        started = time.perf_counter()
        await session.execute(
            text(
                "INSERT INTO outbox_message (kind, chat_id, resident_id, payload, due_at, state,"
                " attempts, dedupe_key, created_at, broadcast_id)"
                " SELECT 'anchor', telegram_id, id, '{}', CURRENT_TIMESTAMP, 'skipped', 0,"
                " 'anchor:' || id, CURRENT_TIMESTAMP, NULL FROM resident"
            )
        )
        anchor_seconds = time.perf_counter() - started
        await session.execute(text("DELETE FROM outbox_message WHERE kind = 'anchor'"))
    async with app.session_maker.begin() as session:
        broadcast = await create_broadcast(
            session, created_by=ADMIN, text=TEXT, audience=Audience(AudienceKind.EVERYONE)
        )

    # Planning in a process of its own, as lean as planning is (no aiogram, ~70 MB).
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("broadcast_planner.py")),
        database_url, str(broadcast.id),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output, _ = await child.communicate()
    planned = json.loads(output.decode().strip().splitlines()[-1])

    async with app.session_maker() as session:
        started = time.perf_counter()
        figures = await progress(session, await session.get(Broadcast, broadcast.id))
        counting = time.perf_counter() - started

    # A share sent by the real worker and runner (aiogram loaded) to a Bot API that answers at
    # once: this process's memory must not grow with what it sends.
    answering = AnsweringSession()
    bot = create_bot(settings, answering)
    worker = create_outbox_worker(
        settings, app.session_maker, app.i18n, bot, batch_size=500, max_in_flight=500
    )
    worker.delivery.limiter = OutboundLimiter(100_000, per_chat_interval=0)
    runner = create_broadcast_runner(settings, app.session_maker, app.i18n, bot, None, worker.wake)
    gc.collect()
    with RssSampler(every=0.05) as rss:
        send_start_rss = rss.sample()
        started = time.perf_counter()
        worker.recorder.start()
        while worker.stats.claimed < dry_send:
            if not await worker._claim_and_dispatch():
                break
            if worker.stats.claimed % 20_000 < 500:
                await runner.show_progress(broadcast.id, force=True)
        await worker.stop()  # the claimed share finishes and is recorded; the rest stays queued
        sending = time.perf_counter() - started
        await runner.show_progress(broadcast.id, force=True)
        send_end_rss = rss.sample()
    await app.close()
    return {
        "dry_recipients": recipients,
        "dry_seeding_s": round(seeding, 1),
        "dry_planned_rows": figures.total,
        "dry_planning_s": planned["planning_s"],
        "dry_planning_rows_per_s": round(figures.total / planned["planning_s"]),
        "dry_planning_pages": planned["pages"],
        "dry_anchor_single_insert_s": round(anchor_seconds, 2),
        "dry_progress_count_s": round(counting, 3),
        "dry_planner_rss_start_mb": planned["rss_start_mb"],
        "dry_planner_peak_rss_mb": planned["peak_rss_mb"],
        "dry_planner_rss_growth_mb": round(planned["peak_rss_mb"] - planned["rss_start_mb"], 1),
        "dry_sent": worker.stats.sent,
        "dry_send_per_s": round(worker.stats.sent / sending),
        "dry_sender_rss_start_mb": round(send_start_rss, 1),
        "dry_sender_peak_rss_mb": rss.peak,
        "dry_sender_rss_growth_mb": round(rss.peak - send_start_rss, 1),
        "dry_sender_rss_end_mb": round(send_end_rss, 1),
    }


async def import_anchor() -> float:
    """RSS of a process that only imports aiogram: the floor of any process that sends."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c",
        "import aiogram, psutil; print(psutil.Process().memory_info().rss / 2**20)",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output, _ = await child.communicate()
    return round(float(output), 1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--cap", type=int, default=30, help="the fake Telegram's messages/s")
    parser.add_argument(
        "--rate", type=float, default=None, help="OUTBOUND_RATE (default: 98 %% of the cap)"
    )
    parser.add_argument("--dry-recipients", type=int, default=1_000_000)
    parser.add_argument("--dry-send", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    arguments = parser.parse_args()
    rate = arguments.rate or round(arguments.cap * 0.98, 2)

    anchor = await bare_anchor(arguments.cap, min(arguments.recipients, 600))
    aiogram_rss = await import_anchor()
    if arguments.database == "postgres":
        async with scratch_database() as url:
            crash = await crash_run(url, arguments.recipients, arguments.cap, rate)
    else:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{folder}/broadcast.sqlite3"
            crash = await crash_run(url, arguments.recipients, arguments.cap, rate)
    async with scratch_database() as url:
        dry = await dry_run(url, arguments.dry_recipients, arguments.dry_send)

    cap = arguments.cap
    print(f"{'sending at a cap of ' + str(cap) + ' msg/s':<46}{'msg/s':>10}{'of cap':>10}")
    print(f"{'bare aiogram loop at the cap (anchor)':<46}{anchor:>10.2f}{anchor / cap:>10.3f}")
    print(
        f"{'learncity, while sending':<46}{crash['achieved_per_s']:>10.2f}"
        f"{crash['achieved_ratio']:>10.3f}"
    )
    print(
        f"{'learncity, wall clock incl. kill and restart':<46}{crash['wall_clock_per_s']:>10.2f}"
        f"{crash['wall_clock_per_s'] / cap:>10.3f}"
    )
    print(
        f"\nkill -9 halfway through {crash['recipients']:,}: lost {crash['lost']}, duplicated "
        f"{crash['duplicated']}, in flight at the kill {crash['in_flight_at_kill']}; "
        f"429s {crash['rate_limited_429']}; bot process peak RSS {crash['bot_peak_rss_mb']} MB"
    )
    print(
        f"\n{arguments.dry_recipients:,} recipients, dry run on PostgreSQL:\n"
        f"  planning {dry['dry_planned_rows']:,} rows: {dry['dry_planning_s']} s "
        f"({dry['dry_planning_rows_per_s']:,}/s, {dry['dry_planning_pages']} pages); "
        f"one INSERT…SELECT of the same rows (anchor) {dry['dry_anchor_single_insert_s']} s\n"
        f"  planner RSS {dry['dry_planner_rss_start_mb']} → peak "
        f"{dry['dry_planner_peak_rss_mb']} MB\n"
        f"  sending {dry['dry_sent']:,} through the worker at {dry['dry_send_per_s']:,}/s: RSS "
        f"{dry['dry_sender_rss_start_mb']} → peak {dry['dry_sender_peak_rss_mb']} MB "
        f"(a process importing aiogram alone: {aiogram_rss} MB)"
    )
    print(
        json.dumps(
            {"anchor_bare_per_s": round(anchor, 2), "aiogram_import_rss_mb": aiogram_rss}
            | crash
            | dry
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
