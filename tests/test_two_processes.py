"""Two real `learncity run --webhook` processes serve one bot, on PostgreSQL and Redis.

A local Bot API server stands for Telegram and, in front of the two processes, for the load
balancer: each update goes to the next process in turn. So a resident's every other press, an
organiser's every other answer to a form, lands in the other process. This shows:

* a resident's journey works whichever process takes each step;
* an organiser's form (FSM state in Redis) goes on in the other process;
* an update Telegram delivers again is dropped by the other process (the ledger in Redis);
* a flooding resident is counted across both processes and told to slow down once;
* messages queued in the outbox are sent exactly once between the two.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select

from catalogue.database import create_engine
from catalogue.database import create_session_maker
from catalogue.models import utc_now
from catalogue.outbox.messages import NewMessage
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from catalogue.outbox.messages import enqueue_many
from tests.conftest import RedisSpace
from tests.conftest import _empty_postgres
from tests.fake_bot_api import FakeBotApi
from tests.test_end_to_end import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]
ADMIN = 7001
RESIDENT = 7002
FLOODER = 7003
FLOOD_LIMIT = 8
SLOW_DOWN = "You are sending messages very fast"


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def two_processes(
    bot_api: FakeBotApi, postgres_url: str, redis_space: RedisSpace
) -> AsyncIterator[list[int]]:
    await _empty_postgres(postgres_url)
    ports = [free_port(), free_port()]
    environment = os.environ | {
        "BOT_TOKEN": "123456:two-processes",
        "BOT_API_URL": bot_api.url,
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_space.url,
        "REDIS_PREFIX": redis_space.prefix,
        "CITY_TIMEZONE": "Asia/Yekaterinburg",
        "DEFAULT_LOCALE": "en",
        "ADMIN_IDS": str(ADMIN),
        "FLOOD_LIMIT": str(FLOOD_LIMIT),
        "WEBHOOK_URL": "https://bot.example.org/telegram",
        "WEBHOOK_SECRET": "two-processes-secret",
        "WEBHOOK_HOST": "127.0.0.1",
        "LOG_FORMAT": "json",
    }
    processes = []
    # One after the other: both would otherwise migrate the empty database at once.
    for port in ports:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--webhook",
            env=environment | {"WEBHOOK_PORT": str(port)},
            stderr=asyncio.subprocess.PIPE,
        )
        processes.append(process)
        await wait_healthy(port)
    bot_api.deliver_to = [f"http://127.0.0.1:{port}/telegram" for port in ports]
    yield ports
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        assert await asyncio.wait_for(process.wait(), 30) == 0
        stderr = (await process.stderr.read()).decode() if process.stderr else ""
        assert "Traceback" not in stderr, stderr
    assert all(status == 200 for status in bot_api.webhook_answers)


async def wait_healthy(port: int, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as client:
        while True:
            try:
                async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the process on port {port} did not become healthy")
            await asyncio.sleep(0.2)


async def metric(port: int, line_start: str) -> float:
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        body = await response.text()
    values = [
        float(line.rsplit(" ", 1)[1]) for line in body.splitlines() if line.startswith(line_start)
    ]
    return sum(values)


async def test_two_processes_serve_the_same_residents(
    bot_api: FakeBotApi, two_processes: list[int], postgres_url: str
) -> None:
    async def step(user: int, expected: str) -> None:
        await bot_api.wait_until(lambda: expected in bot_api.screen(user), timeout=90)

    # A resident's journey, every step in the other process.
    bot_api.send_text(RESIDENT, "/start")
    await step(RESIDENT, "Choose your language")
    for label, expected in [
        ("English", "Who are you?"),
        ("Seniors", "learning track"),
        ("(", "Upcoming:"),
        ("1.", "Next sessions:"),
    ]:
        bot_api.press(RESIDENT, label)
        await step(RESIDENT, expected)

    # An organiser's form: the state set in one process is read by the other.
    bot_api.send_text(ADMIN, "/programme")
    await step(ADMIN, "upcoming sessions")
    bot_api.press(ADMIN, "New offer")
    await step(ADMIN, "What is the offer called?")
    bot_api.send_text(ADMIN, "Pottery for beginners")
    await step(ADMIN, "What kind of offer is it?")

    # Telegram delivers the last update again; it goes to the other process, which drops it.
    sent_before = len(bot_api.calls("sendMessage"))
    last = max(bot_api.delivered)
    bot_api.deliver_again(last)
    duplicates = [
        await metric(port, 'learncity_updates_dropped_total{reason="duplicate"}')
        for port in two_processes
    ]
    deadline = asyncio.get_running_loop().time() + 10
    while sum(duplicates) < 1 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
        duplicates = [
            await metric(port, 'learncity_updates_dropped_total{reason="duplicate"}')
            for port in two_processes
        ]
    assert sum(duplicates) == 1
    assert len(bot_api.calls("sendMessage")) == sent_before

    # Flooding, half in each process: counted together, one "slow down" in all.
    for _ in range(40):
        bot_api.send_text(FLOODER, "/menu")
    await bot_api.wait_until(lambda: len(bot_api.webhook_answers) >= len(bot_api.delivered) + 1)
    await bot_api.wait_until(
        lambda: any(SLOW_DOWN in m.text for m in bot_api.telegram.chat_messages(FLOODER))
    )
    await asyncio.sleep(0.5)
    flooder_sees = [m.text for m in bot_api.telegram.chat_messages(FLOODER) if m.from_bot]
    assert sum(SLOW_DOWN in text for text in flooder_sees) == 1
    dropped = sum(
        [
            await metric(port, 'learncity_updates_dropped_total{reason="flood"}')
            for port in two_processes
        ]
    )
    assert dropped >= 40 - 3 * FLOOD_LIMIT

    # The outbox: forty messages due now, each sent once between the two processes.
    engine = create_engine(postgres_url)
    session_maker = create_session_maker(engine)
    now = utc_now()
    async with session_maker.begin() as session:
        await enqueue_many(
            session,
            [
                NewMessage(
                    "text",
                    80_000 + n,
                    f"two-processes-{n}",
                    now - timedelta(seconds=1),
                    {"text": f"Notice {n}"},
                )
                for n in range(40)
            ],
        )
    await bot_api.wait_until(
        lambda: (
            sum(
                1
                for call in bot_api.telegram.accepted()
                if str(call.params.get("text", "")).startswith("Notice ")
            )
            >= 40
        ),
        timeout=120,
    )
    await asyncio.sleep(1.0)  # time for a second, wrong, send to show up
    notices = [
        str(call.params["text"])
        for call in bot_api.telegram.accepted()
        if str(call.params.get("text", "")).startswith("Notice ")
    ]
    assert sorted(notices) == sorted(f"Notice {n}" for n in range(40))
    async with session_maker() as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.dedupe_key.like("two-processes-%"))
            )
        )
    assert {row.state for row in rows} == {OutboxState.SENT}
    await engine.dispose()
