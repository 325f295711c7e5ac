"""Browse-path throughput through the full stack, beside a bare aiogram handler.

    python bench/updates.py [--updates 2000]

Each update is a resident pressing an offer button: callback → middlewares → database → edited
card, the Bot API answered in memory (bot.offline) so only our stack is measured. The anchor is a
bare aiogram Dispatcher whose one handler edits the message with a fixed card, run in the same
process on the same machine. Then the real `learncity run` process is started against a local
Bot API server to measure start-up to first poll and resident memory.

Then bench/scaling.py: the browse and search paths on PostgreSQL + Redis in one and in two bot
processes, and memory over `--memory-updates` synthetic updates (its docstring says how).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import psutil
from aiogram import Dispatcher, F
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scaling import PATHS, memory_soak, person, press, scaling
from bot.app import create_app
from bot.callbacks import ShowOffer
from bot.dispatcher import create_bot
from bot.offline import OfflineSession, OfflineTelegram
from bot.settings import load_settings
from catalogue.models import Offer
from catalogue.residents import get_or_create_resident, set_language
from tests.fake_bot_api import FakeBotApi

POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
USERS = 50


async def drive(
    dispatcher: Dispatcher, telegram: OfflineTelegram, datas: list[str], count: int
) -> float:
    """Updates per second for `count` presses spread over USERS residents."""
    bot = create_bot(load_settings(_env_file=None), OfflineSession(telegram))
    users = [person(500_000 + n) for n in range(USERS)]
    message_ids = {}
    for user in users:
        sent = telegram.answer("sendMessage", {"chat_id": user.id, "text": "start"})
        message_ids[user.id] = sent["message_id"]
    updates = [
        press(n, users[n % USERS], message_ids[users[n % USERS].id], datas[n % len(datas)])
        for n in range(1, count + 1)
    ]
    warm_up = [  # imports, statement caches, the connection pool; ids of their own, as the
        # bot drops an update_id it has seen (bot/dedupe.py)
        press(count + n, users[n % USERS], message_ids[users[n % USERS].id], datas[0])
        for n in range(1, 51)
    ]
    for update in warm_up:
        await dispatcher.feed_update(bot, update)
    started = time.perf_counter()
    for update in updates:
        await dispatcher.feed_update(bot, update)
    elapsed = time.perf_counter() - started
    await bot.session.close()
    return count / elapsed


# The anchor edits with a card of the same size and the same two buttons as ours, so both
# sides pay the same for Telegram's answer and only our own work differs.
BARE_CARD = "Gentle yoga for seniors\n" + "Chair and mat exercises for balance. " * 20
BARE_KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [
            InlineKeyboardButton(text="« Back", callback_data="trk:1:0"),
            InlineKeyboardButton(text="🏠 Menu", callback_data="nav:menu"),
        ]
    ]
)


def bare_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()
    counter = itertools.count()

    @dispatcher.callback_query(F.data.startswith("off:"))
    async def card(callback: CallbackQuery) -> None:
        text = f"{BARE_CARD}{next(counter)}"
        await callback.message.edit_text(text, reply_markup=BARE_KEYBOARD)
        await callback.answer()

    return dispatcher


async def full_stack_rate(database_url: str, count: int) -> float:
    # Flood control off: 50 residents pressing at hundreds of updates a second would be "slowed
    # down", and dropped updates would flatter the rate.
    settings = load_settings(
        database_url=database_url, default_locale="en", flood_limit=0, _env_file=None
    )
    app = await create_app(settings)
    async with app.session_maker.begin() as session:
        offer_ids = list(await session.scalars(select(Offer.id).order_by(Offer.id)))
        for n in range(USERS):
            resident = await get_or_create_resident(session, 500_000 + n, "en")
            await set_language(session, resident, "en")
    datas = [ShowOffer(offer_id=offer_id).pack() for offer_id in offer_ids]
    rate = await drive(app.dispatcher, OfflineTelegram(), datas, count)
    await app.close()
    return rate


async def with_postgres_database(run) -> float:
    name = f"learncity_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return await run(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def process_figures(command: list[str], database_url: str) -> dict[str, float]:
    """Start a bot process: seconds to its first getUpdates (first start, restart), RSS in MB."""
    figures: dict[str, float] = {}
    for label in ("first_start", "restart"):
        api = FakeBotApi()
        await api.start()
        environment = os.environ | {
            "BOT_TOKEN": "123456:bench",
            "BOT_API_URL": api.url,
            "DATABASE_URL": database_url,
        }
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *command, env=environment,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await api.wait_until(lambda api=api: api.polls > 0, timeout=60)
        figures[f"{label}_to_first_poll_s"] = round(api.first_poll_at - started, 3)
        for user in range(20):  # a little traffic, so memory is measured warm
            api.send_text(900 + user, "/start")
        await api.wait_until(lambda api=api: len(api.calls("sendMessage")) >= 20, timeout=30)
        figures[f"{label}_rss_mb"] = round(psutil.Process(process.pid).memory_info().rss / 2**20, 1)
        process.terminate()
        await process.wait()
        await api.stop()
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--scaling-updates", type=int, default=3000, help="per process and path")
    parser.add_argument("--memory-updates", type=int, default=1_000_000)
    arguments = parser.parse_args()
    count = arguments.updates

    bare = await drive(bare_dispatcher(), OfflineTelegram(), ["off:1"], count)
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
        sqlite = await full_stack_rate(sqlite_url, count)
        ours = [sys.executable, "-m", "bot", "run"]
        process = await process_figures(ours, f"sqlite+aiosqlite:///{folder}/process.sqlite3")
        bare_command = [sys.executable, str(Path(__file__).with_name("bare_bot.py"))]
        bare_process = await process_figures(bare_command, "")
    postgres = await with_postgres_database(lambda url: full_stack_rate(url, count))
    bare_again = await drive(bare_dispatcher(), OfflineTelegram(), ["off:1"], count)
    bare_rate = statistics.mean([bare, bare_again])

    print(f"{'path':<34}{'updates/s':>12}{'vs bare':>10}")
    print(f"{'bare aiogram handler (anchor)':<34}{bare_rate:>12.0f}{'1.00':>10}")
    for name, rate in [("full stack, SQLite", sqlite), ("full stack, PostgreSQL", postgres)]:
        print(f"{name:<34}{rate:>12.0f}{rate / bare_rate:>10.2f}")
    print(f"\n{'process':<34}{'ours':>12}{'bare':>10}")
    for key, value in process.items():
        print(f"{key:<34}{value:>12}{bare_process[key]:>10}")
    load_before = os.getloadavg()[0]
    scaled = await scaling(arguments.scaling_updates)
    memory = await memory_soak(arguments.memory_updates)
    print(f"\n{'PostgreSQL + Redis':<34}{'1 process':>12}{'2 processes':>12}{'2 vs 1':>8}")
    for path in PATHS:
        one, two = scaled[f"{path}_one_process_per_s"], scaled[f"{path}_two_processes_per_s"]
        print(f"{path:<34}{one:>12}{two:>12}{scaled[f'{path}_two_vs_one']:>8}")
    print(
        f"\nmemory over {memory['memory_updates']:,} updates: {memory['memory_rss_warm_mb']} MB "
        f"warm, {memory['memory_rss_end_mb']} MB at the end ({memory['memory_growth_pct']} %)"
    )
    print(
        json.dumps(
            {
                "updates": count,
                "bare_aiogram_per_s": round(bare_rate),
                "sqlite_per_s": round(sqlite),
                "postgres_per_s": round(postgres),
                "sqlite_ratio": round(sqlite / bare_rate, 3),
                "postgres_ratio": round(postgres / bare_rate, 3),
                **process,
                **{f"bare_{key}": value for key, value in bare_process.items()},
                "cores": os.cpu_count(),
                "load_before_scaling": round(load_before, 2),
                "scaling_updates": arguments.scaling_updates,
                **scaled,
                **memory,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
