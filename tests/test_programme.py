"""An organiser keeps the programme current from the chat: new offers, edits, sessions,
reschedules and cancellations (followers told), and files imported all or nothing."""

from __future__ import annotations

import json
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select

from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import SessionStatus
from catalogue.models import utc_now
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from tests.resident_chat import ResidentChat

CITY = ZoneInfo("Asia/Yekaterinburg")
DATA = Path(__file__).parent / "data"


async def count(session_maker, model, *conditions) -> int:
    async with session_maker() as session:
        query = select(func.count()).select_from(model)
        if conditions:
            query = query.where(*conditions)
        return await session.scalar(query) or 0


def local(days: int, hour: int, minute: int = 0) -> datetime:
    day = (datetime.now(CITY) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CITY)


async def test_organiser_creates_an_offer_step_by_step(organiser: ResidentChat, session_maker):
    offers_before = await count(session_maker, Offer)
    screen = await organiser.send("/programme")
    assert "Programme" in screen.text
    screen = await organiser.press("New offer")
    assert "What is the offer called?" in screen.text

    screen = await organiser.send("ab")
    assert "3 to 200 characters" in screen.text
    screen = await organiser.send("Pottery for beginners")
    assert "What kind of offer" in screen.text
    screen = await organiser.press("Workshop")
    assert "How does it take place" in screen.text
    screen = await organiser.press("in person")
    screen = await organiser.press("English")
    assert "Who runs it?" in screen.text
    screen = await organiser.send("school of arts")  # narrows the list of providers
    assert organiser.labels()[0] == "Sysert School of Arts"
    screen = await organiser.press("Sysert School of Arts")
    assert "part of a festival" in screen.text
    screen = await organiser.press("Lifelong Learning Festival")
    screen = await organiser.press("No description")
    assert "What does it cost?" in screen.text
    screen = await organiser.send("two hundred")
    assert "as a number" in screen.text
    screen = await organiser.send("250,50")
    screen = await organiser.send("twelve")
    assert "12-18" in screen.text
    screen = await organiser.send("12-18")

    assert "Preview of the new offer" in screen.text
    assert "Pottery for beginners" in screen.text
    assert "12–18 years" in screen.text
    assert "Sysert School of Arts" in screen.text
    assert "Lifelong Learning Festival" in screen.text
    assert await count(session_maker, Offer) == offers_before, "nothing saved before Save"

    screen = await organiser.press("Save")
    assert "Pottery for beginners" in screen.text
    assert "Add a session" in " ".join(organiser.labels())
    async with session_maker() as session:
        offer = await session.scalar(
            select(Offer).where(Offer.title["en"].as_string() == "Pottery for beginners")
        )
    assert offer is not None
    assert offer.external_id.startswith("pottery-for-beginners-")
    assert (offer.price_minor, offer.age_min, offer.age_max) == (25050, 12, 18)
    assert offer.kind == "workshop"
    assert offer.festival_id is not None


async def test_organiser_edits_a_field_with_a_preview(organiser: ResidentChat, session_maker):
    async with session_maker() as session:
        offer = await session.scalar(select(Offer).order_by(Offer.id).limit(1))
    await organiser.send("/programme")
    screen = await organiser.send(offer.external_id)
    screen = await organiser.press(organiser.labels()[0])
    assert offer.title["en"] in screen.text
    await organiser.press("Edit")
    screen = await organiser.press("Price")
    assert "What does it cost?" in screen.text
    screen = await organiser.send("-5")
    assert "as a number" in screen.text
    screen = await organiser.send("300")
    assert "Preview of the changed offer" in screen.text
    assert "300" in screen.text
    await organiser.press("Save")
    async with session_maker() as session:
        changed = await session.get(Offer, offer.id)
    assert changed.price_minor == 30000
    assert changed.title == offer.title, "other fields are untouched"


async def test_cancel_leaves_a_form_without_saving(organiser: ResidentChat, session_maker):
    offers_before = await count(session_maker, Offer)
    await organiser.send("/programme")
    await organiser.press("New offer")
    await organiser.send("Half-finished idea")
    await organiser.send("/cancel")
    assert any(c.params.get("text") == "Cancelled." for c in organiser.calls("sendMessage"))
    await organiser.send("/programme")
    await organiser.press("New offer")
    screen = await organiser.press_data("pgp:discard")
    assert "Programme" in screen.text
    assert await count(session_maker, Offer) == offers_before


async def test_unexpected_input_in_a_form_asks_again(organiser: ResidentChat) -> None:
    await organiser.send("/programme")
    await organiser.press("New offer")
    await organiser.send("Stargazing")
    screen = await organiser.send_document("notes.pdf", b"%PDF")
    assert "What kind of offer" in screen.text
    await organiser.press("Lecture")
    # A button from an earlier step of the form.
    await organiser.press_data("pgp:workshop")
    alert = organiser.calls("answerCallbackQuery")[-1].params["text"]
    assert "earlier step" in alert


async def test_organiser_adds_a_session(organiser: ResidentChat, session_maker) -> None:
    async with session_maker() as session:
        offer = await session.scalar(
            select(Offer).where(Offer.format == "in_person").order_by(Offer.id).limit(1)
        )
    sessions_before = await count(session_maker, OfferSession, OfferSession.offer_id == offer.id)
    await organiser.send("/programme")
    await organiser.send(offer.external_id)
    await organiser.press(organiser.labels()[0])
    screen = await organiser.press("Add a session")
    assert "When does the session" in screen.text
    screen = await organiser.send("yesterday at five")
    assert "could not read that date" in screen.text
    screen = await organiser.send("01.01.2001 10:00")
    assert "already passed" in screen.text
    start = local(10, 18, 30)
    await organiser.send(start.strftime("%d.%m.%Y %H:%M"))
    screen = await organiser.send("20:00")
    assert "Where does it take place?" in screen.text
    screen = await organiser.press("Central Library")
    assert "How many places" in screen.text
    screen = await organiser.send("twelve")
    assert "number of places" in screen.text
    screen = await organiser.send("12")
    assert "The new session" in screen.text
    assert "Central Library" in screen.text
    await organiser.press("Save")

    async with session_maker() as session:
        added = await session.scalar(
            select(OfferSession)
            .where(OfferSession.offer_id == offer.id)
            .order_by(OfferSession.id.desc())
            .limit(1)
        )
    assert await count(session_maker, OfferSession, OfferSession.offer_id == offer.id) == (
        sessions_before + 1
    )
    assert added.starts_at == start
    assert added.ends_at == start.replace(hour=20, minute=0)
    assert added.capacity == 12


async def follower_of(session_maker, offer_session: OfferSession, telegram_id: int) -> int:
    async with session_maker.begin() as session:
        resident = Resident(telegram_id=telegram_id, language="en", language_chosen=True)
        session.add(resident)
        await session.flush()
        session.add(
            Seat(
                resident_id=resident.id,
                session_id=offer_session.id,
                status=SeatStatus.GOING,
            )
        )
        return resident.id


async def next_session(session_maker) -> OfferSession:
    async with session_maker() as session:
        return await session.scalar(
            select(OfferSession)
            .where(
                OfferSession.starts_at > utc_now() + timedelta(days=1),
                OfferSession.status == SessionStatus.SCHEDULED,
            )
            .order_by(OfferSession.starts_at)
            .limit(1)
        )


async def open_session_screen(organiser: ResidentChat, session_maker, offer_session) -> None:
    async with session_maker() as session:
        offer = await session.get(Offer, offer_session.offer_id)
    await organiser.send("/programme")
    await organiser.send(offer.external_id)
    await organiser.press(organiser.labels()[0])
    await organiser.press_data(f"pgs:{offer_session.id}")


async def test_rescheduling_tells_the_followers(organiser: ResidentChat, session_maker) -> None:
    offer_session = await next_session(session_maker)
    follower = await follower_of(session_maker, offer_session, 77_001)
    await open_session_screen(organiser, session_maker, offer_session)
    screen = await organiser.press("Reschedule")
    assert "When does the session" in screen.text
    new_start = local(20, 11)
    await organiser.send(new_start.strftime("%Y-%m-%d %H:%M"))
    length = int((offer_session.ends_at - offer_session.starts_at).total_seconds() // 60)
    screen = await organiser.press(f"Same length as before ({length} min)")
    assert "From:" in screen.text
    assert "will be told: 1" in screen.text
    await organiser.press("Move it")

    async with session_maker() as session:
        moved = await session.get(OfferSession, offer_session.id)
        notices = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.resident_id == follower, OutboxMessage.kind == "change"
                )
            )
        )
    assert moved.starts_at == new_start
    assert moved.ends_at - moved.starts_at == offer_session.ends_at - offer_session.starts_at
    assert moved.status == SessionStatus.CHANGED
    assert [notice.state for notice in notices] == [OutboxState.PENDING]


async def test_cancelling_a_session_asks_first_and_tells_followers(
    organiser: ResidentChat, session_maker
) -> None:
    offer_session = await next_session(session_maker)
    follower = await follower_of(session_maker, offer_session, 77_002)
    await open_session_screen(organiser, session_maker, offer_session)
    screen = await organiser.press("Cancel session")
    assert "will be told: 1" in screen.text
    async with session_maker() as session:
        assert (await session.get(OfferSession, offer_session.id)).status == "scheduled"
    await organiser.press("Yes, cancel it")
    async with session_maker() as session:
        assert (await session.get(OfferSession, offer_session.id)).status == "cancelled"
    assert (
        await count(
            session_maker,
            OutboxMessage,
            OutboxMessage.resident_id == follower,
            OutboxMessage.kind == "change",
        )
        == 1
    )
    # The button pressed again (or forged) cannot cancel twice.
    await organiser.press_data(f"pgx:{offer_session.id}:1")
    assert "can no longer be changed" in organiser.calls("answerCallbackQuery")[-1].params["text"]


async def test_organiser_imports_a_file_all_or_nothing(organiser: ResidentChat, session_maker):
    document = json.loads((DATA / "small_catalogue.json").read_text())
    offers_before = await count(session_maker, Offer)

    document["offers"][1]["kind"] = "party"
    document["sessions"][0]["ends_at"] = document["sessions"][0]["starts_at"]
    await organiser.send("/import")
    screen = await organiser.send_document(
        "catalogue.json", json.dumps(document, indent=1).encode()
    )
    assert "Nothing was imported" in screen.text
    assert "offers, line 54, kind: Input should be" in screen.text
    assert "sessions, line 81, record: ends_at must be after starts_at" in screen.text
    assert await count(session_maker, Offer) == offers_before

    document = json.loads((DATA / "small_catalogue.json").read_text())
    screen = await organiser.send_document("catalogue.json", json.dumps(document).encode())
    assert "Imported." in screen.text
    # The demo programme has one of the two offers already: it is updated, not doubled.
    assert "offers: 1 new, 1 updated" in screen.text
    assert await count(session_maker, Offer) == offers_before + 1

    # A CSV sent any time, without /import, is understood too; its caption names the table.
    screen = await organiser.send_document(
        "export (3).csv",
        b"id,title_en,kind,language,provider\nchess,Chess club,workshop,en,library\n",
        caption="offers",
    )
    assert "offers: 1 new" in screen.text
    screen = await organiser.send_document("notes.txt", b"hello")
    assert "expected a .json, .csv or .ics file" in screen.text


async def test_a_long_error_report_comes_as_a_file(organiser: ResidentChat) -> None:
    rows = "".join(f"bad id {n},x\n" for n in range(30))
    screen = await organiser.send_document("offers.csv", ("id,title_en\n" + rows).encode())
    assert organiser.calls("sendDocument"), "the full report is attached"
    assert screen.document_name == "import-errors.txt"


async def test_an_offers_calendar_becomes_its_sessions(organiser: ResidentChat, session_maker):
    async with session_maker() as session:
        offer = await session.scalar(select(Offer).order_by(Offer.id).limit(1))
    before = await count(session_maker, OfferSession, OfferSession.offer_id == offer.id)
    await organiser.send("/programme")
    await organiser.send(offer.external_id)
    await organiser.press(organiser.labels()[0])
    screen = await organiser.press("Import sessions (.ics)")
    assert ".ics calendar file" in screen.text
    start = local(30, 18).strftime("%Y%m%dT%H%M%S")
    end = local(30, 20).strftime("%Y%m%dT%H%M%S")
    calendar = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\nBEGIN:VEVENT\nUID:evt-1\n"
        f"DTSTART:{start}\nDTEND:{end}\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    screen = await organiser.send_document("timetable.ics", calendar.encode())
    assert "sessions: 1 new" in screen.text
    assert await count(session_maker, OfferSession, OfferSession.offer_id == offer.id) == (
        before + 1
    )

    # Outside an offer, an .ics file says what to do.
    await organiser.send("/import")
    screen = await organiser.send_document("timetable.ics", calendar.encode())
    assert "say which offer" in screen.text


async def test_a_resident_sending_a_file_is_not_importing(resident: ResidentChat, session_maker):
    offers_before = await count(session_maker, Offer)
    await resident.send("/start")
    document = (DATA / "small_catalogue.json").read_bytes()
    screen = await resident.send_document("catalogue.json", document)
    assert "I can only read text" in screen.text
    assert await count(session_maker, Offer) == offers_before


async def test_control_characters_typed_into_forms_are_dropped(
    organiser: ResidentChat, session_maker
) -> None:
    await organiser.send("/programme")
    screen = await organiser.send("cera\x00mics")  # PostgreSQL cannot even store a NUL
    assert "Found for “ceramics”" in screen.text
    await organiser.send("/programme")
    await organiser.press("New offer")
    screen = await organiser.send("Night\x00 walk")
    assert "What kind of offer" in screen.text
    await organiser.send("/broadcast")
    screen = await organiser.send("Tonight\x00!")
    assert "Who should receive it?" in screen.text
