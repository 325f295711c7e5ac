"""Reminders arrive once, at the right local time, with working buttons; changes follow.

A resident subscribes through the real dispatcher; an outbox worker whose clock is set to a
chosen moment sends into the same chat, so the resident can press the reminder's buttons.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from catalogue.models import OfferSession
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import utc_now
from catalogue.outbox.messages import OutboxState
from catalogue.session_changes import cancel_session
from catalogue.session_changes import reschedule_session
from scheduler.planning import resync_reminders
from tests.reminder_world import english_resident
from tests.reminder_world import last_answer
from tests.reminder_world import make_offer
from tests.reminder_world import open_card
from tests.reminder_world import outbox_rows
from tests.reminder_world import resident_row
from tests.reminder_world import worker_for
from tests.resident_chat import ResidentChat


@pytest.fixture
def settings(settings):
    """Only the programme each test makes (tests/reminder_world.py), no demo catalogue."""
    return settings.model_copy(update={"load_demo": False})


def days_ahead(app, days: int, hour: int = 18, minute: int = 30) -> datetime:
    zone = app.settings.city_zone
    day = datetime.now(zone).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


async def subscribed(app, chat: ResidentChat, starts: list[datetime], **options):
    made = await make_offer(app, starts, **options)
    await english_resident(chat)
    await open_card(chat, made)
    await chat.press("Remind me")
    return made


async def send_due(app, chat: ResidentChat, at: datetime) -> None:
    """The bot runs at `at` and sends whatever is due."""
    worker = worker_for(app, chat.telegram, at)
    await worker.drain()
    await worker.stop()


def bot_messages(chat: ResidentChat) -> list[str]:
    return [m.text for m in chat.telegram.chat_messages(chat.user.id) if m.from_bot]


async def test_the_reminder_says_what_when_and_where_with_three_buttons(app, resident) -> None:
    starts = days_ahead(app, 2)
    await subscribed(app, resident, [starts])
    await send_due(app, resident, starts - timedelta(hours=1))

    reminder = resident.screen
    assert "Reminder: <b>Pottery for beginners</b> starts in 1 hour." in reminder.text
    local = starts.astimezone(app.settings.city_zone)
    assert "18:30–20:00" in reminder.text
    assert local.strftime("%-d") in reminder.text
    assert "Old Factory, 1 Mill Street" in reminder.text
    assert "https://www.openstreetmap.org/?mlat=56.501200&amp;mlon=60.815500" in reminder.text
    assert [button["text"] for button in reminder.buttons()] == [
        "✅ I'm going",
        "❌ Can't come",
        "📅 Add to calendar",
        "ℹ️ Details",
    ]
    (sent,) = [row for row in await outbox_rows(app, "reminder") if row.state == "sent"]
    assert sent.payload == {"offset": 60}


async def test_a_reminder_is_sent_once_however_often_the_worker_looks(app, resident) -> None:
    starts = days_ahead(app, 2)
    await subscribed(app, resident, [starts])
    for _ in range(3):
        await send_due(app, resident, starts - timedelta(minutes=59))
    assert len([text for text in bot_messages(resident) if "Reminder:" in text]) == 1


async def test_im_going_and_the_calendar_file(app, resident) -> None:
    starts = days_ahead(app, 2)
    made = await subscribed(app, resident, [starts])
    await send_due(app, resident, starts - timedelta(hours=1))

    await resident.press("I'm going")
    assert last_answer(resident) == "Great, see you there!"
    async with app.session_maker() as session:
        attendance = await session.scalar(select(Seat))
    assert attendance.confirmed_at is not None

    await resident.press("Add to calendar")
    assert last_answer(resident) == "Calendar file sent."
    document = resident.screen
    assert document.document_name == f"{made.external_id}.ics"
    calendar = Calendar.from_ical(resident.telegram.sent_files[document.document_name])
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == starts
    assert event.decoded("dtend") == starts + timedelta(minutes=90)
    assert str(event["summary"]) == "Pottery for beginners"
    assert "Old Factory" in str(event["location"])


async def test_cant_come_frees_the_seat_for_the_waitlist(app, user_id) -> None:
    starts = days_ahead(app, 3)
    first = ResidentChat(app, user_id=user_id)
    made = await subscribed(app, first, [starts], capacity=1)
    second = await english_resident(ResidentChat(app, user_id=user_id + 50_000))
    await open_card(second, made)
    await second.press("Join the waitlist")

    await send_due(app, first, starts - timedelta(days=1))
    await first.press("Can't come")
    assert last_answer(first) == "Noted: your seat goes to the next in line. No more reminders."
    assert not first.screen.buttons(), "the reminder's buttons are gone"
    first_reminders = [r for r in await outbox_rows(app, "reminder") if r.chat_id == user_id]
    assert [r.state for r in first_reminders] == [OutboxState.SENT, OutboxState.SKIPPED]

    await send_due(app, second, utc_now())
    assert "A seat came free" in second.screen.text
    await send_due(app, second, starts - timedelta(hours=1))
    assert "Reminder: <b>Pottery for beginners</b>" in second.screen.text
    for chat in (first, second):
        await chat.close()


async def test_after_downtime_a_due_reminder_goes_out_if_the_session_is_ahead(
    app, resident
) -> None:
    starts = days_ahead(app, 2)
    await subscribed(app, resident, [starts])
    # The bot was down through both reminder times and starts 20 minutes before the session:
    # only the latest reminder goes out.
    await send_due(app, resident, starts - timedelta(minutes=20))
    reminders = [text for text in bot_messages(resident) if "Reminder:" in text]
    assert len(reminders) == 1
    assert reminders[0].startswith(
        "⏰ Reminder: <b>Pottery for beginners</b> starts in 20 minutes."
    )
    states = [row.state for row in await outbox_rows(app, "reminder")]
    assert states == [OutboxState.SKIPPED, OutboxState.SENT]


async def test_after_downtime_a_reminder_for_a_session_that_began_is_dropped(app, resident) -> None:
    starts = days_ahead(app, 2)
    await subscribed(app, resident, [starts])
    await send_due(app, resident, starts + timedelta(hours=2))
    assert not [text for text in bot_messages(resident) if "Reminder:" in text]
    rows = await outbox_rows(app, "reminder")
    assert {row.state for row in rows} == {OutboxState.SKIPPED}
    assert {row.last_error for row in rows} == {"session already begun"}


async def test_a_rescheduled_session_is_announced_once_and_its_reminders_move(
    app, resident
) -> None:
    starts = days_ahead(app, 3)
    made = await subscribed(app, resident, [starts])
    moved_to = days_ahead(app, 4, 19, 0)
    async with app.session_maker.begin() as session:
        report = await reschedule_session(
            session,
            made.session_ids[0],
            moved_to,
            moved_to + timedelta(hours=2),
            city_zone=app.settings.city_zone,
        )
    assert report.changed
    assert report.notified == 1
    async with app.session_maker.begin() as session:  # the organiser presses Save twice
        again = await reschedule_session(
            session,
            made.session_ids[0],
            moved_to,
            moved_to + timedelta(hours=2),
            city_zone=app.settings.city_zone,
        )
    assert not again.changed

    reminders = [r for r in await outbox_rows(app, "reminder") if r.state == "pending"]
    assert [r.due_at for r in reminders] == [
        moved_to - timedelta(days=1),
        moved_to - timedelta(hours=1),
    ]
    await send_due(app, resident, utc_now())
    await send_due(app, resident, utc_now() + timedelta(minutes=1))
    notices = [text for text in bot_messages(resident) if "Changed:" in text]
    assert len(notices) == 1
    old = starts.astimezone(app.settings.city_zone)
    assert f"Was: {old.day} " in notices[0]
    assert "19:00–21:00" in notices[0]
    assert "Your reminders have moved with it." in notices[0]


async def test_two_quick_changes_make_one_notice_from_the_first_time(app, resident) -> None:
    starts = days_ahead(app, 3)
    made = await subscribed(app, resident, [starts])
    zone = app.settings.city_zone
    for day in (4, 5):
        moved_to = days_ahead(app, day, 10, 0)
        async with app.session_maker.begin() as session:
            await reschedule_session(
                session,
                made.session_ids[0],
                moved_to,
                moved_to + timedelta(hours=1),
                city_zone=zone,
                now=utc_now() + timedelta(seconds=day),
            )
    await send_due(app, resident, utc_now() + timedelta(minutes=1))
    (notice,) = [text for text in bot_messages(resident) if "Changed:" in text]
    assert f"Was: {starts.astimezone(zone).day} " in notice
    assert "10:00–11:00" in notice


async def test_a_cancelled_session_is_announced_and_its_reminders_dropped(app, resident):
    starts = days_ahead(app, 3)
    made = await subscribed(app, resident, [starts])
    async with app.session_maker.begin() as session:
        report = await cancel_session(
            session, made.session_ids[0], city_zone=app.settings.city_zone
        )
    assert report.notified == 1
    assert {r.state for r in await outbox_rows(app, "reminder")} == {OutboxState.SKIPPED}
    await send_due(app, resident, utc_now())
    assert "Cancelled: <b>Pottery for beginners</b>" in resident.screen.text
    await send_due(app, resident, starts - timedelta(hours=1))
    assert not [text for text in bot_messages(resident) if "Reminder:" in text]


async def test_a_session_moved_by_an_import_carries_its_reminders(app, resident) -> None:
    starts = days_ahead(app, 3)
    made = await subscribed(app, resident, [starts])
    later = starts + timedelta(days=1)
    async with app.session_maker.begin() as session:  # a catalogue import moved it
        offer_session = await session.get(OfferSession, made.session_ids[0])
        offer_session.starts_at, offer_session.ends_at = later, later + timedelta(hours=1)
    # Even before the upkeep job notices, no reminder goes out at the old time: each due
    # one sees the new start and waits for its new time.
    await send_due(app, resident, starts - timedelta(hours=1))
    assert not [text for text in bot_messages(resident) if "Reminder:" in text]
    pending = [r for r in await outbox_rows(app, "reminder") if r.state == "pending"]
    assert [r.due_at for r in pending] == [later - timedelta(days=1), later - timedelta(hours=1)]
    await send_due(app, resident, later - timedelta(hours=1))
    assert "starts in 1 hour" in resident.screen.text

    # Moved again: the upkeep job moves reminders not yet due, and the one already sent for
    # the old time is due again for the new one.
    again = later + timedelta(days=2)
    async with app.session_maker.begin() as session:
        offer_session = await session.get(OfferSession, made.session_ids[0])
        offer_session.starts_at, offer_session.ends_at = again, again + timedelta(hours=1)
    async with app.session_maker.begin() as session:
        assert await resync_reminders(session, utc_now(), app.settings.city_zone) == 1
    pending = [r for r in await outbox_rows(app, "reminder") if r.state == "pending"]
    assert [r.due_at for r in pending] == [again - timedelta(days=1), again - timedelta(hours=1)]


async def test_settings_change_offsets_quiet_hours_and_time_zone(app, resident) -> None:
    starts = days_ahead(app, 3, 7, 30)
    await subscribed(app, resident, [starts])
    screen = await resident.send("/settings")
    assert "Reminders: 1 day, 1 hour before." in screen.text
    await resident.press("Reminder times")
    await resident.press("1 day before")  # off
    await resident.press("15 minutes before")  # on
    pending = [r for r in await outbox_rows(app, "reminder") if r.state == "pending"]
    assert sorted(r.payload["offset"] for r in pending) == [15, 60]

    await resident.press("Back")
    await resident.press("Quiet hours")
    screen = await resident.send("23:00-07:00")
    assert "Quiet hours: 23:00–07:00" in screen.text
    pending = [r for r in await outbox_rows(app, "reminder") if r.state == "pending"]
    zone = app.settings.city_zone
    # 06:30 falls in the quiet hours: it comes at 22:59 the evening before; 07:15 stays.
    assert sorted(r.due_at.astimezone(zone).strftime("%H:%M") for r in pending) == [
        "07:15",
        "22:59",
    ]

    await resident.press("Time zone")
    screen = await resident.send("Atlantis/Lost")
    assert "I don't know the time zone “Atlantis/Lost”" in screen.text
    await resident.send("dublin")
    assert "Time zone: Europe/Dublin" in resident.screen.text
    stored = await resident_row(app, resident)
    assert stored.timezone == "Europe/Dublin"
    assert (stored.quiet_from, stored.quiet_until) == (23 * 60, 7 * 60)
    dublin = ZoneInfo("Europe/Dublin")
    pending = [r for r in await outbox_rows(app, "reminder") if r.state == "pending"]
    # The 07:30 class is at 02:30 in Dublin: both reminders fall in Dublin's quiet hours.
    assert {r.due_at.astimezone(dublin).strftime("%H:%M") for r in pending} == {"22:59"}


async def test_reminders_off_stops_them_and_on_brings_them_back(app, resident) -> None:
    starts = days_ahead(app, 3)
    await subscribed(app, resident, [starts])
    await resident.send("/settings")
    await resident.press("Turn reminders off")
    assert {r.state for r in await outbox_rows(app, "reminder")} == {OutboxState.SKIPPED}
    assert "Reminders are off." in resident.screen.text
    await resident.press("Turn reminders on")
    assert {r.state for r in await outbox_rows(app, "reminder")} == {OutboxState.PENDING}


async def test_the_weekly_digest_comes_on_the_chosen_day(app, resident) -> None:
    made = await make_offer(app, [days_ahead(app, 2), days_ahead(app, 9)], title="Wheel throwing")
    await english_resident(resident)
    await resident.press(made.category_title)
    await resident.press(made.track_title)
    await resident.send("/settings")
    await resident.press("Weekly digest")
    await resident.press("Wed")
    await resident.press("18:00")
    stored = await resident_row(app, resident)
    assert (stored.digest_weekday, stored.digest_minute) == (2, 18 * 60)
    (digest,) = await outbox_rows(app, "digest")
    local = digest.due_at.astimezone(app.settings.city_zone)
    assert (local.weekday(), local.strftime("%H:%M")) == (2, "18:00")

    await send_due(app, resident, digest.due_at)
    text = resident.screen.text
    assert f"Your week in {made.track_title}" in text
    assert "Wheel throwing" in text
    await resident.send("/settings")
    await resident.press("Weekly digest")
    await resident.press("No digest")
    assert (await resident_row(app, resident)).digest_weekday is None


async def test_waitlisted_residents_are_told_about_a_cancellation_too(app, user_id) -> None:
    starts = days_ahead(app, 3)
    first = ResidentChat(app, user_id=user_id)
    made = await subscribed(app, first, [starts], capacity=1)
    second = await english_resident(ResidentChat(app, user_id=user_id + 50_000))
    await open_card(second, made)
    await second.press("Join the waitlist")
    async with app.session_maker.begin() as session:
        report = await cancel_session(
            session, made.session_ids[0], city_zone=app.settings.city_zone
        )
    assert report.notified == 2
    async with app.session_maker() as session:
        statuses = set(await session.scalars(select(Seat.status)))
    assert statuses == {SeatStatus.GOING, SeatStatus.WAITLISTED}
    await send_due(app, first, utc_now())  # one bot sends to both
    for chat in (first, second):
        notice = first.telegram.last_bot_message(chat.user.id)
        assert "Cancelled: <b>Pottery for beginners</b>" in notice.text
        await chat.close()
