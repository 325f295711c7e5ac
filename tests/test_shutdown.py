"""Stopping the real process (SIGTERM, as a deploy does) lets the update in hand finish.

The local Bot API answers slowly, so the bot is still waiting for Telegram to accept its reply
when it is told to stop; the reply must still arrive and the process must exit cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator

import pytest

from tests.fake_bot_api import FakeBotApi
from tests.test_end_to_end import free_port
from tests.test_end_to_end import webhook_environment

pytestmark = pytest.mark.e2e
RESIDENT = 4343


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_an_update_in_hand_is_finished_before_the_process_stops(
    bot_api: FakeBotApi, tmp_path, mode: str
) -> None:
    environment = os.environ | {
        "BOT_TOKEN": "123456:shutdown-test",
        "BOT_API_URL": bot_api.url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
        "DEFAULT_LOCALE": "en",
        "LOAD_DEMO": "false",
    }
    arguments = ["run"]
    if mode == "webhook":
        environment |= webhook_environment(free_port())
        arguments.append("--webhook")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *arguments, env=environment, stderr=asyncio.subprocess.PIPE
    )
    try:
        ready = (
            (lambda: bot_api.webhook_url is not None)
            if mode == "webhook"
            else (lambda: bot_api.polls > 0)
        )
        await bot_api.wait_until(ready, timeout=180)
        bot_api.reply_delay = 2.0
        bot_api.send_text(RESIDENT, "/start")
        await bot_api.wait_until(lambda: bot_api.replies_started > 0)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stderr = (await process.stderr.read()).decode() if process.stderr else ""
    assert "Traceback" not in stderr, stderr
    assert "Choose your language" in bot_api.screen(RESIDENT), "the reply went out"
