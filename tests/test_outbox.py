"""The durable outbox: queued once, claimed by one worker, sent once, handed over on restart.

Runs on SQLite and PostgreSQL. Telegram is `OfflineTelegram` behind aiogram's session; the
two-process test against a real PostgreSQL is in test_reminder_processes.py.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from bot.startup.dispatcher import create_bot
from bot.startup.offline_api import BotApiError
from bot.startup.offline_api import OfflineSession
from bot.startup.offline_api import OfflineTelegram
from bot.startup.sending import create_outbox_worker
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.outbox.messages import NewMessage
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from catalogue.outbox.messages import enqueue_many
from scheduler.outbox import OutboxWorker
from scheduler.outbox_queue import claim_due


@pytest.fixture
def settings(settings):
    """No demo catalogue: these tests need residents only."""
    return settings.model_copy(update={"load_demo": False})


@pytest.fixture
def telegram() -> OfflineTelegram:
    return OfflineTelegram()


@pytest.fixture
async def workers(app, telegram) -> AsyncIterator:
    """Builds outbox workers talking to `telegram`; stops them all at the end."""
    made: list[OutboxWorker] = []

    def make(**settings_changes) -> OutboxWorker:
        settings = app.settings.model_copy(update={"outbound_rate": 1000.0, **settings_changes})
        bot = create_bot(settings, OfflineSession(telegram))
        worker = create_outbox_worker(settings, app.session_maker, app.i18n, bot)
        # Quick retries: a twentieth of Telegram's second between two sends to one chat.
        worker.delivery.backoff_base = 0.01
        worker.delivery.limiter.per_chat_interval = 0.05
        made.append(worker)
        return worker

    yield make
    for worker in made:
        await worker.stop()


async def add_residents(session_maker, first_chat: int, count: int) -> list[Resident]:
    async with session_maker.begin() as session:
        residents = [Resident(telegram_id=first_chat + n, language="en") for n in range(count)]
        session.add_all(residents)
    return residents


def text_message(chat_id: int, key: str, due, resident_id: int | None = None) -> NewMessage:
    return NewMessage(
        kind="text",
        chat_id=chat_id,
        dedupe_key=key,
        due_at=due,
        payload={"text": f"Hello {chat_id}"},
        resident_id=resident_id,
    )


async def queue(session_maker, messages: list[NewMessage]) -> None:
    async with session_maker.begin() as session:
        await enqueue_many(session, messages)


async def states(session_maker) -> Counter:
    async with session_maker() as session:
        rows = await session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        )
        return Counter(dict(rows.all()))


async def sends(telegram: OfflineTelegram, count: int) -> None:
    """Wait until Telegram has accepted `count` messages."""
    enough = asyncio.Event()

    def listener(_event: str, _message) -> None:
        if len(telegram.accepted()) >= count:
            enough.set()

    telegram.listeners.append(listener)
    listener("", None)
    await asyncio.wait_for(enough.wait(), 10)
    telegram.listeners.remove(listener)


def sent_per_chat(telegram: OfflineTelegram) -> Counter:
    return Counter(int(call.params["chat_id"]) for call in telegram.accepted())


async def test_the_same_message_is_never_queued_twice(session_maker) -> None:
    now = utc_now()
    await queue(session_maker, [text_message(1, "welcome:1", now)])
    await queue(session_maker, [text_message(1, "welcome:1", now + timedelta(hours=1))])
    assert await states(session_maker) == Counter({OutboxState.PENDING: 1})


async def test_due_messages_are_sent_once_and_marked_sent(session_maker, workers, telegram):
    now = utc_now()
    due = [text_message(100 + n, f"t:{n}", now - timedelta(seconds=n)) for n in range(5)]
    later = text_message(200, "t:later", now + timedelta(hours=1))
    await queue(session_maker, [*due, later])
    worker = workers()
    await worker.drain()
    await worker.drain()
    assert sent_per_chat(telegram) == Counter({100 + n: 1 for n in range(5)})
    assert telegram.last_bot_message(100).text == "Hello 100"
    assert await states(session_maker) == Counter({OutboxState.SENT: 5, OutboxState.PENDING: 1})


async def test_two_claimers_never_take_the_same_row(session_maker) -> None:
    now = utc_now()
    await queue(session_maker, [text_message(n, f"c:{n}", now) for n in range(50)])

    async def claim(worker_id: str) -> list[int]:
        async with session_maker.begin() as session:
            rows = await claim_due(session, worker_id, now, now + timedelta(minutes=1), 30)
            return [row.id for row in rows]

    first, second = await asyncio.gather(claim("a"), claim("b"))
    assert not set(first) & set(second)
    assert sorted([len(first), len(second)]) == [20, 30], "each takes at most its limit"


async def test_a_worker_stopped_midway_hands_over_to_the_next(
    session_maker, workers, telegram
) -> None:
    now = utc_now()
    await queue(session_maker, [text_message(300 + n, f"m:{n}", now) for n in range(40)])
    first = workers(outbound_rate=40.0)
    await first.start()
    await sends(telegram, 10)
    await first.stop()  # a redeploy: SIGTERM while messages are going out
    stopped_at = len(telegram.accepted())
    assert stopped_at < 40, "the first worker was stopped before it finished"
    second = workers()
    await second.drain()
    assert sent_per_chat(telegram) == Counter({300 + n: 1 for n in range(40)})
    assert await states(session_maker) == Counter({OutboxState.SENT: 40})


async def test_rows_of_a_process_that_died_are_taken_over_after_the_lease(
    session_maker, workers, telegram
) -> None:
    now = utc_now()
    await queue(session_maker, [text_message(400 + n, f"d:{n}", now) for n in range(3)])
    async with session_maker.begin() as session:
        # A process claimed them and died: its lease ended a second ago.
        await claim_due(session, "dead-process", now, now - timedelta(seconds=1), 10)
    worker = workers()
    await worker.drain()
    assert sent_per_chat(telegram) == Counter({400: 1, 401: 1, 402: 1})


async def test_a_resident_who_blocked_the_bot_gets_nothing_more(
    session_maker, workers, telegram
) -> None:
    (resident,) = await add_residents(session_maker, 500, 1)
    now = utc_now()
    first = text_message(500, "b:1", now, resident.id)
    second = text_message(500, "b:2", now + timedelta(seconds=2), resident.id)
    await queue(session_maker, [first, second])
    telegram.blocked_chats.add(500)
    worker = workers()
    await worker.drain()
    async with session_maker() as session:
        assert (await session.get(Resident, resident.id)).is_active is False
    worker.clock = lambda: now + timedelta(seconds=3)
    await worker.drain()
    tried = [call for call in telegram.calls if call.method == "sendMessage"]
    assert len(tried) == 1, "the second message was never tried"
    async with session_maker() as session:
        rows = {row.dedupe_key: row for row in await session.scalars(select(OutboxMessage))}
    assert rows["b:1"].state == OutboxState.FAILED
    assert rows["b:2"].state == OutboxState.SKIPPED
    assert rows["b:2"].last_error == "resident inactive"


async def test_a_transient_failure_is_tried_again_later(session_maker, workers, telegram):
    now = utc_now()
    await queue(session_maker, [text_message(600, "r:1", now)])
    telegram.next_errors.extend(BotApiError(502, "Bad Gateway") for _ in range(4))
    worker = workers()
    await worker.drain()
    async with session_maker() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row.state == OutboxState.PENDING
    assert row.attempts == 1
    assert row.due_at > now
    assert "Bad Gateway" in row.last_error
    worker.clock = lambda: row.due_at + timedelta(seconds=1)
    await worker.drain()
    assert sent_per_chat(telegram) == Counter({600: 1})
