"""The shared outbound limiter and Delivery: rates, 429 pauses, blocked chats, retries.

Telegram is the local Bot API server (tests/fake_bot_api.py) over real HTTP, told to refuse
the way Telegram does: 429 with retry_after, 403 for a blocked chat, a dropped connection.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.settings import load_settings
from bot.startup.dispatcher import create_bot
from bot.startup.offline_api import BotApiError
from catalogue.models import Resident
from scheduler.delivery import Delivery
from scheduler.delivery import DeliveryStatus
from scheduler.delivery import OutboundLimiter
from scheduler.delivery import Outgoing
from tests.fake_bot_api import FakeBotApi


class VirtualTime:
    """A clock that moves only when someone sleeps: limiter arithmetic without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


async def acquire_times(limiter: OutboundLimiter, time: VirtualTime, chats: list[int]) -> list:
    times = []
    for chat in chats:
        await limiter.acquire(chat)
        times.append(round(time.now, 3))
    return times


async def test_limiter_spaces_messages_at_the_global_rate() -> None:
    time = VirtualTime()
    limiter = OutboundLimiter(25, clock=time.clock, sleep=time.sleep)
    times = await acquire_times(limiter, time, list(range(1, 51)))
    assert times[0] == 0.0
    assert times[-1] == pytest.approx(49 / 25)
    assert all(b - a == pytest.approx(0.04) for a, b in itertools.pairwise(times))


async def test_limiter_sends_one_message_a_second_to_the_same_chat() -> None:
    time = VirtualTime()
    limiter = OutboundLimiter(100, clock=time.clock, sleep=time.sleep)
    times = await acquire_times(limiter, time, [7, 8, 7, 7])
    assert times[0] == 0.0
    assert times[1] == pytest.approx(0.01)  # another chat: only the global spacing
    assert times[2] == pytest.approx(1.0)
    assert times[3] == pytest.approx(2.0)


async def test_a_429_pauses_every_sender() -> None:
    time = VirtualTime()
    limiter = OutboundLimiter(100, clock=time.clock, sleep=time.sleep)
    await limiter.acquire(1)
    limiter.pause(5)
    await limiter.acquire(2)
    assert time.now >= 5.0


class LateWakeUps(VirtualTime):
    """A busy event loop: every sleeper wakes `late` seconds after it asked to."""

    def __init__(self, late: float) -> None:
        super().__init__()
        self.late = late

    async def sleep(self, seconds: float) -> None:
        await super().sleep(max(0.0, seconds) + self.late)


def most_in_one_second(times: list[float]) -> int:
    return max(sum(start <= other < start + 1 for other in times) for start in times)


async def test_late_wake_ups_do_not_slow_the_rate_down() -> None:
    time = LateWakeUps(late=0.0015)  # 5 % of the interval at 30/s
    limiter = OutboundLimiter(30, clock=time.clock, sleep=time.sleep)
    times = await acquire_times(limiter, time, list(range(1, 301)))
    assert times[-1] - times[0] <= 299 / 30 * 1.01
    assert most_in_one_second(times) <= 31


async def test_senders_woken_together_after_a_stall_still_go_apart() -> None:
    time = VirtualTime()
    limiter = OutboundLimiter(30, clock=time.clock, sleep=time.sleep)
    await acquire_times(limiter, time, [1, 2, 3])
    time.now += 0.5  # the loop stalled; every sender's slot is in the past

    async def sender(chat: int) -> float:
        await limiter.acquire(chat)
        return time.now

    times = sorted(await asyncio.gather(*(sender(chat) for chat in range(10, 20))))
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.7 / 30


@pytest.fixture
def settings(settings):
    """No demo catalogue: these tests need residents only."""
    return settings.model_copy(update={"load_demo": False})


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


def make_delivery(bot_api: FakeBotApi, session_maker=None) -> Delivery:
    bot = create_bot(load_settings(bot_token="123:test", bot_api_url=bot_api.url, _env_file=None))
    # Retries to one chat are spaced by a twentieth of Telegram's second, to keep tests short.
    limiter = OutboundLimiter(200, per_chat_interval=0.05)
    return Delivery(bot, session_maker, limiter, backoff_base=0.01)


@pytest.fixture
async def delivery(bot_api: FakeBotApi) -> AsyncIterator[Delivery]:
    """Delivery alone: what it does with Telegram's answers needs no database."""
    delivery = make_delivery(bot_api)
    yield delivery
    await delivery.bot.session.close()


@pytest.fixture
async def delivery_with_db(bot_api: FakeBotApi, app) -> AsyncIterator[Delivery]:
    """Delivery that marks residents inactive, on SQLite and PostgreSQL."""
    delivery = make_delivery(bot_api, app.session_maker)
    yield delivery
    await delivery.bot.session.close()


async def test_delivery_sends_and_reports_the_message_id(delivery, bot_api) -> None:
    result = await delivery.send(501, Outgoing("<b>Hello</b>"))
    assert result.status is DeliveryStatus.SENT
    assert result.message_id is not None
    assert bot_api.telegram.last_bot_message(501).text == "<b>Hello</b>"


async def test_too_many_requests_waits_retry_after_then_sends_everything(delivery, bot_api) -> None:
    bot_api.telegram.sends_per_second = 3
    bot_api.telegram.retry_after = 1
    results = await asyncio.gather(
        *(delivery.send(600 + n, Outgoing(f"message {n}")) for n in range(6))
    )
    assert [result.status for result in results] == [DeliveryStatus.SENT] * 6
    assert delivery.stats.rate_limited >= 1
    accepted = bot_api.telegram.accepted()
    assert sorted(call.params["text"] for call in accepted) == [f"message {n}" for n in range(6)]
    # Nothing was sent during the pause that followed the first refusal.
    first_refusal = min(call.at for call in bot_api.telegram.calls if not call.ok)
    after = [call.at for call in accepted if call.at > first_refusal]
    assert after, "the refused messages were sent later"
    assert min(after) - first_refusal >= 0.9


async def test_a_resident_who_blocked_the_bot_is_marked_inactive(
    delivery_with_db, bot_api, session_maker
) -> None:
    delivery = delivery_with_db
    async with session_maker.begin() as session:
        session.add(Resident(telegram_id=700, language="en"))
    bot_api.telegram.blocked_chats.add(700)
    result = await delivery.send(700, Outgoing("Reminder"))
    assert result.status is DeliveryStatus.BLOCKED
    assert len(bot_api.calls("sendMessage")) == 1, "a blocked chat is not tried again"
    async with session_maker() as session:
        resident = await session.scalar(select(Resident).where(Resident.telegram_id == 700))
    assert resident.is_active is False


async def test_chat_not_found_counts_as_gone(delivery_with_db, bot_api, session_maker) -> None:
    delivery = delivery_with_db
    async with session_maker.begin() as session:
        session.add(Resident(telegram_id=701, language="en"))
    bot_api.telegram.missing_chats.add(701)
    assert (await delivery.send(701, Outgoing("Hi"))).status is DeliveryStatus.BLOCKED
    async with session_maker() as session:
        resident = await session.scalar(select(Resident).where(Resident.telegram_id == 701))
    assert resident.is_active is False


async def test_a_bad_request_fails_without_retrying(delivery, bot_api) -> None:
    result = await delivery.send(702, Outgoing("x" * 5000))
    assert result.status is DeliveryStatus.FAILED
    assert "too long" in (result.error or "")
    assert len(bot_api.calls("sendMessage")) == 1


async def test_network_errors_and_5xx_are_retried_with_back_off(delivery, bot_api) -> None:
    bot_api.drop_sends = 2
    bot_api.telegram.next_errors.append(BotApiError(502, "Bad Gateway"))
    result = await delivery.send(703, Outgoing("Still there?"))
    assert result.status is DeliveryStatus.SENT
    assert [call.ok for call in bot_api.calls("sendMessage")] == [False, True]


async def test_a_lasting_outage_is_handed_back_for_later(delivery, bot_api) -> None:
    bot_api.drop_sends = 100
    result = await delivery.send(704, Outgoing("Anyone?"))
    assert result.status is DeliveryStatus.RETRY
    assert result.attempted


async def test_nothing_is_sent_after_the_deadline(delivery, bot_api) -> None:
    result = await delivery.send(705, Outgoing("Too late"), deadline=0.0)
    assert result.status is DeliveryStatus.RETRY
    assert not result.attempted
    assert not bot_api.calls("sendMessage")
