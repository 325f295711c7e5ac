"""Telegram's redeliveries have no second effect; one flooding person is slowed, nobody else.

Each test runs with the state in this process's memory and in Redis (as several processes
share it), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiogram.types import Update
from redis.asyncio import Redis
from sqlalchemy import func
from sqlalchemy import select

from bot.middlewares.dedupe import MemoryUpdateLedger
from bot.middlewares.dedupe import RedisUpdateLedger
from bot.middlewares.flood import MemoryFloodCounter
from bot.middlewares.flood import RedisFloodCounter
from bot.middlewares.flood import Verdict
from bot.middlewares.guards import Dropped
from bot.settings import Settings
from bot.startup.app import App
from bot.startup.app import create_app
from bot.startup.offline_api import callback_update
from bot.startup.offline_api import message_update
from catalogue.models import Subscription
from tests.conftest import RedisSpace
from tests.resident_chat import ResidentChat

SLOW_DOWN = "You are sending messages very fast"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def shared_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "memory":
        return settings
    space: RedisSpace = request.getfixturevalue("redis_space")
    return space.settings(settings)


async def started_app(settings: Settings) -> App:
    if settings.database_url.startswith("postgresql"):
        from tests.conftest import _empty_postgres

        await _empty_postgres(settings.database_url)
    return await create_app(settings)


@pytest.fixture
async def guarded_app(shared_settings: Settings) -> AsyncIterator[App]:
    application = await started_app(shared_settings)
    yield application
    await application.close()


@pytest.fixture
async def flood_app(shared_settings: Settings) -> AsyncIterator[App]:
    application = await started_app(shared_settings.model_copy(update={"flood_limit": 5}))
    yield application
    await application.close()


async def feed(chat: ResidentChat, update: dict) -> object:
    await chat._feed(update)
    return chat.last_result


async def open_offer_card(chat: ResidentChat) -> None:
    await chat.send("/start")
    await chat.press("English")
    await chat.press("Seniors")
    await chat.press(chat.labels()[0].split(" (")[0])
    await chat.press("1.")


def remind_me_update(chat: ResidentChat, update_id: int) -> dict:
    card = chat.screen
    data = next(b["callback_data"] for b in card.buttons() if "Remind me" in b["text"])
    return callback_update(update_id, chat.user.id, card, data, "en")


# -- duplicates


async def test_a_redelivered_button_press_does_not_toggle_back(guarded_app: App, user_id) -> None:
    chat = ResidentChat(guarded_app, user_id)
    await open_offer_card(chat)
    press = remind_me_update(chat, update_id=900_001)

    assert await feed(chat, press) is not Dropped.DUPLICATE
    assert "going" in chat.screen.text
    answers = len(chat.calls("answerCallbackQuery"))
    # Telegram did not hear our answer in time and delivers the same update again.
    assert await feed(chat, press) is Dropped.DUPLICATE
    assert len(chat.calls("answerCallbackQuery")) == answers, "nothing was done the second time"
    assert "going" in chat.screen.text, "the reminder was not toggled off again"
    async with guarded_app.session_maker() as session:
        follows = await session.scalar(select(func.count()).select_from(Subscription))
    assert follows == 0, "a session reminder is a seat, not a follow"
    assert guarded_app.metrics.value("learncity_updates_dropped_total", reason="duplicate") == 1
    await chat.close()


async def test_a_redelivered_command_is_answered_once(guarded_app: App, user_id) -> None:
    chat = ResidentChat(guarded_app, user_id)
    start = message_update(900_002, user_id, 1, "/start", "en")
    await feed(chat, start)
    await feed(chat, start)
    await feed(chat, message_update(900_003, user_id, 2, "/start", "en"))
    assert len(chat.calls("sendMessage")) == 2
    await chat.close()


@pytest.mark.redis
async def test_two_processes_share_the_ledger(
    settings: Settings, redis_space: RedisSpace, user_id
) -> None:
    shared = redis_space.settings(settings)
    # (Routers join one dispatcher at a time: the second app is built after the first update.)
    first = await started_app(shared)
    start = message_update(900_004, user_id, 1, "/start", "en")
    chat = ResidentChat(first, user_id)
    assert await feed(chat, start) is not Dropped.DUPLICATE
    assert len(chat.calls("sendMessage")) == 1
    second = await create_app(shared)
    other = ResidentChat(second, user_id)
    assert await feed(other, start) is Dropped.DUPLICATE
    assert await feed(other, message_update(900_005, user_id, 2, "/start", "en")) is not (
        Dropped.DUPLICATE
    )
    assert len(other.calls("sendMessage")) == 1
    for application in (chat, other):
        await application.close()
    await first.close()
    await second.close()


async def test_the_memory_ledger_stays_bounded() -> None:
    ledger = MemoryUpdateLedger(capacity=3)
    assert [await ledger.first_time(n) for n in (1, 2, 1, 3, 4)] == [True, True, False, True, True]
    assert await ledger.first_time(4) is False
    assert await ledger.first_time(1) is True, "the oldest id was forgotten to stay small"


@pytest.mark.redis
async def test_the_redis_ledger_expires(redis_space: RedisSpace) -> None:
    redis = Redis.from_url(redis_space.url)
    ledger = RedisUpdateLedger(redis, redis_space.prefix, ttl=1)
    assert await ledger.first_time(7) is True
    assert await ledger.first_time(7) is False
    assert 0 < await redis.ttl(f"{redis_space.prefix}:update:7") <= 1
    await redis.aclose()


async def test_without_redis_a_broken_connection_lets_updates_through() -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    assert await RedisUpdateLedger(redis, "x").first_time(1) is True
    assert await RedisFloodCounter(redis, "x", limit=1).hit(1) is Verdict.PASS
    await redis.aclose()


# -- flood control


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def counter_space(request: pytest.FixtureRequest) -> RedisSpace | None:
    return None if request.param == "memory" else request.getfixturevalue("redis_space")


@pytest.fixture
async def counter_factory(counter_space: RedisSpace | None):
    redis = Redis.from_url(counter_space.url) if counter_space is not None else None

    def make(limit: int, clock: Clock):
        if redis is None or counter_space is None:
            return MemoryFloodCounter(limit, cooldown=30, clock=clock)
        # (The warning's cooldown is a Redis expiry: real seconds.)
        return RedisFloodCounter(redis, counter_space.prefix, limit, cooldown=30, clock=clock)

    yield make
    if redis is not None:
        await redis.aclose()


async def test_past_the_limit_one_warning_then_silence(counter_factory) -> None:
    clock = Clock()
    counter = counter_factory(3, clock)
    verdicts = [await counter.hit(1) for _ in range(6)]
    assert verdicts == [Verdict.PASS] * 3 + [Verdict.WARN, Verdict.DROP, Verdict.DROP]
    # Someone else is not affected.
    assert await counter.hit(2) is Verdict.PASS
    # The next second counts afresh; still no second warning within the cooldown.
    clock.now += 1
    verdicts = [await counter.hit(1) for _ in range(4)]
    assert verdicts == [Verdict.PASS] * 3 + [Verdict.DROP]


async def test_the_memory_counter_warns_again_after_the_cooldown() -> None:
    clock = Clock()
    counter = MemoryFloodCounter(1, cooldown=30, clock=clock)
    assert [await counter.hit(1) for _ in range(3)] == [Verdict.PASS, Verdict.WARN, Verdict.DROP]
    clock.now += 31
    assert [await counter.hit(1) for _ in range(2)] == [Verdict.PASS, Verdict.WARN]


async def test_a_flooding_resident_is_asked_once_to_slow_down(flood_app: App, user_id) -> None:
    flooder = ResidentChat(flood_app, user_id)
    other = ResidentChat(flood_app, user_id + 1)
    started = time.monotonic(), time.time()  # the memory counter's clock, Redis's
    results = []
    for n in range(30):
        await flooder._send("/menu")
        results.append(flooder.last_result)
        if n % 10 == 0:  # someone else writes in the middle of the flood
            await other._send("/menu")
            assert other.last_result is not Dropped.FLOOD
    ended = time.monotonic(), time.time()
    windows = max(int(end) - int(start) + 1 for start, end in zip(started, ended, strict=True))

    replies = [c.params["text"] for c in flooder.calls("sendMessage")]
    assert sum(SLOW_DOWN in text for text in replies) == 1
    handled = [r for r in results if r is not Dropped.FLOOD]
    assert 5 <= len(handled) <= 5 * windows
    assert len(other.calls("sendMessage")) == 3, "the other resident was answered every time"
    assert flood_app.metrics.value("learncity_updates_dropped_total", reason="flood") == 30 - len(
        handled
    )
    await flooder.close()
    await other.close()


async def test_slow_down_is_said_in_the_residents_language(flood_app: App, user_id) -> None:
    # Telegram's interface is English, but the resident chose Russian.
    chat = ResidentChat(flood_app, user_id, language_code="en")
    await chat.send("/start")
    await chat.press("Русский")

    def alerts() -> list[str]:
        return [
            c.params.get("text", "")
            for c in chat.calls("answerCallbackQuery")
            if c.params.get("show_alert") in (True, "true")
        ]

    for _ in range(20):  # button presses at machine speed
        await chat._press(chat.screen, "nav:menu")
    warnings = [text for text in alerts() if "очень быстро" in text]
    assert len(warnings) == 1, alerts()
    every_answer = [c.params.get("text", "") for c in chat.calls("answerCallbackQuery")]
    assert not [text for text in every_answer if SLOW_DOWN in text]
    await chat.close()


async def test_every_dropped_press_is_answered_once(flood_app: App, user_id) -> None:
    """Issue 15, item 6: a press flood control drops still stops its spinner, with the hint."""
    chat = ResidentChat(flood_app, user_id)
    await chat.send("/menu")
    presses = [
        callback_update(910_000 + n, user_id, chat.screen, "nav:menu", "en") for n in range(12)
    ]
    results = [await feed(chat, press) for press in presses]
    dropped = {
        press["callback_query"]["id"]
        for press, result in zip(presses, results, strict=True)
        if result is Dropped.FLOOD
    }
    assert dropped, "some presses were over the limit"
    answers = [c.params for c in chat.calls("answerCallbackQuery")]
    answered = [a["callback_query_id"] for a in answers]
    for query_id in [p["callback_query"]["id"] for p in presses]:
        assert answered.count(query_id) == 1, "every press answered exactly once"
    hints = [a for a in answers if a["callback_query_id"] in dropped]
    assert all(SLOW_DOWN in a.get("text", "") for a in hints)
    assert sum(a.get("show_alert") in (True, "true") for a in hints) == 1, "one alert, then toasts"
    await chat.close()


async def test_flooding_with_updates_for_the_dispatcher_directly(flood_app: App, user_id) -> None:
    """Updates without a sender (a channel post) are never counted."""
    chat = ResidentChat(flood_app, user_id)
    post = {
        "update_id": 900_100,
        "channel_post": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": -100123, "type": "channel", "title": "News"},
            "text": "hello",
        },
    }
    for n in range(10):
        update = Update.model_validate(post | {"update_id": 900_100 + n}, context={"bot": chat.bot})
        result = await flood_app.dispatcher.feed_update(chat.bot, update)
        assert result is not Dropped.FLOOD
    await chat.close()


async def test_fsm_memory_holds_only_people_in_a_form() -> None:
    from aiogram.fsm.storage.base import StorageKey

    from bot.startup.shared_state import LeanMemoryStorage

    storage = LeanMemoryStorage()
    keys = [StorageKey(bot_id=1, chat_id=n, user_id=n) for n in range(1000)]
    for key in keys:  # everyone writes once: the FSM middleware reads their state
        assert await storage.get_state(key) is None
        assert await storage.get_data(key) == {}
    assert len(storage.storage) == 0
    await storage.set_state(keys[0], "Form:title")
    await storage.set_data(keys[0], {"draft": 1})
    assert await storage.get_value(keys[0], "draft") == 1
    assert len(storage.storage) == 1
    await storage.set_state(keys[0], None)
    await storage.set_data(keys[0], {})
    assert len(storage.storage) == 0, "a finished form leaves nothing behind"


# -- through the real bot process (issue 15, item 6)


@pytest.mark.e2e
async def test_the_real_bot_answers_every_dropped_press_once(tmp_path) -> None:
    """`learncity run` against the fake Bot API: a burst of presses over `FLOOD_LIMIT`; every
    press Telegram delivered gets exactly one answerCallbackQuery, the dropped ones the hint."""
    import asyncio
    import os
    import sys

    from tests.fake_bot_api import FakeBotApi

    bot_api = FakeBotApi()
    await bot_api.start()
    environment = os.environ | {
        "BOT_TOKEN": "123456:flood-e2e-token",
        "BOT_API_URL": bot_api.url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'flood.sqlite3'}",
        "DEFAULT_LOCALE": "en",
        "FLOOD_LIMIT": "3",
        "LOAD_DEMO": "false",
    }
    environment.pop("REDIS_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=environment, stderr=asyncio.subprocess.PIPE
    )
    resident = 4545
    try:
        await bot_api.wait_until(lambda: bot_api.polls > 0, timeout=120)
        bot_api.send_text(resident, "/start")
        await bot_api.wait_until(lambda: "Choose your language" in bot_api.screen(resident))
        first = max(bot_api.delivered) + 1
        for _ in range(12):  # faster than any thumb: one batch of getUpdates
            bot_api.press(resident, "English")
        pressed = {str(update_id) for update_id in range(first, first + 12)}

        def answers() -> list[dict]:
            return [
                c.params
                for c in bot_api.calls("answerCallbackQuery")
                if c.params.get("callback_query_id") in pressed
            ]

        await bot_api.wait_until(lambda: len(answers()) >= 12, timeout=60)
        await asyncio.sleep(0.5)  # a second answer to any press would have arrived by now
        answered = [a["callback_query_id"] for a in answers()]
        assert sorted(answered) == sorted(pressed), "each press answered exactly once"
        hints = [a for a in answers() if SLOW_DOWN in a.get("text", "")]
        assert len(hints) >= 12 - 3 * 2, "the presses over the limit got the hint"
        assert sum(a.get("show_alert") == "true" for a in hints) == 1, "one alert, then toasts"
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 30)
        await bot_api.stop()
    stderr = (await process.stderr.read()).decode() if process.stderr else ""
    assert "Traceback" not in stderr, stderr
