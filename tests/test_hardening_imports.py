"""Dirty and big files, as an unlucky city sends them: imports never lock residents out, every
problem is told by line and field (in the chat and by `learncity catalogue import`), nothing
is half written, and the limits are settings."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

from catalogue.exchange.importer import import_file
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Seat
from tests.resident_chat import ResidentChat

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"load_demo": False})


@pytest.fixture
async def catalogue(app, session_maker) -> None:
    async with session_maker.begin() as session:
        await import_file(session, DATA / "small_catalogue.json")


@pytest.fixture
def organiser(catalogue, organiser):
    """tests/conftest.py's organiser, once the small catalogue is in."""
    return organiser


async def count(session_maker, model) -> int:
    async with session_maker() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


def sessions_csv(rows: int, offer: str = "smartphone-basics") -> bytes:
    start = datetime(2031, 1, 1, 9, tzinfo=UTC)
    lines = ["id,offer,starts_at,ends_at,capacity"]
    for number in range(rows):
        begins = start + timedelta(minutes=30 * number)
        ends = begins + timedelta(hours=1)
        lines.append(f"s{number},{offer},{begins:%Y-%m-%dT%H:%MZ},{ends:%Y-%m-%dT%H:%MZ},20")
    return ("\n".join(lines) + "\n").encode()


def learncity(
    database_url: str, folder: Path, *arguments: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    """`learncity …` as a city runs it, on the test's database, in a folder without a .env."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"BOT_TOKEN", "REDIS_URL", "WEBHOOK_URL", "LOG_FORMAT"}
    }
    environment.update(
        DATABASE_URL=database_url,
        LOAD_DEMO="false",
        DEFAULT_LOCALE="en",
        PYTHONPATH=str(ROOT),
        **settings,
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *arguments],
        cwd=folder, env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


# ---------------------------------------------------------------- imports never lock residents out


async def test_residents_presses_are_answered_while_an_organiser_imports(
    organiser: ResidentChat, app, session_maker, user_id: int
) -> None:
    rows = 60_000
    residents = [ResidentChat(app, user_id=user_id + 500_000 + n) for n in range(30)]
    for resident in residents:
        await resident.send("/start offer_smartphone-basics")
        assert any("Remind me" in label for label in resident.labels())
    before = await count(session_maker, OfferSession)
    importing = asyncio.ensure_future(organiser.send_document("sessions.csv", sessions_csv(rows)))
    pressed, pressed_meanwhile, seen_meanwhile = 0, 0, set()
    # One resident after another presses "Remind me" for as long as the import runs.
    for resident in residents:
        if importing.done():
            break
        await resident.press("Remind me")
        pressed += 1
        pressed_meanwhile += not importing.done()
        seen_meanwhile.add(await count(session_maker, OfferSession))
    await importing

    # Each got their seat (none met "database is locked"), most while the file was still being
    # imported: the import held neither the database nor the bot for its whole length.
    assert pressed_meanwhile >= 3, "residents waited for the import"
    async with session_maker() as session:
        assert await session.scalar(select(func.count()).select_from(Seat)) == pressed
    for resident in residents[:pressed]:
        assert "went wrong" not in resident.screen.text
    # Readers see the catalogue before the import or after it, never half of it.
    assert seen_meanwhile <= {before, before + rows}
    assert f"sessions: {rows} new" in organiser.screen.text
    assert await count(session_maker, OfferSession) == before + rows
    for resident in residents:
        await resident.close()


# ---------------------------------------------------------------- hostile text in files


async def test_control_characters_in_a_file_are_stripped(
    catalogue, database_url: str, tmp_path: Path, session_maker
) -> None:
    offers = tmp_path / "offers.csv"
    offers.write_text(
        "id,title_en,description_en,kind,language,provider,keywords\n"
        'night-walk,Night\x00 walk\x1b,"Stars\x00 and\r\nowls\x07",excursion,en,library,'
        "sky\x00|owls\n",
        encoding="utf-8",
    )
    result = learncity(database_url, tmp_path, "catalogue", "import", str(offers))
    assert result.returncode == 0, result.stderr
    async with session_maker() as session:
        offer = await session.scalar(select(Offer).where(Offer.external_id == "night-walk"))
    assert offer.title == {"en": "Night walk"}
    assert offer.description == {"en": "Stars and\nowls"}
    assert offer.keywords == ["sky", "owls"]


async def test_a_title_is_limited_the_same_in_the_file_and_in_the_form(
    organiser: ResidentChat, database_url: str, tmp_path: Path, session_maker
) -> None:
    long_title = "Pottery " * 525  # 4,200 characters
    offers = tmp_path / "offers.csv"
    offers.write_text(
        f"id,title_en,kind,language,provider\nlong-one,{long_title},workshop,en,library\n",
        encoding="utf-8",
    )
    result = learncity(database_url, tmp_path, "catalogue", "import", str(offers))
    assert result.returncode == 1
    assert "offers, line 2, title_en: too long: 4,199 characters, up to 200" in result.stderr
    assert "Traceback" not in result.stderr
    assert await count(session_maker, Offer) == 2

    # TITLE_MAX_LENGTH moves both limits: the file's and the chat form's.
    shorter = learncity(
        database_url, tmp_path, "catalogue", "import", str(offers), TITLE_MAX_LENGTH="40"
    )
    assert "up to 40" in shorter.stderr
    await organiser.send("/programme")
    await organiser.press("New offer")
    screen = await organiser.send("A" * 201)
    assert "A title needs 3 to 200 characters" in screen.text


# ---------------------------------------------------------------- malformed files


def deep_json() -> str:
    return '{"offers": [' + "[" * 10_000 + "]" * 10_000 + "]}"


def calendar(event: str) -> str:
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\n"
        f"BEGIN:VEVENT\nUID:evt-1\n{event}END:VEVENT\nEND:VCALENDAR\n"
    )


MALFORMED = {
    "catalogue.json": (deep_json(), "document, line 1, record: nested more than 20 levels deep"),
    "offers.csv": (
        "id,title_en,description_en,kind,language,provider\n"
        f"big,Big,{'x' * 131_073},course,en,library\n",
        "offers, line 2, description_en: too long: 131,073 characters, up to 3,000",
    ),
    "long.ics": (
        calendar("DTSTART:20310601T100000Z\nDURATION:P99999999D\n"),
        "sessions, line 4, duration: the event would end after the year 9999",
    ),
    "zone.ics": (
        calendar("DTSTART;TZID=Mars/Olympus_Mons:20310601T100000\nDURATION:PT1H\n"),
        "sessions, line 4, dtstart: unknown time zone 'Mars/Olympus_Mons'",
    ),
}


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_a_malformed_file_is_explained_by_the_command_and_nothing_is_written(
    catalogue, database_url: str, tmp_path: Path, session_maker, name: str
) -> None:
    content, problem = MALFORMED[name]
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    before = await count(session_maker, OfferSession), await count(session_maker, Offer)
    options = ["--offer", "smartphone-basics"] if name.endswith(".ics") else []
    result = learncity(database_url, tmp_path, "catalogue", "import", str(path), *options)
    assert result.returncode == 1
    assert problem in result.stderr
    assert "Nothing was imported" in result.stderr
    assert "Traceback" not in result.stderr
    assert (await count(session_maker, OfferSession), await count(session_maker, Offer)) == before


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_a_malformed_file_is_explained_in_the_chat(
    organiser: ResidentChat, session_maker, name: str
) -> None:
    content, problem = MALFORMED[name]
    before = await count(session_maker, OfferSession)
    if name.endswith(".ics"):
        await organiser.send("/programme")
        await organiser.send("smartphone-basics")
        await organiser.press(organiser.labels()[0])
        await organiser.press("Import sessions (.ics)")
    else:
        await organiser.send("/import")
    screen = await organiser.send_document(name, content.encode())
    assert "Nothing was imported: 1 problem(s)" in screen.text
    assert problem in unescape(screen.text)
    assert await count(session_maker, OfferSession) == before


async def test_limits_on_a_files_size_and_rows_are_settings(
    catalogue, database_url: str, tmp_path: Path, session_maker
) -> None:
    path = tmp_path / "sessions.csv"
    path.write_bytes(sessions_csv(5))
    rows = learncity(database_url, tmp_path, "catalogue", "import", str(path), IMPORT_MAX_ROWS="3")
    assert rows.returncode == 1
    assert "sessions, line 5, record: more than 3 rows" in rows.stderr
    bigger = tmp_path / "big" / "sessions.csv"
    bigger.parent.mkdir()
    bigger.write_bytes(sessions_csv(40))
    size = learncity(
        database_url, tmp_path, "catalogue", "import", str(bigger), IMPORT_MAX_BYTES="1024"
    )
    assert size.returncode == 1
    assert "up to 1,024 bytes can be imported" in size.stderr
    deep = tmp_path / "catalogue.json"
    deep.write_text(json.dumps({"offers": [{"title": {"en": [[["x"]]]}}]}))
    depth = learncity(
        database_url, tmp_path, "catalogue", "import", str(deep), IMPORT_MAX_DEPTH="4"
    )
    assert "nested more than 4 levels deep" in depth.stderr
    assert await count(session_maker, OfferSession) == 2
    fine = learncity(database_url, tmp_path, "catalogue", "import", str(path))
    assert fine.returncode == 0, fine.stderr
    assert "sessions: 5 new" in fine.stdout


async def test_every_problem_of_a_csv_row_is_reported(
    organiser: ResidentChat, session_maker
) -> None:
    await organiser.send("/import")
    screen = await organiser.send_document(
        "sessions.csv",
        b"id,offer,starts_at,ends_at,capacity\n"
        b"s1,no-such-offer,2031-06-01T10:00+05:00,2031-06-01T11:00+05:00,many\n",
    )
    text = unescape(screen.text)
    assert "Nothing was imported: 2 problem(s)" in text
    assert "sessions, line 2, capacity:" in text
    assert "sessions, line 2, offer: no offer with id 'no-such-offer'" in text
