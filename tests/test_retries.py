"""Telegram stumbles (5xx, broken connections, 429) and the bot's replies still arrive.

The Bot API is a real local HTTP server (tests/fake_bot_api.py) told to fail the next
requests; the retrying is aiogram's session middleware from bot/startup/retries.py.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.exceptions import TelegramRetryAfter
from aiogram.exceptions import TelegramServerError
from aiogram.types import Update

from bot.settings import Settings
from bot.settings import load_settings
from bot.startup.app import App
from bot.startup.app import create_reply_bot
from bot.startup.app import prepare_to_run
from bot.startup.dispatcher import create_bot
from bot.startup.metrics import Metrics
from bot.startup.metrics import RequestMetrics
from bot.startup.offline_api import BotApiError
from bot.startup.offline_api import OfflineSession
from bot.startup.offline_api import OfflineTelegram
from bot.startup.offline_api import message_update
from bot.startup.retries import RetryRequests
from tests.fake_bot_api import FakeBotApi

CHAT = 4343


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


def api_settings(url: str) -> Settings:
    return load_settings(bot_token="123456:retry-test", bot_api_url=url, _env_file=None)


@pytest.fixture
async def quick_bot(bot_api: FakeBotApi) -> AsyncIterator[tuple[Bot, Metrics]]:
    """The reply bot's middlewares, with back-off shortened so the test stays quick."""
    metrics = Metrics()
    bot = create_bot(api_settings(bot_api.url))
    bot.session.middleware(
        RetryRequests(backoff_base=0.01, on_retry=lambda r: metrics.retries.labels(r).inc())
    )
    bot.session.middleware(RequestMetrics(metrics, "replies"))
    yield bot, metrics
    await bot.session.close()


def server_error() -> BotApiError:
    return BotApiError(502, "Bad Gateway")


async def test_server_errors_are_retried_until_telegram_answers(bot_api, quick_bot) -> None:
    bot, metrics = quick_bot
    bot_api.telegram.next_errors = [server_error(), BotApiError(500, "Internal Server Error")]
    sent = await bot.send_message(CHAT, "Hello")
    assert sent.text == "Hello"
    assert len(bot_api.calls("sendMessage")) == 3
    assert len(bot_api.telegram.accepted()) == 1
    assert metrics.value("learncity_telegram_retries_total", reason="5xx") == 2
    assert metrics.value("learncity_telegram_requests_total", sender="replies", outcome="5xx") == 2
    assert metrics.value("learncity_telegram_requests_total", sender="replies", outcome="ok") == 1


async def test_a_broken_connection_is_retried(bot_api, quick_bot) -> None:
    bot, metrics = quick_bot
    bot_api.drop_sends = 1
    sent = await bot.send_message(CHAT, "Hello again")
    assert sent.text == "Hello again"
    assert metrics.value("learncity_telegram_retries_total", reason="network") == 1


async def test_too_many_requests_waits_as_long_as_telegram_asks(bot_api, quick_bot) -> None:
    bot, metrics = quick_bot
    bot_api.telegram.next_errors = [BotApiError(429, "Too Many Requests: retry after 1", 1)]
    started = time.monotonic()
    await bot.send_message(CHAT, "Patience")
    assert time.monotonic() - started >= 0.9
    assert len(bot_api.telegram.accepted()) == 1
    assert metrics.value("learncity_telegram_rate_limited_total", sender="replies") == 1
    assert metrics.value("learncity_telegram_retries_total", reason="429") == 1


async def test_a_long_retry_after_is_not_waited_for(bot_api, quick_bot) -> None:
    bot, _ = quick_bot
    bot_api.telegram.next_errors = [BotApiError(429, "Too Many Requests: retry after 600", 600)]
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(CHAT, "Too late anyway")


async def test_refusals_are_not_retried(bot_api, quick_bot) -> None:
    bot, metrics = quick_bot
    bot_api.telegram.missing_chats.add(CHAT)
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(CHAT, "Nobody there")
    assert len(bot_api.calls("sendMessage")) == 1
    assert metrics.value("learncity_telegram_requests_total", sender="replies", outcome="refused")


async def test_the_retries_end(bot_api, quick_bot) -> None:
    bot, _ = quick_bot
    bot_api.telegram.next_errors = [server_error() for _ in range(10)]
    with pytest.raises(TelegramServerError):
        await bot.send_message(CHAT, "Down for good")
    assert len(bot_api.calls("sendMessage")) == 4


async def test_the_production_reply_bot_retries(bot_api) -> None:
    metrics = Metrics()
    bot = create_reply_bot(api_settings(bot_api.url), metrics)
    bot_api.telegram.next_errors = [server_error()]
    await bot.send_message(CHAT, "Made it")
    assert len(bot_api.telegram.accepted()) == 1
    await bot.session.close()


async def test_a_resident_gets_the_menu_through_a_bad_gateway(app: App, user_id: int) -> None:
    telegram = OfflineTelegram()
    bot = create_bot(app.settings, OfflineSession(telegram))
    bot.session.middleware(RetryRequests(backoff_base=0.01))
    telegram.next_errors = [server_error()]
    update = Update.model_validate(
        message_update(1, user_id, 1, "/start", "en"), context={"bot": bot}
    )
    await app.dispatcher.feed_update(bot, update)
    assert "Choose your language" in telegram.last_bot_message(user_id).text
    await bot.session.close()


async def test_bulk_sends_are_left_to_the_outbox_limiter(app: App, bot_api) -> None:
    """Only the bot that answers updates retries; the outbox's Delivery must see every 429."""
    app.settings = app.settings.model_copy(update={"bot_api_url": bot_api.url})
    running = prepare_to_run(app)
    assert any(isinstance(m, RetryRequests) for m in running.bot.session.middleware)
    assert not any(isinstance(m, RetryRequests) for m in running.outbox_bot.session.middleware)
    assert running.outbox.delivery.bot is running.outbox_bot
    bot_api.telegram.next_errors = [BotApiError(429, "Too Many Requests: retry after 1", 1)]
    result = await running.outbox.delivery.send(CHAT, _outgoing("Reminder"), deadline=None)
    assert result.status.value == "sent"
    assert running.outbox.delivery.stats.rate_limited == 1, "Delivery saw the 429 itself"
    assert app.metrics.value("learncity_telegram_rate_limited_total", sender="outbox") == 1
    await running.close()


def _outgoing(text: str):
    from scheduler.delivery import Outgoing

    return Outgoing(text)
