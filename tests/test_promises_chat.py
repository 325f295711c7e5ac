"""What the bot tells residents and organisers, and that it then does it (issue 15; issue 14
items 8 and 11): reminders it promises, reminder times all unticked, "Remind me" under a
session already under way, announcements measured as residents see them, and broadcasts
changed only by whoever made them (or an administrator).

Through the real dispatcher on SQLite and PostgreSQL; the database is checked afterwards.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from catalogue.models import Offer
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.outbox.broadcasts import Audience
from catalogue.outbox.broadcasts import AudienceKind
from catalogue.outbox.broadcasts import Broadcast
from catalogue.outbox.broadcasts import BroadcastState
from catalogue.outbox.broadcasts import create_broadcast
from catalogue.outbox.messages import OutboxState
from catalogue.team import Role
from catalogue.team import TeamMember
from tests.reminder_world import english_resident
from tests.reminder_world import last_answer
from tests.reminder_world import make_offer
from tests.reminder_world import open_card
from tests.reminder_world import outbox_rows
from tests.reminder_world import resident_row
from tests.resident_chat import ResidentChat

OLGA, PAVEL, ADMIN = 940_001, 940_002, 940_003


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"load_demo": False, "admin_ids": frozenset({ADMIN})})


def pending_reminders(rows) -> list:
    return [row for row in rows if row.state == OutboxState.PENDING]


# ---------------------------------------------------------------- reminders


async def test_remind_me_an_hour_and_a_half_before_promises_only_the_hour(app, resident):
    made = await make_offer(app, [utc_now() + timedelta(minutes=90)])
    await english_resident(resident)
    await open_card(resident, made)
    await resident.press("Remind me")
    assert last_answer(resident) == "Subscribed: I will remind you 1 hour before."
    rows = pending_reminders(await outbox_rows(app, "reminder"))
    assert [row.payload["offset"] for row in rows] == [60]


async def test_remind_me_too_close_to_the_start_says_no_reminder_will_come(app, resident):
    made = await make_offer(app, [utc_now() + timedelta(minutes=40)])
    await english_resident(resident)
    await open_card(resident, made)
    await resident.press("Remind me")
    assert "none will come" in last_answer(resident)
    assert "remind you 1 day" not in last_answer(resident)
    assert pending_reminders(await outbox_rows(app, "reminder")) == []


async def test_unticking_every_reminder_time_turns_reminders_off_and_says_so(app, resident):
    made = await make_offer(app, [utc_now() + timedelta(days=3)])
    await english_resident(resident)
    await open_card(resident, made)
    await resident.press("Remind me")
    await resident.send("/settings")
    await resident.press("Reminder times")
    await resident.press("1 day before")
    await resident.press("1 hour before")
    assert last_answer(resident) == "No reminder time is left, so reminders are off."
    assert "Reminders are off" in resident.screen.text
    stored = await resident_row(app, resident)
    assert stored.reminders_on is False
    assert pending_reminders(await outbox_rows(app, "reminder")) == []
    screen = await resident.send("/settings")
    assert "Reminders are off." in screen.text
    assert "none before" not in screen.text

    # Turning them on again brings the usual times back, and the reminders with them.
    screen = await resident.press("Turn reminders on")
    assert "Reminders: 1 day, 1 hour before." in screen.text
    assert len(pending_reminders(await outbox_rows(app, "reminder"))) == 2


async def test_a_session_under_way_offers_no_reminder(app, resident) -> None:
    made = await make_offer(app, [utc_now() - timedelta(minutes=20), utc_now() + timedelta(days=2)])
    await english_resident(resident)
    card = await open_card(resident, made)
    assert "In progress now" in card.text
    reminders = [label for label in resident.labels() if "Remind me" in label]
    assert len(reminders) == 1, "only the session still ahead can be reminded of"


# ---------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("language", "button", "written"), [("ru", "Русский", "300 ₽"), ("en", "English", "RUB 300")]
)
async def test_a_price_reads_as_the_residents_language_writes_money(
    app, user_id, language, button, written
) -> None:
    made = await make_offer(app, [utc_now() + timedelta(days=2)])
    async with app.session_maker.begin() as session:
        offer = await session.get(Offer, made.offer_id)
        offer.price_minor, offer.currency = 30000, "RUB"
    chat = ResidentChat(app, user_id=user_id, language_code=language)
    await chat.send("/start")
    await chat.press(button)
    card = await open_card(chat, made)
    assert written in card.text
    assert "RUB300" not in card.text
    assert "300.00" not in card.text
    await chat.close()


# ---------------------------------------------------------------- privacy
async def test_privacy_names_everything_export_me_shows(app, resident) -> None:
    """Pass code, age group, check-ins, and a line for every table /export_me can include."""
    from bot.screens.privacy import kept_items
    from catalogue.privacy import personal_links

    screen = await resident.send("/privacy")
    for words in ("pass code", "age group", "check-ins", "comments"):
        assert words in screen.text
    exported = {table.name for table, _column in personal_links()} | {"resident", "team_member"}
    with app.i18n.context(), app.i18n.use_locale("en"):
        lines = kept_items()
    assert exported <= set(lines), f"/privacy says nothing of {sorted(exported - set(lines))}"
    assert all(line in screen.text for line in lines.values())


# ---------------------------------------------------------------- broadcasts


async def team_chat(app, session_maker, telegram_id: int, role: Role | None) -> ResidentChat:
    if role is not None:
        async with session_maker.begin() as session:
            session.add(TeamMember(telegram_id=telegram_id, role=role, display_name="Team"))
    chat = ResidentChat(app, user_id=telegram_id, language_code="en")
    await chat.send("/start")
    await chat.press("English")
    return chat


async def test_two_thousand_ampersands_are_an_announcement_not_too_long(app, session_maker):
    olga = await team_chat(app, session_maker, OLGA, Role.ORGANISER)
    await olga.send("/broadcast")
    screen = await olga.send("&" * 2000)
    assert "4096" not in screen.text
    assert "Who should receive it?" in screen.text
    screen = await olga.send("/broadcast")
    screen = await olga.send("&" * 4097)
    assert "up to 4096 characters" in screen.text
    await olga.close()


async def test_only_its_organiser_or_an_administrator_changes_a_broadcast(app, session_maker):
    olga = await team_chat(app, session_maker, OLGA, Role.ORGANISER)
    pavel = await team_chat(app, session_maker, PAVEL, Role.ORGANISER)
    admin = await team_chat(app, session_maker, ADMIN, None)
    async with session_maker.begin() as session:
        session.add(Resident(telegram_id=950_000, language="en", language_chosen=True))
        await session.flush()
        made = await create_broadcast(
            session,
            created_by=OLGA,
            text="Choir at noon",
            audience=Audience(AudienceKind.EVERYONE),
            due_at=utc_now() + timedelta(days=1),
        )
    scheduled = f"bcc:{made.id}:cancel"

    async def state() -> BroadcastState:
        async with session_maker() as session:
            return await session.scalar(select(Broadcast.state).where(Broadcast.id == made.id))

    await pavel.press_data(scheduled)
    assert "Only the organiser who made this broadcast" in last_answer(pavel)
    assert await state() is BroadcastState.SCHEDULED
    await admin.press_data(scheduled)
    assert await state() is BroadcastState.CANCELLED
    for chat in (olga, pavel, admin):
        await chat.close()


async def test_seat_holders_and_people_checked_in_are_two_audiences(app, session_maker):
    """Two residents held a seat at a session under way; one came. Each audience is named
    for what it is and counts whom it says."""
    from catalogue.checkin.door import check_in_resident
    from catalogue.checkin.tables import CheckInMethod
    from catalogue.models import OfferSession
    from catalogue.models import Seat
    from catalogue.models import SeatStatus

    made = await make_offer(app, [utc_now() - timedelta(minutes=30)], title="Kiln safety")
    async with session_maker.begin() as session:
        residents = [
            Resident(telegram_id=960_000 + n, language="en", language_chosen=True) for n in range(2)
        ]
        session.add_all(residents)
        await session.flush()
        for resident in residents:
            session.add(
                Seat(
                    resident_id=resident.id,
                    session_id=made.session_ids[0],
                    status=SeatStatus.GOING,
                )
            )
        await session.flush()
        offer_session = await session.get(OfferSession, made.session_ids[0])
        await check_in_resident(
            session, offer_session, residents[0], CheckInMethod.SELF, None, utc_now()
        )
    olga = await team_chat(app, session_maker, OLGA, Role.ORGANISER)
    await olga.send("/broadcast")
    await olga.send("Thank you for coming")
    assert "Seat holders of a session" in olga.labels()
    assert "Attendees of a session" not in olga.labels()
    await olga.press("People checked in at a session")
    await olga.send("Kiln")
    await olga.press("Kiln safety")
    screen = await olga.press(olga.labels()[0])
    assert "people checked in at Kiln safety" in screen.text
    assert "It will reach 1 residents" in screen.text
    await olga.close()


# ---------------------------------------------------------------- comments


async def test_comments_reach_the_organisers_once_a_day(app, session_maker, resident) -> None:
    from bot.callbacks.feedback import RateSession
    from tests.checkin_world import pass_code
    from tests.checkin_world import session_now
    from tests.reminder_world import worker_for

    made = await session_now(app, title="Kiln evening")
    volunteer = await team_chat(app, session_maker, 940_010, Role.VOLUNTEER)
    olga = await team_chat(app, session_maker, OLGA, Role.ORGANISER)
    await english_resident(resident)
    await volunteer.send(f"/attend {made.session_ids[0]} {await pass_code(resident)}")
    await resident.press_data(RateSession(session_id=made.session_ids[0], score=4).pack())
    screen = await resident.send("The glaze demo was <superb>")
    assert "the organisers will read it" in screen.text

    # The first comment of the day goes to the organiser at once, and only to them.
    (first,) = await outbox_rows(app, "comments")
    assert first.chat_id == OLGA
    await worker_for(app, olga.telegram, utc_now() + timedelta(seconds=1)).drain()
    text = olga.screen.text
    assert "Kiln evening" in text
    assert "The glaze demo was &lt;superb&gt;" in text
    assert "⭐⭐⭐⭐" in text
    assert str(resident.user.id) not in text, "never who wrote it"

    # A later one waits for tomorrow's message, at 09:00 the organiser's time.
    await resident.press_data(RateSession(session_id=made.session_ids[0], score=5).pack())
    await resident.send("And the tea too")
    later = [row for row in await outbox_rows(app, "comments") if row.id != first.id]
    (second,) = later
    zone = app.settings.city_zone
    assert second.due_at.astimezone(zone).strftime("%H:%M") == "09:00"
    assert second.due_at.astimezone(zone).date() > utc_now().astimezone(zone).date()
    await worker_for(app, olga.telegram, second.due_at - timedelta(minutes=1)).drain()
    assert "tea" not in olga.screen.text, "one message a day"
    await worker_for(app, olga.telegram, second.due_at + timedelta(minutes=1)).drain()
    assert "And the tea too" in olga.screen.text
    assert "glaze" not in olga.screen.text, "each comment once"
    for chat in (volunteer, olga):
        await chat.close()


# ---------------------------------------------------------------- the audit of replies


async def test_a_seat_freed_for_someone_without_reminders_promises_none(app, user_id) -> None:
    from tests.reminder_world import worker_for

    made = await make_offer(app, [utc_now() + timedelta(days=2)], capacity=1, title="Glaze lab")
    first = await english_resident(ResidentChat(app, user_id=user_id))
    second = await english_resident(ResidentChat(app, user_id=user_id + 50_000))
    await second.send("/settings")
    await second.press("Turn reminders off")
    await open_card(first, made)
    await first.press("Remind me")
    await open_card(second, made)
    await second.press("Join the waitlist")
    await first.press("going · cancel")
    worker = worker_for(app, second.telegram, utc_now())
    await worker.drain()
    await worker.stop()
    promoted = second.telegram.last_bot_message(second.user.id)
    assert "A seat came free" in promoted.text
    assert "I will remind you" not in promoted.text, "reminders are off: none will come"
    for chat in (first, second):
        await chat.close()


async def test_following_with_news_off_does_not_promise_news(app, resident) -> None:
    from bot.callbacks.subscriptions import Subscribe

    made = await make_offer(app, [utc_now() + timedelta(days=2)])
    await english_resident(resident)
    await resident.send("/settings")
    await resident.press("Turn news off")
    await open_card(resident, made)
    follow = Subscribe(
        what="t", target=made.track_id, offer_id=made.offer_id, track_id=made.track_id, page=0
    )
    await resident.press_data(follow.pack())
    assert "I will tell you about new offers" not in last_answer(resident)
    assert "News of new offers is off" in last_answer(resident)


async def test_the_preview_shows_links_as_residents_will_see_them(app, session_maker) -> None:
    olga = await team_chat(app, session_maker, OLGA, Role.ORGANISER)
    await olga.send("/broadcast")
    await olga.send("Programme: https://example.org/festival")
    await olga.press("Everyone")
    await olga.press("Preview")
    (preview,) = [
        call for call in olga.calls("sendMessage") if "example.org" in str(call.params.get("text"))
    ]
    assert "is_disabled" in str(preview.params.get("link_preview_options")), (
        "residents get it without a link preview (scheduler/delivery.py)"
    )
    await olga.close()
