"""Catalogue import: all or nothing, every problem by line and field, re-import updates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from catalogue.exchange.importer import export_document
from catalogue.exchange.importer import import_document
from catalogue.exchange.importer import import_file
from catalogue.exchange.rows import CatalogueImportError
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import TrackStep

DATA = Path(__file__).parent / "data"


@pytest.fixture
def settings(database_url: str):
    from bot.settings import load_settings

    return load_settings(database_url=database_url, load_demo=False, _env_file=None)


async def count(session: AsyncSession, model: type) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def import_path(session_maker: async_sessionmaker[AsyncSession], path: Path, table=None):
    async with session_maker.begin() as session:
        return await import_file(session, path, table)


async def test_json_import_creates_then_updates_without_duplicates(session_maker, tmp_path) -> None:
    first = await import_path(session_maker, DATA / "small_catalogue.json")
    assert first.created["offers"] == 2
    assert first.created["sessions"] == 2

    document = json.loads((DATA / "small_catalogue.json").read_text())
    document["offers"][0]["title"]["en"] = "Smartphone basics, gently"
    changed = tmp_path / "catalogue.json"
    changed.write_text(json.dumps(document))
    second = await import_path(session_maker, changed)

    assert second.created == dict.fromkeys(second.created, 0)
    assert second.updated["offers"] == 2
    async with session_maker() as session:
        assert await count(session, Offer) == 2
        assert await count(session, OfferSession) == 2
        assert await count(session, TrackStep) == 2
        offer = await session.scalar(select(Offer).where(Offer.external_id == "smartphone-basics"))
        assert offer.title["en"] == "Smartphone basics, gently"
        paid = await session.scalar(select(Offer).where(Offer.external_id == "english-club"))
        assert paid.price_minor == 25050


async def test_bad_rows_are_all_reported_and_nothing_is_imported(session_maker, tmp_path) -> None:
    document = json.loads((DATA / "small_catalogue.json").read_text())
    document["offers"][1]["kind"] = "party"
    document["offers"][1]["age_min"] = -3
    document["sessions"][0]["ends_at"] = "2099-06-01T09:00:00+05:00"
    document["sessions"][1]["offer"] = "no-such-offer"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document, indent=2))

    with pytest.raises(CatalogueImportError) as raised:
        await import_path(session_maker, bad)

    problems = {(error.table, error.field) for error in raised.value.errors}
    assert {("offers", "kind"), ("offers", "age_min"), ("sessions", "")} <= problems
    assert all(error.line for error in raised.value.errors if error.table == "offers")
    text = bad.read_text().splitlines()
    offer_error = next(e for e in raised.value.errors if e.field == "kind")
    assert text[offer_error.line - 1].strip().startswith("{")
    async with session_maker() as session:
        assert await count(session, Offer) == 0


async def test_unknown_reference_is_reported_with_its_line(session_maker, tmp_path) -> None:
    await import_path(session_maker, DATA / "small_catalogue.json")
    sessions_csv = tmp_path / "sessions.csv"
    sessions_csv.write_text(
        "id,offer,venue,starts_at,ends_at\n"
        "club-2,english-club,library-hall,2099-06-09T18:00+05:00,2099-06-09T19:30+05:00\n"
        "club-3,english-clubb,library-hall,2099-06-16T18:00+05:00,2099-06-16T19:30+05:00\n"
    )
    with pytest.raises(CatalogueImportError) as raised:
        await import_path(session_maker, sessions_csv)
    [error] = raised.value.errors
    assert (error.line, error.field) == (3, "offer")
    assert "english-clubb" in str(error)
    async with session_maker() as session:
        assert await count(session, OfferSession) == 2


async def test_csv_with_translated_columns_and_lists(session_maker, tmp_path) -> None:
    await import_path(session_maker, DATA / "small_catalogue.json")
    offers_csv = tmp_path / "offers.csv"
    offers_csv.write_text(
        "id,title_en,title_ru,kind,language,provider,price,keywords\n"
        "chess,Chess club,Шахматный клуб,workshop,ru,library,0,chess|шахматы\n",
        encoding="utf-8",
    )
    report = await import_path(session_maker, offers_csv)
    assert report.created["offers"] == 1
    async with session_maker() as session:
        chess = await session.scalar(select(Offer).where(Offer.external_id == "chess"))
    assert chess.title == {"en": "Chess club", "ru": "Шахматный клуб"}
    assert chess.keywords == ["chess", "шахматы"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("broken.json", '{"offers": [', "not valid JSON"),
        ("list.json", "[1, 2]", "expected an object"),
        ("extra.json", '{"parties": []}', "unknown list"),
        ("binary.json", b"\xff\xfe\x00garbage", "not UTF-8"),
        ("notes.txt", "hello", "expected a .json, .csv or .ics"),
        ("parties.csv", "id\nx\n", "name the file after its table"),
        ("offers.csv", "title_en\nx\n", "needs an id column"),
        (
            "venues.csv",
            "id,name_en,address_en\nhall,Hall,Street,extra\n",
            "more cells than columns",
        ),
    ],
)
async def test_malformed_files_get_a_clear_answer(
    session_maker, tmp_path, name, content, expected
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(CatalogueImportError) as raised:
        await import_path(session_maker, path)
    assert expected in str(raised.value.errors[0])


async def test_export_then_import_round_trips(session_maker, tmp_path) -> None:
    await import_path(session_maker, DATA / "small_catalogue.json")
    async with session_maker() as session:
        exported = await export_document(session)
    async with session_maker.begin() as session:
        report = await import_document(session, exported)
    assert sum(report.created.values()) == 0
    assert report.updated["sessions"] == 2
    original = json.loads((DATA / "small_catalogue.json").read_text())
    assert [track.offers for track in exported.tracks] == [original["tracks"][0]["offers"]]
