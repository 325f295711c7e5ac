"""Pause and Cancel of a broadcast are exact, tried through the real `learncity run` process
against a local Bot API server, as an organiser would: once the press is answered, no further
message of the broadcast reaches Telegram, and the final report counts exactly what Telegram
accepted (issue 15, item 1).

Telegram answers every send after a delay here, so messages are in flight when the press
comes: those count as delivered; nothing the sender had not yet handed over goes out.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys

import pytest

from bot.settings import load_settings
from bot.startup.app import create_app
from catalogue.models import Resident
from tests.fake_bot_api import FakeBotApi

pytestmark = pytest.mark.e2e

ORGANISER = 931_001
FIRST = 710_000
RESIDENTS = 10
TEXT = "Lanterns parade moves to the embankment"
CALM = 2.5  # seconds of watching that nothing more arrives after a press is answered


async def seed(database_url: str) -> None:
    if database_url.startswith("postgresql"):
        from tests.conftest import _empty_postgres

        await _empty_postgres(database_url)
    app = await create_app(
        load_settings(database_url=database_url, load_demo=False, _env_file=None)
    )
    async with app.session_maker.begin() as session:
        session.add_all(
            Resident(telegram_id=FIRST + n, language="en", language_chosen=True)
            for n in range(RESIDENTS)
        )
    await app.close()


def resident_sends(api: FakeBotApi) -> list[int]:
    """Indexes (in the order Telegram accepted them) of the announcement as sent to its
    audience: everyone, the organiser included (who is a resident too), after Confirm (the
    preview before it went to the organiser alone)."""
    confirmed = answer_index(api, "Sending has started")
    if confirmed is None:
        return []
    return [
        index
        for index, call in enumerate(api.telegram.calls)
        if index > confirmed
        and call.method == "sendMessage"
        and call.ok
        and call.params.get("text") == TEXT
    ]


def answer_index(api: FakeBotApi, words: str) -> int | None:
    for index, call in enumerate(api.telegram.calls):
        if call.method == "answerCallbackQuery" and words in str(call.params.get("text")):
            return index
    return None


async def answered(api: FakeBotApi, words: str) -> int:
    await api.wait_until(lambda: answer_index(api, words) is not None, timeout=60)
    index = answer_index(api, words)
    assert index is not None
    return index


async def test_pause_and_cancel_hold_from_the_moment_they_are_answered(
    database_url: str,
) -> None:
    await seed(database_url)
    api = FakeBotApi()
    await api.start()
    api.reply_delay = 0.3  # every send is in flight a while: a press lands among them
    environment = os.environ | {
        "BOT_TOKEN": "123456:promises-test",
        "BOT_API_URL": api.url,
        "DATABASE_URL": database_url,
        "ADMIN_IDS": str(ORGANISER),
        "DEFAULT_LOCALE": "en",
        "OUTBOUND_RATE": "3",
        "LOAD_DEMO": "false",
        "REDIS_URL": "",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=environment, stderr=asyncio.subprocess.PIPE
    )
    try:
        await api.wait_until(lambda: api.polls > 0, timeout=120)
        api.send_text(ORGANISER, "/broadcast")
        await api.wait_until(lambda: "New announcement" in api.screen(ORGANISER))
        api.send_text(ORGANISER, TEXT)
        await api.wait_until(lambda: "Who should receive it?" in api.screen(ORGANISER))
        for label, expected in [
            ("Everyone", "It will reach"),
            ("Preview", "exactly what residents will see"),
            ("Send now", "Send the announcement to"),
        ]:
            api.press(ORGANISER, label)
            await api.wait_until(lambda expected=expected: expected in api.screen(ORGANISER))
        api.press(ORGANISER, "Confirm")

        await api.wait_until(lambda: len(resident_sends(api)) >= 2, timeout=60)
        api.press(ORGANISER, "Pause")
        paused_at = await answered(api, "Paused")
        await asyncio.sleep(CALM)
        after_pause = [index for index in resident_sends(api) if index > paused_at]
        assert after_pause == [], "nothing reaches Telegram once Pause is answered"
        screen = api.screen(ORGANISER)
        assert "paused" in screen, "the progress message stays paused"
        assert "Resume" in str(api.telegram.last_bot_message(ORGANISER).reply_markup)
        held = len(resident_sends(api))
        assert held < RESIDENTS + 1  # the organiser is in the audience too

        api.press(ORGANISER, "Resume")
        await answered(api, "Sending again")
        await api.wait_until(lambda: len(resident_sends(api)) >= held + 2, timeout=60)
        api.press(ORGANISER, "Cancel")
        cancelled_at = await answered(api, "Cancelled")
        await asyncio.sleep(CALM)
        after_cancel = [index for index in resident_sends(api) if index > cancelled_at]
        assert after_cancel == [], "nothing reaches Telegram once Cancel is answered"

        await api.wait_until(lambda: "was cancelled" in api.screen(ORGANISER), timeout=60)
        delivered = len(resident_sends(api))
        assert delivered < RESIDENTS + 1, "the cancel came in the middle"
        report = api.screen(ORGANISER)
        sends = [
            (call.method, call.params.get("chat_id"), call.ok)
            for call in api.telegram.calls
            if call.method.startswith("send") or call.method == "answerCallbackQuery"
        ]
        assert re.search(rf"Delivered: {delivered}\b", report), (report, sends)
        chats = [int(api.telegram.calls[index].params["chat_id"]) for index in resident_sends(api)]
        assert len(chats) == len(set(chats)), "nobody got it twice"
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)
        stderr = (await process.stderr.read()).decode() if process.stderr else ""
        await api.stop()
    assert "Traceback" not in stderr, stderr
