"""Broadcasts: the organiser's dialogue, who receives them, progress, Pause/Resume/Cancel.

Telegram is faked at the HTTP boundary only: the organiser's chat, the outbox worker and the
broadcast runner all talk to one `OfflineTelegram`, which is what residents' phones would show.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select

from bot.settings import load_settings
from bot.startup.dispatcher import create_bot
from bot.startup.offline_api import OfflineSession
from bot.startup.sending import create_broadcast_runner
from bot.startup.sending import create_outbox_worker
from catalogue.models import Category
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import Subscription
from catalogue.models import SubscriptionKind
from catalogue.models import Track
from catalogue.models import utc_now
from catalogue.outbox.broadcasts import Audience
from catalogue.outbox.broadcasts import AudienceKind
from catalogue.outbox.broadcasts import Broadcast
from catalogue.outbox.broadcasts import BroadcastState
from catalogue.outbox.broadcasts import count_recipients
from catalogue.outbox.broadcasts import create_broadcast
from catalogue.outbox.broadcasts import plan_page
from catalogue.outbox.broadcasts import progress
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from tests.resident_chat import ResidentChat

ORGANISER = 920_001
FIRST_RESIDENT = 600_000
CITY = ZoneInfo("Asia/Yekaterinburg")


@pytest.fixture
def settings(database_url: str):
    return load_settings(
        database_url=database_url,
        bot_token=None,
        default_locale="en",
        outbound_rate=500,
        flood_limit=0,  # a test presses faster than any person
        _env_file=None,
    )


@pytest.fixture
def user_id() -> int:
    """tests/conftest.py's `organiser` is ORGANISER here: the tests read what reached them."""
    return ORGANISER


class Sending:
    """The bot process's sending side, on the organiser's Telegram: worker and runner."""

    def __init__(self, app, telegram, clock=utc_now) -> None:
        self.bot = create_bot(app.settings, OfflineSession(telegram))
        self.worker = create_outbox_worker(
            app.settings, app.session_maker, app.i18n, self.bot, clock=clock
        )
        self.runner = create_broadcast_runner(
            app.settings, app.session_maker, app.i18n, self.bot, None, self.worker.wake,
            progress_seconds=0, clock=clock,
        )  # fmt: skip

    async def until_quiet(self, rounds: int = 30) -> None:
        for _ in range(rounds):
            active = await self.runner.run_once()
            await self.worker.drain()
            if not active:
                return
        raise AssertionError("the broadcast did not finish")

    async def close(self) -> None:
        await self.bot.session.close()


async def add_residents(session_maker, count: int, **fields) -> list[int]:
    async with session_maker.begin() as session:
        first = FIRST_RESIDENT + (await session.scalar(select(func.count(Resident.id))) or 0)
        residents = [
            Resident(telegram_id=first + n, language="en", language_chosen=True, **fields)
            for n in range(count)
        ]
        session.add_all(residents)
        await session.flush()
        return [resident.telegram_id for resident in residents]


def received(telegram, chat_id: int) -> list[str]:
    return [
        str(call.params.get("text") or call.params.get("caption") or "")
        for call in telegram.calls
        if call.method in {"sendMessage", "sendPhoto"}
        and call.ok
        and int(call.params["chat_id"]) == chat_id
    ]


async def seniors(session_maker) -> Category:
    async with session_maker() as session:
        return await session.scalar(select(Category).where(Category.external_id == "seniors"))


async def test_organiser_announces_to_a_category(organiser: ResidentChat, app, session_maker):
    category = await seniors(session_maker)
    listeners = await add_residents(session_maker, 3, category_id=category.id)
    quiet = await add_residents(session_maker, 1, category_id=category.id, announcements_on=False)
    others = await add_residents(session_maker, 2)
    telegram = organiser.telegram
    telegram.blocked_chats.add(listeners[2])
    sending = Sending(app, telegram)

    screen = await organiser.send("/broadcast")
    assert "New announcement" in screen.text
    text = "Festival opens on Saturday! See the programme"
    screen = await organiser.send_formatted(text, [{"type": "bold", "offset": 18, "length": 8}])
    assert "Who should receive it?" in screen.text
    await organiser.press("A category of residents")
    screen = await organiser.press(category.title["en"])
    assert "It will reach 3 residents" in screen.text  # announcements off are not counted

    await organiser.press("Preview")
    preview = received(telegram, ORGANISER)[-2]
    assert preview == "Festival opens on <b>Saturday</b>! See the programme"
    assert "exactly what residents will see" in organiser.screen.text
    screen = await organiser.press("Send now")
    assert "Send the announcement to 3 residents" in screen.text
    screen = await organiser.press("Confirm")
    assert "Broadcast #" in screen.text
    assert "sending" in screen.text
    assert "Pause" in " ".join(organiser.labels())

    await sending.until_quiet()
    for chat_id in listeners[:2]:
        assert received(telegram, chat_id) == [preview], chat_id
    for chat_id in [*quiet, *others, listeners[2]]:
        assert received(telegram, chat_id) == [], chat_id

    # The progress message became the report; a report message followed.
    progress_message = telegram.messages[(ORGANISER, screen.message_id)]
    assert "done" in progress_message.text
    assert "Sent: 2 / 3" in progress_message.text
    assert progress_message.buttons() == []
    report = received(telegram, ORGANISER)[-1]
    assert "Delivered: 2" in report
    assert "Blocked the bot: 1" in report
    async with session_maker() as session:
        blocked = await session.scalar(select(Resident).where(Resident.telegram_id == listeners[2]))
        assert blocked.is_active is False
        broadcast = await session.scalar(select(Broadcast))
        assert broadcast.state is BroadcastState.DONE
        assert broadcast.reported_at is not None
    await sending.close()


async def test_a_photo_announcement_is_scheduled_then_sent(
    organiser: ResidentChat, app, session_maker
) -> None:
    everyone = await add_residents(session_maker, 2)
    clock_now = [utc_now()]
    sending = Sending(app, organiser.telegram, clock=lambda: clock_now[0])

    await organiser.send("/broadcast")
    await organiser.send_photo("Lanterns parade tonight")
    await organiser.press("Everyone")
    await organiser.press("Preview")
    assert organiser.calls("sendPhoto")[-1].params["caption"] == "Lanterns parade tonight"
    screen = await organiser.press("Schedule")
    assert "When should it go?" in screen.text
    screen = await organiser.send("tomorrow")
    assert "could not read that date" in screen.text
    at = (utc_now() + timedelta(days=2)).astimezone(CITY).replace(second=0, microsecond=0)
    screen = await organiser.send(at.strftime("%Y-%m-%d %H:%M"))
    assert "Send the announcement to" in screen.text
    assert "on" in screen.text
    screen = await organiser.press("Confirm")
    assert "Scheduled for" in screen.text

    await sending.until_quiet()
    assert all(received(organiser.telegram, chat_id) == [] for chat_id in everyone)

    clock_now[0] = at + timedelta(minutes=1)
    await sending.until_quiet()
    for chat_id in everyone:
        photos = [
            call
            for call in organiser.telegram.calls
            if call.method == "sendPhoto" and int(call.params["chat_id"]) == chat_id
        ]
        assert [call.params["caption"] for call in photos] == ["Lanterns parade tonight"]
    await sending.close()


async def test_pause_holds_resume_continues_cancel_stops(
    organiser: ResidentChat, app, session_maker
) -> None:
    chats = await add_residents(session_maker, 6)
    sending = Sending(app, organiser.telegram)
    await organiser.send("/broadcast")
    await organiser.send("Choir rehearsal moved to the library")
    await organiser.press("Everyone")
    await organiser.press("Preview")
    await organiser.press("Send now")
    await organiser.press("Confirm")

    await sending.runner.run_once()  # rows are written…
    screen = await organiser.press("Pause")  # …and held before any is sent
    assert "paused" in screen.text
    assert "Resume" in " ".join(organiser.labels())
    await sending.worker.drain()
    assert all(received(organiser.telegram, chat_id) == [] for chat_id in chats)

    screen = await organiser.press("Resume")
    assert "sending" in screen.text
    await sending.until_quiet()
    assert all(len(received(organiser.telegram, chat_id)) == 1 for chat_id in chats)

    # A second broadcast, cancelled before anything goes out.
    await organiser.send("/broadcast")
    await organiser.send("Second announcement")
    await organiser.press("Everyone")
    await organiser.press("Preview")
    await organiser.press("Send now")
    await organiser.press("Confirm")
    await sending.runner.run_once()
    screen = await organiser.press("Cancel")
    assert "cancelled" in screen.text
    await sending.until_quiet()
    assert all(len(received(organiser.telegram, chat_id)) == 1 for chat_id in chats)
    assert "was cancelled" in received(organiser.telegram, ORGANISER)[-1]


async def test_the_form_refuses_what_cannot_be_sent(organiser: ResidentChat) -> None:
    await organiser.send("/broadcast")
    screen = await organiser.send_document("poster.pdf", b"%PDF")
    assert "Please send text or a photo" in screen.text
    screen = await organiser.send("x" * 4097)
    assert "up to 4096 characters" in screen.text
    await organiser.send("Short and sweet")
    await organiser.press("A learning track")
    screen = await organiser.press_data("bcp:999999")
    assert "Who should receive it?" in screen.text
    assert "no longer exists" in organiser.calls("answerCallbackQuery")[-1].params["text"]
    screen = await organiser.press("Cancel")
    assert "was not sent" in screen.text


async def test_each_audience_reaches_the_right_residents(app, session_maker) -> None:
    async with session_maker() as session:
        category = await session.scalar(select(Category).order_by(Category.id).limit(1))
        track = await session.scalar(select(Track).where(Track.category_id == category.id))
        festival = await session.scalar(select(Festival).order_by(Festival.id).limit(1))
        offer = await session.scalar(select(Offer).order_by(Offer.id).limit(1))
        first, second = list(
            await session.scalars(
                select(OfferSession).where(OfferSession.offer_id == offer.id).limit(2)
            )
        )
    async with session_maker.begin() as session:

        def resident(n: int, **fields) -> Resident:
            return Resident(telegram_id=FIRST_RESIDENT + n, language_chosen=True, **fields)

        people = {
            "ru_in_track": resident(1, language="ru", category_id=category.id, track_id=track.id),
            "en_in_category": resident(2, language="en", category_id=category.id),
            "festival_fan": resident(3, language="en"),
            "offer_fan": resident(4, language="en"),
            "going": resident(5, language="en"),
            "waitlisted": resident(6, language="en"),
            "declined": resident(7, language="en"),
            "quiet_fan": resident(8, language="en", announcements_on=False),
            "blocked_fan": resident(9, language="en", is_active=False),
        }
        session.add_all(people.values())
        await session.flush()
        ids = {name: person.id for name, person in people.items()}
        for name in ("festival_fan", "quiet_fan", "blocked_fan"):
            session.add(
                Subscription(
                    resident_id=ids[name], kind=SubscriptionKind.FESTIVAL, target_id=festival.id
                )
            )
        session.add(
            Subscription(
                resident_id=ids["offer_fan"], kind=SubscriptionKind.OFFER, target_id=offer.id
            )
        )
        for name, session_id, status in [
            ("going", first.id, SeatStatus.GOING),
            ("waitlisted", first.id, SeatStatus.WAITLISTED),
            ("declined", first.id, SeatStatus.DECLINED),
            ("offer_fan", second.id, SeatStatus.GOING),
        ]:
            session.add(Seat(resident_id=ids[name], session_id=session_id, status=status))

    expected = {
        Audience(AudienceKind.EVERYONE): 7,
        Audience(AudienceKind.CATEGORY, category.id): 2,
        Audience(AudienceKind.TRACK, track.id): 1,
        Audience(AudienceKind.LANGUAGE, language="ru"): 1,
        Audience(AudienceKind.FESTIVAL, festival.id): 1,
        Audience(AudienceKind.OFFER, offer.id): 3,  # follows it, or signed up for a session
        Audience(AudienceKind.SESSION, first.id): 1,  # with a seat
    }
    async with session_maker() as session:
        counted = {audience: await count_recipients(session, audience) for audience in expected}
    assert counted == expected


async def test_rows_are_written_page_by_page_and_never_twice(app, session_maker) -> None:
    await add_residents(session_maker, 25)
    async with session_maker.begin() as session:
        broadcast = await create_broadcast(
            session, created_by=ORGANISER, text="Hello", audience=Audience(AudienceKind.EVERYONE)
        )
    late_joiner = await add_residents(session_maker, 1)  # after the start: not included
    written = []
    for _ in range(5):
        async with session_maker.begin() as session:
            written.append(await plan_page(session, broadcast.id, page=10))
    assert written == [10, 10, 5, 0, 0]
    async with session_maker() as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast.id)
            )
        )
        stored = await session.get(Broadcast, broadcast.id)
        figures = await progress(session, stored)
    assert len({row.chat_id for row in rows}) == len(rows) == 25
    assert late_joiner[0] not in {row.chat_id for row in rows}
    assert all(row.state is OutboxState.PENDING and row.kind == "broadcast" for row in rows)
    assert stored.planned_all
    assert stored.planned == 25
    assert (figures.total, figures.waiting, figures.sent) == (25, 25, 0)


async def test_confirm_pressed_twice_sends_once(organiser: ResidentChat, app, session_maker):
    await add_residents(session_maker, 2)
    await organiser.send("/broadcast")
    await organiser.send("Doors open at ten")
    await organiser.press("Everyone")
    await organiser.press("Preview")
    await organiser.press("Send now")
    confirm = organiser._last_keyboard()
    await organiser.press("Confirm")
    await organiser._press(confirm, "bcp:confirm")  # the same button again, a moment later
    async with session_maker() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 1
        # Two presses racing past the form state still make one broadcast.
        key = (await session.scalar(select(Broadcast))).request_key
    async with session_maker.begin() as session:
        again = await create_broadcast(
            session,
            created_by=ORGANISER,
            text="Doors open at ten",
            audience=Audience(AudienceKind.EVERYONE),
            request_key=key,
        )
    async with session_maker() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 1
    assert again.request_key == key


async def test_a_big_city_can_send_paid_broadcasts(organiser: ResidentChat, app, session_maker):
    chats = await add_residents(session_maker, 2)
    paid_settings = app.settings.model_copy(update={"allow_paid_broadcast": True})
    app.dispatcher["settings"] = paid_settings
    app.settings = paid_settings
    sending = Sending(app, organiser.telegram)
    assert sending.worker.delivery.limiter.paid_interval == 1 / paid_settings.paid_broadcast_rate

    await organiser.send("/broadcast")
    await organiser.send("City-wide open day")
    await organiser.press("Everyone")
    await organiser.press("Preview")
    screen = await organiser.press("Send now")
    assert "Paid broadcast" in screen.text
    await organiser.press("Confirm")
    await sending.until_quiet()
    sent = [
        call
        for call in organiser.telegram.calls
        if call.method == "sendMessage" and int(call.params["chat_id"]) in chats
    ]
    assert len(sent) == 2
    assert all(call.params.get("allow_paid_broadcast") for call in sent)
    await sending.close()
