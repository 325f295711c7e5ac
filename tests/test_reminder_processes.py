"""Two real `learncity run` processes share one PostgreSQL and its due reminders.

Each reminder must reach its resident exactly once while both processes claim from the same
table, also when one of them is restarted in the middle (SIGTERM, as a redeploy does). A hard
crash (SIGKILL) loses nothing: what the dead process held is taken over when its lease ends.
Telegram is the local Bot API server over HTTP; the processes tell it apart by their tokens.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from bot.settings import load_settings
from bot.startup.app import create_app
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from catalogue.seats import subscribe_to_session
from scheduler.outcomes import unrecorded_limit
from tests.conftest import _empty_postgres
from tests.fake_bot_api import FakeBotApi
from tests.reminder_world import make_offer

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

RESIDENTS = 160
FIRST_CHAT = 800_000


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def due_reminders(postgres_url: str) -> str:
    """RESIDENTS residents going to a session in an hour, each with a reminder due now."""
    await _empty_postgres(postgres_url)
    settings = load_settings(
        database_url=postgres_url, load_demo=False, default_locale="en", _env_file=None
    )
    app = await create_app(settings)
    starts = utc_now() + timedelta(hours=2)
    made = await make_offer(app, [starts], title="Community choir")
    async with app.session_maker.begin() as session:
        residents = [
            Resident(telegram_id=FIRST_CHAT + n, language="en", reminder_offsets=[60])
            for n in range(RESIDENTS)
        ]
        session.add_all(residents)
        await session.flush()
        for resident in residents:
            await subscribe_to_session(
                session, resident, made.session_ids[0], utc_now(), settings.city_zone
            )
    async with app.session_maker.begin() as session:  # an hour passes: they are all due
        await session.execute(update(OutboxMessage).values(due_at=utc_now()))
    await app.close()
    return postgres_url


class BotProcess:
    def __init__(self, token: str, api_url: str, database_url: str, log: Path, **env: str):
        self.token, self.log = token, log
        self.environment = os.environ | {
            "BOT_TOKEN": token,
            "BOT_API_URL": api_url,
            "DATABASE_URL": database_url,
            "LOAD_DEMO": "false",
            "DEFAULT_LOCALE": "en",
            "OUTBOUND_RATE": "25",
            **env,
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=self.environment, stderr=log
            )

    async def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(how)
            await asyncio.wait_for(self.process.wait(), 30)


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator:
    started: list[BotProcess] = []

    async def start(token: str, api: FakeBotApi, database_url: str, **env: str) -> BotProcess:
        process = BotProcess(token, api.url, database_url, tmp_path / f"{token}.log", **env)
        await process.start()
        started.append(process)
        return process

    yield start
    for process in started:
        await process.stop(signal.SIGKILL)
    for process in started:
        log = process.log.read_text()
        assert "Traceback" not in log, log


def per_chat(api: FakeBotApi) -> Counter:
    return Counter(int(call.params["chat_id"]) for call in api.telegram.accepted())


async def row_states(database_url: str) -> Counter:
    settings = load_settings(database_url=database_url, load_demo=False, _env_file=None)
    app = await create_app(settings)
    async with app.session_maker() as session:
        rows = await session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        )
        states = Counter(dict(rows.all()))
    await app.close()
    return states


async def test_two_processes_send_each_reminder_once_through_a_restart(
    bot_api: FakeBotApi, due_reminders: str, processes
) -> None:
    first = await processes("111:first", bot_api, due_reminders)
    await processes("222:second", bot_api, due_reminders)
    await bot_api.wait_until(lambda: len(bot_api.telegram.accepted()) >= 40, timeout=180)
    assert len(bot_api.telegram.accepted()) < RESIDENTS, "stopped before the end"
    await first.stop()  # a redeploy of one of them, in the middle of the run
    await processes("333:first-again", bot_api, due_reminders)
    await bot_api.wait_until(lambda: len(bot_api.telegram.accepted()) >= RESIDENTS, timeout=180)
    await asyncio.sleep(1.5)  # anything sent twice would arrive by now

    assert per_chat(bot_api) == Counter({FIRST_CHAT + n: 1 for n in range(RESIDENTS)})
    reminder = bot_api.telegram.last_bot_message(FIRST_CHAT)
    assert "Reminder: <b>Community choir</b> starts in 2 hours." in reminder.text
    working = [token for token, sends in bot_api.sends_by_token.items() if sends]
    assert len(working) >= 2, f"both processes sent: {bot_api.sends_by_token}"
    assert await row_states(due_reminders) == Counter({OutboxState.SENT: RESIDENTS})


async def test_a_crashed_process_loses_nothing(
    bot_api: FakeBotApi, due_reminders: str, processes
) -> None:
    lease = {"OUTBOX_LEASE_SECONDS": "3", "OUTBOUND_RATE": "60"}
    first = await processes("111:first", bot_api, due_reminders, **lease)
    await bot_api.wait_until(lambda: len(bot_api.telegram.accepted()) >= 40, timeout=180)
    await first.stop(signal.SIGKILL)  # no goodbye: its claimed rows stay claimed
    await processes("222:second", bot_api, due_reminders, **lease)
    await bot_api.wait_until(lambda: len(per_chat(bot_api)) >= RESIDENTS, timeout=180)

    sent = per_chat(bot_api)
    assert set(sent) == {FIRST_CHAT + n for n in range(RESIDENTS)}, "nothing is lost"
    # Only messages Telegram accepted in the instant before the kill, not yet marked sent,
    # can go out twice (a worker holds at most unrecorded_limit() of them); everything else the
    # dead process held was taken over when its lease ended.
    assert sum(sent.values()) - RESIDENTS <= unrecorded_limit(60)
    assert await row_states(due_reminders) == Counter({OutboxState.SENT: RESIDENTS})
