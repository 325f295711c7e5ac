"""Residents subscribe from the offer card, see /my, queue for full sessions, follow tracks.

Through the real dispatcher on SQLite and PostgreSQL; the database is checked afterwards.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from bot.callbacks.subscriptions import Subscribe
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import Subscription
from catalogue.models import utc_now
from catalogue.outbox.messages import OutboxState
from catalogue.seats import SeatState
from catalogue.seats import seat_states
from catalogue.seats import waitlist_position
from catalogue.subscriptions import my_subscriptions
from scheduler.planning import announce_new_offers
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
    """A local wall time in the city, `days` from today, as an aware UTC datetime."""
    zone = app.settings.city_zone
    day = datetime.now(zone).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


async def attendances(app) -> list[Seat]:
    async with app.session_maker() as session:
        return list(await session.scalars(select(Seat).order_by(Seat.id)))


async def test_remind_me_plans_a_reminder_a_day_and_an_hour_before(app, resident) -> None:
    starts = days_ahead(app, 3)
    made = await make_offer(app, [starts])
    await english_resident(resident)
    card = await open_card(resident, made)
    assert "Pottery for beginners" in card.text
    await resident.press("Remind me")
    assert last_answer(resident) == "Subscribed: I will remind you 1 day, 1 hour before."
    assert any("going · cancel" in label for label in resident.labels())
    assert "You are going" in resident.screen.text

    reminders = await outbox_rows(app, "reminder")
    assert [row.due_at for row in reminders] == [
        starts - timedelta(days=1),
        starts - timedelta(hours=1),
    ]
    assert {row.state for row in reminders} == {OutboxState.PENDING}
    assert {row.chat_id for row in reminders} == {resident.user.id}


async def test_my_lists_subscriptions_and_unsubscribes_with_a_button(app, resident) -> None:
    made = await make_offer(app, [days_ahead(app, 2)], title="Evening sketching")
    await english_resident(resident)
    screen = await resident.send("/my")
    assert "Nothing yet" in screen.text
    await open_card(resident, made)
    await resident.press("Remind me")

    screen = await resident.send("/my")
    assert "Evening sketching" in screen.text
    assert "18:30" in screen.text, "times are shown in the city's zone"
    assert "Reminders: 1 day, 1 hour before." in screen.text
    screen = await resident.press("✖")
    assert last_answer(resident) == "Unsubscribed."
    assert "Nothing yet" in screen.text
    (attendance,) = await attendances(app)
    assert attendance.status == SeatStatus.DECLINED
    assert {row.state for row in await outbox_rows(app, "reminder")} == {OutboxState.SKIPPED}


async def test_a_full_session_queues_and_promotes_with_a_message(app, user_id) -> None:
    made = await make_offer(app, [days_ahead(app, 4)], capacity=1, title="Glaze lab")
    first = await english_resident(ResidentChat(app, user_id=user_id))
    second = await english_resident(ResidentChat(app, user_id=user_id + 50_000))
    await open_card(first, made)
    await first.press("Remind me")
    assert "0 of 1 seats left" not in first.screen.text
    assert "Full: 0 on the waitlist" in first.screen.text

    await open_card(second, made)
    await second.press("Join the waitlist")
    assert last_answer(second) == "The session is full: you are number 1 on the waitlist."
    assert "You are number 1 on the waitlist." in second.screen.text
    assert not [row for row in await outbox_rows(app, "reminder") if row.chat_id == second.user.id]

    await first.press("going · cancel")  # the first resident gives the seat up
    assert last_answer(first) == "Unsubscribed."
    statuses = {row.resident_id: row.status for row in await attendances(app)}
    second_resident = await resident_row(app, second)
    assert statuses[second_resident.id] == SeatStatus.GOING

    worker = worker_for(app, second.telegram, utc_now())
    await worker.drain()
    await worker.stop()
    promoted = second.telegram.last_bot_message(second.user.id)
    assert "A seat came free: you are in for <b>Glaze lab</b>!" in promoted.text
    assert [b["text"] for b in promoted.buttons()][:2] == ["✅ I'm going", "❌ Can't come"]
    reminders = [row for row in await outbox_rows(app, "reminder") if row.state == "pending"]
    assert {row.chat_id for row in reminders} == {second.user.id}
    for chat in (first, second):
        await chat.close()


async def test_a_seat_is_committed_before_the_resident_is_told(app, resident) -> None:
    made = await make_offer(app, [days_ahead(app, 4)], capacity=3, title="Glaze lab")
    await english_resident(resident)
    await open_card(resident, made)
    seats_when_told: list[int] = []

    async def count_seats(make_request, bot, method):  # at the Bot API boundary
        async with app.session_maker() as session:
            count = select(func.count()).select_from(Seat)
            seats_when_told.append(await session.scalar(count))
        return await make_request(bot, method)

    resident.bot.session.middleware(count_seats)
    await resident.press("Remind me")
    assert "You are going" in resident.screen.text
    assert seats_when_told, "the bot said nothing"
    assert set(seats_when_told) == {1}, seats_when_told


async def test_following_an_offer_subscribes_to_every_session(app, resident) -> None:
    made = await make_offer(
        app, [days_ahead(app, 1), days_ahead(app, 8), days_ahead(app, 15)], capacity=10
    )
    await english_resident(resident)
    await open_card(resident, made)
    await resident.press("All sessions of this offer")
    assert last_answer(resident) == ("Following every session: 3 with a seat, 0 on a waitlist.")
    assert len(await attendances(app)) == 3
    screen = await resident.send("/my")
    assert "All sessions of: Pottery for beginners" in screen.text

    await open_card(resident, made)
    await resident.press("Stop following all sessions")
    assert await attendances(app) == []
    async with app.session_maker() as session:
        assert await session.scalar(select(Subscription)) is None


async def test_a_session_added_to_a_followed_offer_is_subscribed_to(app, resident) -> None:
    from catalogue.subscriptions import subscribe_followers_to_new_sessions

    made = await make_offer(app, [days_ahead(app, 2)])
    await english_resident(resident)
    await open_card(resident, made)
    await resident.press("All sessions of this offer")
    async with app.session_maker.begin() as session:
        later = days_ahead(app, 9)
        session.add(
            OfferSession(
                external_id=f"{made.external_id}-extra",
                offer_id=made.offer_id,
                starts_at=later,
                ends_at=later + timedelta(hours=1),
            )
        )
    async with app.session_maker.begin() as session:
        assert await subscribe_followers_to_new_sessions(session, utc_now(), app.settings.city_zone)
    assert len(await attendances(app)) == 2


async def test_following_a_track_brings_news_of_new_offers(app, resident) -> None:
    made = await make_offer(app, [days_ahead(app, 5)])
    await english_resident(resident)  # a newcomer sees the categories next
    await resident.press(made.category_title)
    await resident.press(made.track_title)
    await resident.press("1.")
    await resident.press("Follow the track")
    assert last_answer(resident) == "Following: I will tell you about new offers in it."
    assert any("Unfollow the track" in label for label in resident.labels())

    await make_offer(app, [days_ahead(app, 6)], title="Raku firing", track_id=made.track_id)
    async with app.session_maker.begin() as session:
        queued = await announce_new_offers(session, utc_now(), app.settings.city_zone)
    assert queued == 1
    async with app.session_maker.begin() as session:  # running it again queues nothing new
        await announce_new_offers(session, utc_now(), app.settings.city_zone)
    assert len(await outbox_rows(app, "announce")) == 1

    worker = worker_for(app, resident.telegram, utc_now())
    await worker.drain()
    await worker.stop()
    news = resident.screen
    assert f"New in {made.track_title}: <b>Raku firing</b>" in news.text
    screen = await resident.press("Details")
    assert "Raku firing" in screen.text


async def test_forged_and_stale_subscribe_buttons_get_an_answer(app, resident) -> None:
    await english_resident(resident)
    forged = Subscribe(what="s", target=999_999, offer_id=999_999).pack()
    screen = await resident.press_data(forged)
    assert last_answer(resident) == "This is no longer in the programme."
    assert "no longer in the programme" in screen.text
    await resident.press_data("sub:x:1:1:0:0")
    assert last_answer(resident) == "This button is out of date."


async def test_a_session_that_has_begun_cannot_be_subscribed_to(app, resident) -> None:
    made = await make_offer(app, [utc_now() + timedelta(minutes=30)])
    await english_resident(resident)
    await open_card(resident, made)
    async with app.session_maker.begin() as session:  # time passes: it has begun
        offer_session = await session.get(OfferSession, made.session_ids[0])
        offer_session.starts_at = utc_now() - timedelta(minutes=5)
    await resident.press("Remind me")
    assert last_answer(resident) == "This session has already begun."
    assert await attendances(app) == []


async def test_every_view_counts_the_waitlist_in_one_order(app, user_id) -> None:
    """Waitlisted earlier is ahead; at the same instant, the earlier row. The card, /my and the
    Mini App's seat states count by the one rule in catalogue/seats.py."""
    made = await make_offer(app, [days_ahead(app, 5)], capacity=1, title="Kiln night")
    (session_id,) = made.session_ids
    chats = [
        await english_resident(ResidentChat(app, user_id=user_id + 70_000 + number))
        for number in range(4)
    ]
    residents = [await resident_row(app, chat) for chat in chats]
    joined = utc_now() - timedelta(hours=1)
    async with app.session_maker.begin() as session:
        going = SeatStatus.GOING
        session.add(Seat(resident_id=residents[0].id, session_id=session_id, status=going))
        # Added in this order: the last two at the same instant, so their ids decide.
        for resident, when in [
            (residents[3], joined),
            (residents[1], joined + timedelta(minutes=5)),
            (residents[2], joined + timedelta(minutes=5)),
        ]:
            status = SeatStatus.WAITLISTED
            session.add(Seat(resident_id=resident.id, session_id=session_id, status=status))
            await session.flush()
            await session.execute(
                update(Seat).where(Seat.resident_id == resident.id).values(created_at=when)
            )
    expected = {residents[3].id: 1, residents[1].id: 2, residents[2].id: 3}

    async with app.session_maker() as session:
        for resident_id, place in expected.items():
            states = await seat_states(session, resident_id, [session_id])
            assert states[session_id] == SeatState(SeatStatus.WAITLISTED, place)
            seat = await session.scalar(select(Seat).where(Seat.resident_id == resident_id))
            assert await waitlist_position(session, seat) == place
            resident = await session.get(Resident, resident_id)
            (mine,) = (await my_subscriptions(session, resident, utc_now())).sessions
            assert mine.position == place
        going = await seat_states(session, residents[0].id, [session_id])
        assert going[session_id] == SeatState(SeatStatus.GOING)

    card = await open_card(chats[2], made)
    assert "You are number 3 on the waitlist." in card.text
