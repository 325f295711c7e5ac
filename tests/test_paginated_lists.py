"""Lists that grow come page by page (issue 14): an offer's sessions on the organiser's screen
and a resident's seats on /my. Every item is reachable with ‹ n / m ›, every page fits in one
Telegram message, and a forged page number is answered "out of date"."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from bot.startup.offline_api import ChatMessage
from catalogue.models import ACTIVE
from catalogue.models import Category
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import OfferKind
from catalogue.models import OfferSession
from catalogue.models import Provider
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import SessionStatus
from catalogue.models import Track
from catalogue.models import Venue
from catalogue.models import utc_now
from tests.resident_chat import ResidentChat

MESSAGE_LIMIT = 4096
BUTTON_LIMIT = 100
OPEN_SESSION = re.compile(r"^pgs:(\d+)$")
CANCEL_SEAT = re.compile(r"^uns:s:(\d+):(\d+)$")


async def offer_with_sessions(session_maker, external_id: str, count: int) -> tuple[int, list[int]]:
    """A new offer with `count` upcoming sessions, one every three hours from tomorrow."""
    start = utc_now().replace(microsecond=0) + timedelta(days=1)
    async with session_maker.begin() as session:
        provider = await session.scalar(select(Provider).order_by(Provider.id).limit(1))
        offer = Offer(
            external_id=external_id,
            title={"en": f"Paged {external_id}"},
            description={"en": "Many sessions."},
            kind=OfferKind.WORKSHOP,
            format=OfferFormat.IN_PERSON,
            language="en",
            provider_id=provider.id,
            accessibility={},
            keywords=[],
        )
        session.add(offer)
        await session.flush()
        sessions = [
            OfferSession(
                external_id=f"{external_id}-{number}",
                offer_id=offer.id,
                starts_at=start + timedelta(hours=3 * number),
                ends_at=start + timedelta(hours=3 * number + 1),
            )
            for number in range(count)
        ]
        session.add_all(sessions)
        await session.flush()
        return offer.id, [item.id for item in sessions]


async def open_offer(organiser: ResidentChat, external_id: str) -> ChatMessage:
    """The organiser's screen of the offer, found by its id in /programme."""
    await organiser.send("/programme")
    await organiser.send(external_id)
    return await organiser.press(f"Paged {external_id}")


def assert_fits(chat: ResidentChat) -> None:
    assert len(chat.screen.text) < MESSAGE_LIMIT
    assert len(chat.screen.buttons()) < BUTTON_LIMIT


def data_matching(chat: ResidentChat, pattern: re.Pattern[str]) -> list[re.Match[str]]:
    found = (pattern.match(button.get("callback_data", "")) for button in chat.screen.buttons())
    return [match for match in found if match]


def last_answer(chat: ResidentChat) -> str:
    return chat.calls("answerCallbackQuery")[-1].params.get("text", "")


async def assert_out_of_date(chat: ResidentChat, forged: list[str]) -> None:
    """Each forged callback data is answered "out of date", not with an error."""
    for data in forged:
        await chat.press_data(data)
        assert "out of date" in last_answer(chat), data


async def test_every_session_of_a_large_offer_is_reachable_page_by_page(
    organiser: ResidentChat, session_maker
) -> None:
    offer_id, session_ids = await offer_with_sessions(session_maker, "paged-120", 120)
    screen = await open_offer(organiser, "paged-120")
    assert "Upcoming: 1–10 of 120" in screen.text
    assert "1 / 12" in organiser.labels()

    seen: list[int] = []
    for page in range(1, 13):
        assert_fits(organiser)
        assert f"{page} / 12" in organiser.labels()
        first = (page - 1) * 10 + 1
        assert f"Upcoming: {first}–{first + 9} of 120" in organiser.screen.text
        seen += [int(match.group(1)) for match in data_matching(organiser, OPEN_SESSION)]
        if page < 12:
            await organiser.press("›")
    assert "›" not in organiser.labels(), "the last page has no next"
    assert seen == session_ids, "every session once, soonest first"

    # Back a page, and a session from late in the list opens and can be cancelled.
    await organiser.press("‹")
    assert "11 / 12" in organiser.labels()
    late = data_matching(organiser, OPEN_SESSION)[-1].group(0)
    await organiser.press_data(late)
    await organiser.press("Back")
    assert "11 / 12" in organiser.labels(), "Back leads to the page listing the session"
    await organiser.press_data(late)
    await organiser.press("Cancel session")
    screen = await organiser.press("Yes, cancel it")
    assert "11 / 12" in organiser.labels(), "back on the page it was on"
    assert "Upcoming: 101–110 of 120" in screen.text
    async with session_maker() as session:
        cancelled = await session.get(OfferSession, int(late.split(":")[1]))
    assert cancelled.status == SessionStatus.CANCELLED

    # A page past the last shows the last; a forged one is out of date, not an error.
    screen = await organiser.press_data(f"pgo:{offer_id}:500")
    assert "12 / 12" in organiser.labels()
    assert "Upcoming: 111–120 of 120" in screen.text
    await assert_out_of_date(
        organiser, [f"pgo:{offer_id}:-1", f"pgo:{offer_id}:99999999999", f"pgo:{offer_id}:x"]
    )


async def test_a_small_offer_has_no_pages(organiser: ResidentChat, session_maker) -> None:
    await offer_with_sessions(session_maker, "paged-10", 10)
    screen = await open_offer(organiser, "paged-10")
    assert "Upcoming: " not in screen.text
    assert not any("/" in label for label in organiser.labels())
    assert len(data_matching(organiser, OPEN_SESSION)) == 10


async def test_a_resident_cancels_each_of_seventy_seats_from_my_pages(
    resident: ResidentChat, session_maker, user_id: int
) -> None:
    await resident.send("/start")
    await resident.press("English")
    _offer_id, session_ids = await offer_with_sessions(session_maker, "paged-seats", 70)
    async with session_maker.begin() as session:
        me = await session.scalar(select(Resident).where(Resident.telegram_id == user_id))
        session.add_all(
            Seat(resident_id=me.id, session_id=session_id, status=SeatStatus.GOING)
            for session_id in session_ids
        )

    screen = await resident.send("/my")
    assert "Upcoming: 1–8 of 70" in screen.text
    seen: list[int] = []
    for page in range(1, 10):
        assert_fits(resident)
        assert f"{page} / 9" in resident.labels()
        seen += [int(match.group(1)) for match in data_matching(resident, CANCEL_SEAT)]
        if page < 9:
            await resident.press("›")
    assert seen == session_ids, "every seat once, soonest first"

    # Cancel every seat from the page it is on, starting from the last: /my stays on the page
    # it was pressed on (the last page while there is one, as the list shrinks).
    for cancelled in range(70):
        matches = data_matching(resident, CANCEL_SEAT)
        assert matches, f"no seat left to cancel after {cancelled}"
        target = matches[-1]
        page = int(target.group(2))
        await resident.press_data(target.group(0))
        shown = [match.group(1) for match in data_matching(resident, CANCEL_SEAT)]
        assert target.group(1) not in shown, "the seat is gone from /my"
        left = 70 - cancelled - 1
        if left > 8:
            pages = -(-left // 8)
            assert f"{min(page, pages - 1) + 1} / {pages}" in resident.labels()
    async with session_maker() as session:
        active = await session.scalar(
            select(func.count())
            .select_from(Seat)
            .where(Seat.resident_id == me.id, Seat.status.in_(ACTIVE))
        )
    assert active == 0
    assert "Coming up" not in resident.screen.text

    await assert_out_of_date(resident, ["myp:-1", "myp:99999999999", "uns:s:1:-4"])


async def test_a_venue_past_the_first_buttons_is_found_by_typing_part_of_its_name(
    organiser: ResidentChat, session_maker
) -> None:
    offer_id, _sessions = await offer_with_sessions(session_maker, "paged-venues", 1)
    async with session_maker.begin() as session:
        session.add_all(
            Venue(
                external_id=f"branch-{number}",
                name={"en": f"Zeta branch {number:02}"},
                address={"en": f"Street {number}"},
                accessibility={},
            )
            for number in range(60)
        )
    await open_offer(organiser, "paged-venues")
    await organiser.press("Add a session")
    start = (utc_now() + timedelta(days=5)).strftime("%Y-%m-%d")
    await organiser.send(f"{start} 10:00")
    screen = await organiser.send("11:00")
    assert "type part of its name" in screen.text
    assert_fits(organiser)
    assert "Zeta branch 59" not in " ".join(organiser.labels()), "cut at the first choices"

    screen = await organiser.send("branch 5")
    assert [label for label in organiser.labels() if "Zeta" in label] == [
        f"Zeta branch {number}" for number in range(50, 60)
    ]
    screen = await organiser.send("no such hall")
    assert "No venue matches" in screen.text
    await organiser.send("branch 59")
    screen = await organiser.press("Zeta branch 59")
    assert "How many places" in screen.text
    await organiser.send("12")
    await organiser.press("Save")
    async with session_maker() as session:
        added = await session.scalar(
            select(OfferSession)
            .where(OfferSession.offer_id == offer_id)
            .order_by(OfferSession.id.desc())
            .limit(1)
        )
        venue = await session.get(Venue, added.venue_id)
    assert venue.external_id == "branch-59"


async def test_a_moved_session_is_shown_on_the_page_it_moved_to(
    organiser: ResidentChat, session_maker
) -> None:
    _offer_id, session_ids = await offer_with_sessions(session_maker, "paged-moves", 25)
    await open_offer(organiser, "paged-moves")
    await organiser.press_data(f"pgs:{session_ids[0]}")
    await organiser.press("Reschedule")
    later = (utc_now() + timedelta(days=30)).strftime("%Y-%m-%d")
    await organiser.send(f"{later} 11:00")
    await organiser.press("Same length as before")
    screen = await organiser.press("Move it")
    assert "3 / 3" in organiser.labels(), "the session is now the last"
    assert "Upcoming: 21–25 of 25" in screen.text
    assert data_matching(organiser, OPEN_SESSION)[-1].group(0) == f"pgs:{session_ids[0]}"


# ---------------------------------------------------------------- the broadcast's audiences

CHOOSE = re.compile(r"^bcp:(\d+)$")


async def every_choice_by_paging(organiser: ResidentChat) -> list[int]:
    """The ids offered on every page of the broadcast's current choice, from the first page to
    the last by ›; each page fits in one message."""
    seen = [int(match.group(1)) for match in data_matching(organiser, CHOOSE)]
    while "›" in organiser.labels():
        assert_fits(organiser)
        await organiser.press("›")
        seen += [int(match.group(1)) for match in data_matching(organiser, CHOOSE)]
    assert_fits(organiser)
    return seen


async def start_broadcast(organiser: ResidentChat, audience: str) -> ChatMessage:
    await organiser.send("/broadcast")
    await organiser.send("Paged audiences")
    return await organiser.press(audience)


async def test_every_learning_track_is_reachable_and_chosen_from_its_page(
    organiser: ResidentChat, session_maker
) -> None:
    async with session_maker.begin() as session:
        category = Category(external_id="paged-tracks", title={"en": "Paged"}, description={})
        session.add(category)
        await session.flush()
        session.add_all(
            Track(
                external_id=f"paged-track-{number}",
                category_id=category.id,
                title={"en": f"Track {number:02}"},
                description={},
                position=number,
            )
            for number in range(60)
        )
    async with session_maker() as session:
        every_track = set(await session.scalars(select(Track.id)))
    assert len(every_track) > 60

    screen = await start_broadcast(organiser, "A learning track")
    assert "Which learning track?" in screen.text
    pages = -(-len(every_track) // 24)
    assert f"1 / {pages}" in organiser.labels()
    seen = await every_choice_by_paging(organiser)
    assert f"{pages} / {pages}" in organiser.labels()
    assert sorted(seen) == sorted(every_track), "every track once"

    # Back a page: a track there is chosen like one on the first page.
    await organiser.press("‹")
    assert f"{pages - 1} / {pages}" in organiser.labels()
    label = next(label for label in organiser.labels() if label.startswith("Paged · Track"))
    assert int(label[-2:]) >= 24, "a track the first page did not list"
    screen = await organiser.press(label)
    assert f"Audience: {label.removeprefix('Paged · ')}" in screen.text
    assert "It will reach 0 residents" in screen.text

    # Paging once the list is gone from the screen, or a forged page: out of date.
    await organiser.press_data("bcpg:1")
    assert "out of date" in last_answer(organiser)
    await assert_out_of_date(organiser, ["bcpg:-1", "bcpg:100001", "bcpg:x"])


async def test_every_coming_festival_is_reachable_and_chosen_from_its_page(
    organiser: ResidentChat, session_maker
) -> None:
    today = utc_now().date()
    async with session_maker.begin() as session:
        session.add_all(
            Festival(
                external_id=f"paged-festival-{number}",
                title={"en": f"Paged festival {number:02}"},
                description={},
                starts_on=today + timedelta(days=10 + number),
                ends_on=today + timedelta(days=11 + number),
            )
            for number in range(30)
        )
        session.add(
            Festival(
                external_id="paged-festival-over",
                title={"en": "Paged festival over"},
                description={},
                starts_on=today - timedelta(days=30),
                ends_on=today - timedelta(days=20),
            )
        )
    async with session_maker() as session:
        coming = list(
            await session.scalars(
                select(Festival.id).where(
                    (Festival.ends_on.is_(None)) | (Festival.ends_on >= today)
                )
            )
        )
    assert len(coming) >= 30

    screen = await start_broadcast(organiser, "Followers of a festival")
    assert "Followers of which festival?" in screen.text
    seen = await every_choice_by_paging(organiser)
    assert sorted(seen) == sorted(coming), "every festival not yet over, once"
    assert "Paged festival 29" in organiser.labels(), "the latest is on the last page"

    # A page past the last shows the last; the last festival is chosen from it.
    pages = -(-len(coming) // 24)
    await organiser.press_data("bcpg:500")
    assert f"{pages} / {pages}" in organiser.labels()
    screen = await organiser.press("Paged festival 29")
    assert "Audience: followers of Paged festival 29" in screen.text


@pytest.mark.parametrize(
    ("audience", "label"),
    [
        ("Seat holders of a session", "seat holders of Paged paged-bc25"),
        ("People checked in at a session", "people checked in at Paged paged-bc25"),
    ],
)
async def test_every_session_of_an_offer_is_reachable_to_address_its_people(
    organiser: ResidentChat, session_maker, audience: str, label: str
) -> None:
    _offer_id, session_ids = await offer_with_sessions(session_maker, "paged-bc25", 25)
    if audience.startswith("People checked in"):  # those that have begun: move them back
        async with session_maker.begin() as session:
            for number, session_id in enumerate(session_ids):
                begun = await session.get(OfferSession, session_id)
                begun.starts_at = utc_now() - timedelta(days=40 - number)
                begun.ends_at = begun.starts_at + timedelta(hours=1)
        session_ids = session_ids[::-1]  # latest first
    await start_broadcast(organiser, audience)
    await organiser.send("paged-bc25")
    screen = await organiser.press("Paged paged-bc25")
    assert "Which session?" in screen.text
    assert "1 / 3" in organiser.labels()
    seen = await every_choice_by_paging(organiser)
    assert "3 / 3" in organiser.labels()
    assert seen == session_ids, "every session once, in the order offered"

    await organiser.press("‹")
    assert "2 / 3" in organiser.labels()
    chosen = data_matching(organiser, CHOOSE)[-1]
    assert int(chosen.group(1)) == session_ids[19]
    screen = await organiser.press_data(chosen.group(0))
    assert f"Audience: {label}" in screen.text
    await assert_out_of_date(organiser, ["bcpg:-5", "bcpg:99999999999"])
