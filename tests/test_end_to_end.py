"""The real `learncity run` process against a local Bot API server over HTTP.

Every test runs twice: long polling (`learncity run`) and webhook mode (`learncity run
--webhook`, the server posting each update to the bot with the secret header).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator

import pytest

from tests.fake_bot_api import FakeBotApi

pytestmark = pytest.mark.e2e
RESIDENT = 4242
ORGANISER = 4343  # an administrator, who may also broadcast


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def webhook_environment(port: int) -> dict[str, str]:
    return {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
        "WEBHOOK_SECRET": "e2e-secret",
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "LOG_FORMAT": "json",
    }


@pytest.fixture(params=["polling", "webhook"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def running_bot(
    bot_api: FakeBotApi, database_url: str, mode: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    environment = os.environ | {
        "BOT_TOKEN": "123456:e2e-test-token",
        "BOT_API_URL": bot_api.url,
        "DATABASE_URL": database_url,
        "CITY_TIMEZONE": "Asia/Yekaterinburg",
        "DEFAULT_LOCALE": "en",
        "ADMIN_IDS": str(ORGANISER),
        "FLOOD_LIMIT": "30",
    }
    arguments = ["run"]
    if mode == "webhook":
        environment |= webhook_environment(free_port())
        arguments.append("--webhook")
    if database_url.startswith("postgresql"):
        from tests.conftest import _empty_postgres

        await _empty_postgres(database_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *arguments, env=environment, stderr=asyncio.subprocess.PIPE
    )
    if mode == "webhook":
        await bot_api.wait_until(lambda: bot_api.webhook_url is not None, timeout=120)
    else:
        await bot_api.wait_until(lambda: bot_api.polls > 0, timeout=120)
    yield process
    if process.returncode is None:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)
    assert process.returncode == 0, "a stopping bot exits cleanly"
    stderr = (await process.stderr.read()).decode() if process.stderr else ""
    assert "Traceback" not in stderr, stderr
    if mode == "webhook":
        lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
        assert all({"event", "level", "timestamp", "logger"} <= line.keys() for line in lines)
        assert not [line for line in lines if line["level"] in ("error", "critical")], stderr
        assert all(status == 200 for status in bot_api.webhook_answers)


async def test_resident_walks_to_an_offer_card(bot_api: FakeBotApi, running_bot) -> None:
    # Published beside the first poll, not before it.
    await bot_api.wait_until(lambda: len(bot_api.calls("setMyCommands")) >= 3)
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


def said(bot_api: FakeBotApi, chat_id: int, text: str) -> bool:
    return any(text in m.text for m in bot_api.telegram.chat_messages(chat_id) if m.from_bot)


async def test_organiser_broadcast_reaches_residents(bot_api: FakeBotApi, running_bot) -> None:
    residents = [RESIDENT, RESIDENT + 1]
    for resident in residents:
        bot_api.send_text(resident, "/start")
        await bot_api.wait_until(lambda r=resident: "Choose your language" in bot_api.screen(r))
        bot_api.press(resident, "English")
        await bot_api.wait_until(lambda r=resident: "Who are you?" in bot_api.screen(r))

    bot_api.send_text(ORGANISER, "/broadcast")
    await bot_api.wait_until(lambda: "New announcement" in bot_api.screen(ORGANISER))
    bot_api.send_text(ORGANISER, "Festival opens on Saturday!")
    await bot_api.wait_until(lambda: "Who should receive it?" in bot_api.screen(ORGANISER))
    for label, expected in [
        ("Everyone", "It will reach"),
        ("Preview", "exactly what residents will see"),
        ("Send now", "Send the announcement to"),
    ]:
        bot_api.press(ORGANISER, label)
        await bot_api.wait_until(lambda expected=expected: expected in bot_api.screen(ORGANISER))
    bot_api.press(ORGANISER, "Confirm")
    for resident in residents:
        await bot_api.wait_until(
            lambda r=resident: said(bot_api, r, "Festival opens on Saturday!"), timeout=120
        )
    await bot_api.wait_until(lambda: said(bot_api, ORGANISER, "Delivered:"), timeout=120)
    for resident in residents:
        got = [m for m in bot_api.telegram.chat_messages(resident) if "Festival" in m.text]
        assert len(got) == 1, "each resident got the announcement once"


async def test_volunteer_checks_a_resident_in(
    bot_api: FakeBotApi, running_bot, database_url
) -> None:
    """The organiser (an administrator, who may do what volunteers do) checks a resident in to
    a session happening now, by the code of the resident's pass."""
    from types import SimpleNamespace

    from sqlalchemy import func
    from sqlalchemy import select

    from catalogue.checkin.tables import CheckIn
    from catalogue.database import create_engine
    from catalogue.database import create_session_maker
    from tests.checkin_world import CODE
    from tests.checkin_world import session_now

    bot_api.send_text(RESIDENT, "/start")
    await bot_api.wait_until(lambda: "Choose your language" in bot_api.screen(RESIDENT))
    bot_api.press(RESIDENT, "English")
    await bot_api.wait_until(lambda: "Who are you?" in bot_api.screen(RESIDENT))
    bot_api.send_text(RESIDENT, "/pass")
    await bot_api.wait_until(lambda: CODE.search(bot_api.screen(RESIDENT)) is not None)
    code = CODE.search(bot_api.screen(RESIDENT)).group(1)

    engine = create_engine(database_url)
    world = SimpleNamespace(session_maker=create_session_maker(engine))
    made = await session_now(world)  # type: ignore[arg-type]
    session_id = made.session_ids[0]

    bot_api.send_text(ORGANISER, f"/checkin {session_id}")
    await bot_api.wait_until(lambda: "Checking in" in bot_api.screen(ORGANISER))
    bot_api.send_text(ORGANISER, code)
    await bot_api.wait_until(lambda: code in bot_api.screen(ORGANISER))
    assert "checked in as a walk-in" in bot_api.screen(ORGANISER), "no seat was taken: a walk-in"
    # Committed before the answer left (bot/middlewares.CommitBeforeSending): no waiting.
    async with world.session_maker() as session:
        checked = await session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.session_id == session_id)
        )
    await engine.dispose()
    assert checked == 1
