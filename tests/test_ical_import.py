"""A provider's calendar (.ics) becomes the sessions of an offer: same checks, all or nothing."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlalchemy import select

from catalogue.exchange.importer import import_bytes
from catalogue.exchange.importer import import_file
from catalogue.exchange.rows import CatalogueImportError
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import SessionStatus

DATA = Path(__file__).parent / "data"
CITY = ZoneInfo("Asia/Yekaterinburg")

CALENDAR = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Library//Timetable//EN
BEGIN:VEVENT
UID:pottery-week-1@library.example.org
SUMMARY:Smartphone basics
DTSTART;TZID=Asia/Yekaterinburg:20300601T180000
DTEND;TZID=Asia/Yekaterinburg:20300601T200000
END:VEVENT
BEGIN:VEVENT
UID:7F3A-B2@Google.com
DTSTART:20300608T130000Z
DURATION:PT1H30M
URL:https://meet.example.org/phones
END:VEVENT
BEGIN:VEVENT
UID:floating-3
DTSTART:20300615T180000
DTEND:20300615T193000
STATUS:CANCELLED
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def settings(database_url: str):
    from bot.settings import load_settings

    return load_settings(database_url=database_url, load_demo=False, _env_file=None)


@pytest.fixture
async def catalogue(session_maker) -> None:
    async with session_maker.begin() as session:
        await import_file(session, DATA / "small_catalogue.json")


async def sessions_of(session_maker, offer_external_id: str) -> list[OfferSession]:
    async with session_maker() as session:
        offer_id = await session.scalar(
            select(Offer.id).where(Offer.external_id == offer_external_id)
        )
        rows = await session.scalars(
            select(OfferSession)
            .where(OfferSession.offer_id == offer_id)
            .order_by(OfferSession.starts_at)
        )
        return list(rows)


async def test_calendar_events_become_sessions_and_reimport_updates(
    session_maker, catalogue
) -> None:
    async with session_maker.begin() as session:
        report = await import_bytes(
            session, "timetable.ics", CALENDAR.encode(), offer="smartphone-basics", zone=CITY
        )
    assert report.created["sessions"] == 3

    stored = await sessions_of(session_maker, "smartphone-basics")
    imported = [row for row in stored if row.external_id != "smartphone-basics-1"]
    assert [row.external_id for row in imported] == [
        "pottery-week-1-library.example.org",
        "7f3a-b2-google.com",
        "floating-3",
    ]
    first, online, floating = imported
    assert first.starts_at == datetime(2030, 6, 1, 13, 0, tzinfo=UTC)
    assert first.ends_at == datetime(2030, 6, 1, 15, 0, tzinfo=UTC)
    assert online.ends_at == datetime(2030, 6, 8, 14, 30, tzinfo=UTC)
    assert online.online_url == "https://meet.example.org/phones"
    # A time without a zone is the city's.
    assert floating.starts_at == datetime(2030, 6, 15, 13, 0, tzinfo=UTC)
    assert floating.status == SessionStatus.CANCELLED

    moved = CALENDAR.replace("20300601T180000", "20300601T170000")
    async with session_maker.begin() as session:
        again = await import_bytes(
            session, "timetable.ics", moved.encode(), offer="smartphone-basics", zone=CITY
        )
    assert again.created["sessions"] == 0
    assert again.updated["sessions"] == 3
    stored = await sessions_of(session_maker, "smartphone-basics")
    assert len(stored) == 4
    first = next(row for row in stored if row.external_id.startswith("pottery-week-1"))
    assert first.starts_at == datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


async def test_unusable_events_are_reported_by_line_and_nothing_is_written(
    session_maker, catalogue
) -> None:
    broken = CALENDAR.replace(
        "END:VCALENDAR",
        "BEGIN:VEVENT\nUID:all-day\nDTSTART;VALUE=DATE:20300620\nEND:VEVENT\n"
        "BEGIN:VEVENT\nUID:weekly\nDTSTART:20300621T100000Z\nDTEND:20300621T110000Z\n"
        "RRULE:FREQ=WEEKLY\nEND:VEVENT\n"
        "BEGIN:VEVENT\nUID:no-end\nDTSTART:20300622T100000Z\nEND:VEVENT\n"
        "BEGIN:VEVENT\nUID:backwards\nDTSTART:20300623T100000Z\nDTEND:20300623T090000Z\n"
        "END:VEVENT\n"
        "END:VCALENDAR",
    )
    with pytest.raises(CatalogueImportError) as raised:
        async with session_maker.begin() as session:
            await import_bytes(
                session, "timetable.ics", broken.encode(), offer="smartphone-basics", zone=CITY
            )
    problems = [str(error) for error in raised.value.errors]
    assert problems == [
        "sessions, line 22, dtstart: all-day events need a start and end time",
        "sessions, line 26, rrule: repeating events are not read; export each occurrence",
        "sessions, line 32, dtend: the event has no end time or duration",
        "sessions, line 36, record: ends_at must be after starts_at",
    ]
    assert len(await sessions_of(session_maker, "smartphone-basics")) == 1


@pytest.mark.parametrize(
    ("content", "offer", "expected"),
    [
        (CALENDAR, None, "say which offer they belong to"),
        (CALENDAR, "no-such-offer", "no offer with id 'no-such-offer'"),
        ("this is not a calendar", "smartphone-basics", "not a valid iCalendar file"),
        ("BEGIN:VCALENDAR\nEND:VCALENDAR\n", "smartphone-basics", "the calendar has no events"),
    ],
)
async def test_a_calendar_that_cannot_be_imported_says_why(
    session_maker, catalogue, content, offer, expected
) -> None:
    with pytest.raises(CatalogueImportError) as raised:
        async with session_maker.begin() as session:
            await import_bytes(session, "t.ics", content.encode(), offer=offer, zone=CITY)
    assert expected in str(raised.value.errors[0])
    async with session_maker() as session:
        assert await session.scalar(select(func.count()).select_from(OfferSession)) == 2


async def test_a_spreadsheets_semicolon_csv_is_read_too(session_maker, catalogue) -> None:
    content = "id;title_ru;kind;language;provider\nchess;Шахматы;workshop;ru;library\n"
    async with session_maker.begin() as session:
        report = await import_bytes(session, "offers.csv", content.encode("utf-8-sig"))
    assert report.created["offers"] == 1
    async with session_maker() as session:
        chess = await session.scalar(select(Offer).where(Offer.external_id == "chess"))
    assert chess.title == {"ru": "Шахматы"}
