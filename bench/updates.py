"""Browse-path throughput through the full stack, beside a bare aiogram handler.

    python bench/updates.py [--updates 2000]

Each update is a resident pressing an offer button: callback → middlewares → database → edited
card, the Bot API answered in memory (bot.startup.offline_api) so only our stack is measured.
The anchor is a
bare aiogram Dispatcher whose one handler edits the message with the very card ours shows for
that button (rendered beforehand), run in the same process on the same machine; the earlier
anchor, a fixed two-button card, is printed beside it. Then the real `learncity run` process is
started against a local Bot API server to measure start-up to first poll and resident memory.

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
from collections.abc import Callable
from pathlib import Path

import psutil
from aiogram import Bot
from aiogram import Dispatcher
from aiogram import F
from aiogram.client.default import DefaultBotProperties
from aiogram.types import CallbackQuery
from aiogram.types import InlineKeyboardButton
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_database
from bench.scaling import PATHS
from bench.scaling import memory_soak
from bench.scaling import person
from bench.scaling import press
from bench.scaling import scaling
from bot.callbacks.browse import Navigate
from bot.callbacks.browse import Screen
from bot.callbacks.browse import ShowOffer
from bot.screens.view import Viewer
from bot.settings import load_settings
from bot.startup.app import create_app
from bot.startup.dispatcher import OFFLINE_TOKEN
from bot.startup.dispatcher import create_bot
from bot.startup.offline_api import OfflineSession
from bot.startup.offline_api import OfflineTelegram
from catalogue.models import Offer
from catalogue.residents import get_or_create_resident
from catalogue.residents import set_language
from tests.fake_bot_api import FakeBotApi

USERS = 50


async def drive(dispatcher: Dispatcher, bot: Bot, datas: list[str], count: int) -> float:
    """Updates per second for `count` presses spread over USERS residents."""
    telegram = bot.session.telegram
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
        # bot drops an update_id it has seen (bot/middlewares/dedupe.py)
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


# Sessions 1–3's anchor: one fixed card of the same size as ours with two buttons. Kept for
# comparison; ours has a button per session and follow buttons besides, and aiogram reads every
# button back from Telegram's answer, so this anchor pays less for the same edit.
FIXED_CARD = "Gentle yoga for seniors\n" + "Chair and mat exercises for balance. " * 20
FIXED_KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [
            InlineKeyboardButton(text="« Back", callback_data="trk:1:0"),
            InlineKeyboardButton(text="🏠 Menu", callback_data="nav:menu"),
        ]
    ]
)
CardFor = Callable[[str], tuple[str, InlineKeyboardMarkup | None]]


def offline_bot(*, ours: bool) -> Bot:
    """Our bot (its Bot API middleware included), or aiogram's own for the anchor."""
    session = OfflineSession(OfflineTelegram())
    if ours:
        return create_bot(load_settings(_env_file=None), session)
    return Bot(OFFLINE_TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))


def bare_dispatcher(card_for: CardFor) -> Dispatcher:
    """aiogram with one handler: the edit `card_for` gives for the pressed button."""
    dispatcher = Dispatcher()

    @dispatcher.callback_query(F.data.startswith("off:"))
    async def card(callback: CallbackQuery) -> None:
        text, markup = card_for(callback.data)
        await callback.message.edit_text(text, reply_markup=markup)
        await callback.answer()

    return dispatcher


def fixed_card() -> CardFor:
    counter = itertools.count()  # a new text each time: Telegram refuses an edit to the same
    return lambda _data: (f"{FIXED_CARD}{next(counter)}", FIXED_KEYBOARD)


async def our_cards(database_url: str) -> tuple[list[str], CardFor]:
    """Every offer button and the very card our bot shows for it: the anchor sends the same
    edits, so both sides pay the same for Telegram's answer and only our own work differs."""
    app = await create_app(load_settings(database_url=database_url, _env_file=None))
    cards: dict[str, tuple[str, InlineKeyboardMarkup | None]] = {}
    with app.i18n.context(), app.i18n.use_locale("en"):
        async with app.session_maker() as session:
            resident = await get_or_create_resident(session, 500_000, "en")
            viewer = Viewer.of(resident, app.settings.city_zone)
            for offer_id in await session.scalars(select(Offer.id).order_by(Offer.id)):
                data = ShowOffer(offer_id=offer_id)
                view = await app.dispatcher["offer_cards"].view(
                    session, resident, viewer, offer_id, Navigate(to=Screen.MENU)
                )
                cards[data.pack()] = (view.text, view.markup)
    await app.close()
    return list(cards), cards.__getitem__


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
    rate = await drive(app.dispatcher, offline_bot(ours=True), datas, count)
    await app.close()
    return rate


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

    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
        datas, same_cards = await our_cards(sqlite_url)
        bare = await drive(bare_dispatcher(same_cards), offline_bot(ours=False), datas, count)
        fixed = await drive(bare_dispatcher(fixed_card()), offline_bot(ours=False), datas, count)
        sqlite = await full_stack_rate(sqlite_url, count)
        ours = [sys.executable, "-m", "bot", "run"]
        process = await process_figures(ours, f"sqlite+aiosqlite:///{folder}/process.sqlite3")
        bare_command = [sys.executable, str(Path(__file__).with_name("bare_bot.py"))]
        bare_process = await process_figures(bare_command, "")
        async with scratch_database() as url:
            postgres = await full_stack_rate(url, count)
        bare_again = await drive(bare_dispatcher(same_cards), offline_bot(ours=False), datas, count)
        fixed_again = await drive(
            bare_dispatcher(fixed_card()), offline_bot(ours=False), datas, count
        )
    bare_rate, fixed_rate = (
        statistics.mean([bare, bare_again]),
        statistics.mean([fixed, fixed_again]),
    )

    print(f"{'path':<40}{'updates/s':>12}{'vs bare':>10}{'vs fixed':>10}")
    for name, rate in [
        ("bare aiogram, our cards (anchor)", bare_rate),
        ("bare aiogram, a fixed two-button card", fixed_rate),
        ("full stack, SQLite", sqlite),
        ("full stack, PostgreSQL", postgres),
    ]:
        print(f"{name:<40}{rate:>12.0f}{rate / bare_rate:>10.2f}{rate / fixed_rate:>10.2f}")
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
                "bare_fixed_card_per_s": round(fixed_rate),
                "sqlite_per_s": round(sqlite),
                "postgres_per_s": round(postgres),
                "sqlite_ratio": round(sqlite / bare_rate, 3),
                "postgres_ratio": round(postgres / bare_rate, 3),
                "sqlite_ratio_vs_fixed_card": round(sqlite / fixed_rate, 3),
                "postgres_ratio_vs_fixed_card": round(postgres / fixed_rate, 3),
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
