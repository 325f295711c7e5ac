"""The sending process is killed (SIGKILL) in the middle of a broadcast and started again:
every resident gets the announcement exactly once.

The real `learncity run` process sends through a local Bot API server that enforces Telegram's
limits (429 with retry_after past the global rate or a second message to a chat within a
second) and answers 403 for residents who blocked the bot. The kill comes while the server
holds some requests unanswered: those never reached "Telegram", and the restarted process
sends them; what Telegram accepted before the kill is never sent again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter

import pytest
from sqlalchemy import select

from bot.settings import load_settings
from bot.startup.app import create_app
from catalogue.models import Resident
from catalogue.outbox.broadcasts import Audience
from catalogue.outbox.broadcasts import AudienceKind
from catalogue.outbox.broadcasts import Broadcast
from catalogue.outbox.broadcasts import BroadcastState
from catalogue.outbox.broadcasts import create_broadcast
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from tests.fake_bot_api import FakeBotApi

pytestmark = pytest.mark.e2e

ADMIN = 930_001
FIRST = 700_000
RECIPIENTS = 240
BLOCKED = {FIRST + 7, FIRST + 99, FIRST + 200}
TEXT = "🎪 The <b>Lifelong Learning Festival</b> starts on Monday"


def environment(api: FakeBotApi, database_url: str) -> dict[str, str]:
    return os.environ | {
        "BOT_TOKEN": "123456:crash-test",
        "BOT_API_URL": api.url,
        "DATABASE_URL": database_url,
        "ADMIN_IDS": str(ADMIN),
        "DEFAULT_LOCALE": "en",
        "OUTBOUND_RATE": "80",
        "OUTBOX_LEASE_SECONDS": "3",
        "LOAD_DEMO": "false",
        "REDIS_URL": "",
    }


async def prepare(database_url: str) -> int:
    if database_url.startswith("postgresql"):
        from tests.conftest import _empty_postgres

        await _empty_postgres(database_url)
    app = await create_app(
        load_settings(database_url=database_url, load_demo=False, _env_file=None)
    )
    async with app.session_maker.begin() as session:
        session.add_all(
            Resident(telegram_id=FIRST + n, language="en", language_chosen=True)
            for n in range(RECIPIENTS)
        )
        await session.flush()
        broadcast = await create_broadcast(
            session, created_by=ADMIN, text=TEXT, audience=Audience(AudienceKind.EVERYONE)
        )
    await app.close()
    return broadcast.id


async def recorded_sent(database_url: str, broadcast_id: int) -> int:
    app_settings = load_settings(database_url=database_url, load_demo=False, _env_file=None)
    from catalogue.database import create_engine
    from catalogue.database import create_session_maker

    engine = create_engine(app_settings.database_url)
    try:
        async with create_session_maker(engine)() as session:
            rows = await session.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.broadcast_id == broadcast_id,
                    OutboxMessage.state.in_([OutboxState.SENT, OutboxState.FAILED]),
                )
            )
            return len(list(rows))
    finally:
        await engine.dispose()


async def wait_for(condition, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("waited in vain")
        await asyncio.sleep(0.05)


async def test_a_killed_broadcast_resumes_and_nobody_gets_it_twice(database_url: str) -> None:
    broadcast_id = await prepare(database_url)
    api = FakeBotApi()
    api.telegram.sends_per_second = 90
    api.telegram.per_chat_interval = 1.0
    api.telegram.blocked_chats.update(BLOCKED)
    api.hold_sends_after = RECIPIENTS // 3
    await api.start()
    command = [sys.executable, "-m", "bot", "run"]
    env = environment(api, database_url)
    everyone = {FIRST + n for n in range(RECIPIENTS)}
    first = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:

        async def stalled_and_recorded() -> bool:
            if not api.held:
                return False
            # Everything Telegram accepted is written down (refusals count: 403s are final).
            answered = sum(
                1
                for call in api.telegram.calls
                if call.method == "sendMessage"
                and int(call.params["chat_id"]) in everyone
                and (call.ok or int(call.params["chat_id"]) in BLOCKED)
            )
            return await recorded_sent(database_url, broadcast_id) >= answered

        await wait_for(stalled_and_recorded, timeout=180)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        killed_at = sum(call.ok for call in api.telegram.calls if call.method == "sendMessage")
        api.release_held()

        second = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        app = await create_app(
            load_settings(database_url=database_url, load_demo=False, _env_file=None)
        )

        async def reported() -> bool:
            async with app.session_maker() as session:
                broadcast = await session.get(Broadcast, broadcast_id)
                return broadcast.reported_at is not None

        try:
            await wait_for(reported, timeout=240)
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 30)
            stderr = (await second.stderr.read()).decode() if second.stderr else ""
            assert "Traceback" not in stderr, stderr

        delivered = Counter(
            int(call.params["chat_id"])
            for call in api.telegram.accepted("sendMessage")
            if int(call.params["chat_id"]) in everyone
        )
        assert 0 < killed_at < RECIPIENTS, "the kill came in the middle"
        assert set(delivered) == everyone - BLOCKED, "nobody missed"
        assert set(delivered.values()) == {1}, "nobody messaged twice"
        texts = {call.params["text"] for call in api.telegram.accepted("sendMessage")}
        assert TEXT in texts

        async with app.session_maker() as session:
            broadcast = await session.get(Broadcast, broadcast_id)
            blocked = list(
                await session.scalars(
                    select(Resident.telegram_id).where(Resident.is_active.is_(False))
                )
            )
        await app.close()
        assert broadcast.state is BroadcastState.DONE
        assert set(blocked) == BLOCKED
        report = api.telegram.last_bot_message(ADMIN)
        assert report is not None
        assert f"Delivered: {RECIPIENTS - len(BLOCKED)}" in report.text
        assert f"Blocked the bot: {len(BLOCKED)}" in report.text
    finally:
        if first.returncode is None:
            first.kill()
        await api.stop()
