"""The real `learncity run` process, long polling a local Bot API server over HTTP."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator

import pytest

from tests.fake_bot_api import FakeBotApi

pytestmark = pytest.mark.e2e
RESIDENT = 4242


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def running_bot(
    bot_api: FakeBotApi, database_url: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    environment = os.environ | {
        "BOT_TOKEN": "123456:e2e-test-token",
        "BOT_API_URL": bot_api.url,
        "DATABASE_URL": database_url,
        "CITY_TIMEZONE": "Asia/Yekaterinburg",
        "DEFAULT_LOCALE": "en",
    }
    if database_url.startswith("postgresql"):
        from tests.conftest import _empty_postgres

        await _empty_postgres(database_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=environment, stderr=asyncio.subprocess.PIPE
    )
    yield process
    if process.returncode is None:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)
    stderr = (await process.stderr.read()).decode() if process.stderr else ""
    assert "Traceback" not in stderr, stderr


async def test_resident_walks_to_an_offer_card(bot_api: FakeBotApi, running_bot) -> None:
    await bot_api.wait_until(lambda: bot_api.polls > 0, timeout=30)
    assert bot_api.calls("setMyCommands"), "the command menu is published on start"
    languages = {call.params.get("language_code") for call in bot_api.calls("setMyCommands")}
    assert {"en", "ru"} <= languages

    bot_api.send_text(RESIDENT, "/start")
    await bot_api.wait_until(lambda: "Choose your language" in bot_api.screen(RESIDENT))
    for label, expected in [
        ("English", "Who are you?"),
        ("Seniors", "learning track"),
        ("(", "Upcoming:"),
        ("1.", "Next sessions:"),
    ]:
        bot_api.press(RESIDENT, label)
        await bot_api.wait_until(lambda expected=expected: expected in bot_api.screen(RESIDENT))
    assert len(bot_api.calls("sendMessage")) == 1
    assert len(bot_api.calls("editMessageText")) == 4
