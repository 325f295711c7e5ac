"""What residents looked for and did not find: counted anonymously, reported to organisers,
by `learncity report demand`; and the city's synonyms, edited with `learncity catalogue
synonyms`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import utc_now
from catalogue.search.demand import demand_key
from catalogue.search.demand import demand_period
from catalogue.search.demand import record_opened
from catalogue.search.demand import record_search
from catalogue.search.demand import unmet_queries
from catalogue.search.synonyms import SEED
from catalogue.search.synonyms import synonym_groups
from catalogue.search.synonyms import synonyms_command
from catalogue.search.tables import SearchDemand
from catalogue.team import Role
from catalogue.team import TeamMember
from tests.resident_chat import ResidentChat

ORGANISER = 990_016
DAY = date(2026, 6, 10)


def test_forms_of_one_query_count_together() -> None:
    assert demand_key("гончарное дело") == demand_key("Гончарному делу")
    assert demand_key("гончарное дело") == demand_key("дело гончарное")
    assert demand_key("где научиться гончарному делу") == demand_key("гончарное дело")
    assert demand_key("🎨 !!") == ""


def test_a_period_is_read_or_refused() -> None:
    assert demand_period([], DAY) == (DAY - timedelta(days=29), DAY)
    assert demand_period(["2026-06-01"], DAY) == (date(2026, 6, 1), DAY)
    assert demand_period(["2026-06-01", "2026-06-05"], DAY) == (date(2026, 6, 1), date(2026, 6, 5))
    for words in (["2026-06-05", "2026-06-01"], ["soon"], ["2026-01-01", "x"], ["a", "b", "c"]):
        assert demand_period(words, DAY) is None


async def test_unmet_queries_are_counted_without_anyone_in_them(session: AsyncSession) -> None:
    for _ in range(3):
        await record_search(session, "гончарное дело", False, DAY)
    opened = await record_search(session, "шахматы", True, DAY)
    await record_opened(session, opened, DAY)
    await record_search(session, "шахматами", True, DAY)  # found, never opened
    await record_search(session, "йога", True, DAY - timedelta(days=40))  # outside the period
    rows = await unmet_queries(session, DAY - timedelta(days=29), DAY)
    assert [(row.query, row.unmet, row.found_nothing, row.not_opened) for row in rows] == [
        ("гончарное дело", 3, 3, 0),
        ("шахматами", 1, 0, 1),
    ]
    columns = set(SearchDemand.__table__.columns.keys())
    assert not {"resident_id", "telegram_id", "user_id"} & columns


async def test_twenty_searches_for_something_not_offered_top_the_report(app) -> None:
    resident = ResidentChat(app, 990_017)
    async with app.session_maker.begin() as session:
        session.add(TeamMember(telegram_id=ORGANISER, role=Role.ORGANISER, display_name="Olga"))
    organiser = ResidentChat(app, ORGANISER)
    try:
        await resident.send("/start")
        await resident.press("English")
        await resident.send("шахматы")
        await resident.press("1.")  # opened: this one was met
        for _ in range(20):
            await resident.send("гончарное дело")
        await resident.send("шахматы")  # once more, not opened this time
        screen = await organiser.send("/report")
        screen = await organiser.press("What residents looked for")
        lines = [line for line in screen.text.splitlines() if line[:2] == "1."]
        assert lines, screen.text
        assert "«гончарное дело» — 20 unmet" in lines[0]
        typed = await organiser.send("/report demand")
        assert "1. «гончарное дело»" in typed.text
        refused = await organiser.send("/report demand 2026-13-01")
        assert "Give the period as two dates" in refused.text
        # A resident may not see it.
        await resident.press_data("dem")
        assert "гончарное" not in resident.screen.text.split("\n")[0]
    finally:
        await resident.close()
        await organiser.close()
    async with app.session_maker() as session:
        day = utc_now().astimezone(app.settings.city_zone).date()
        row = await session.scalar(
            select(SearchDemand).where(SearchDemand.day == day, SearchDemand.searches >= 20)
        )
    assert row is not None
    assert (row.searches, row.opened) == (20, 0)


async def test_synonyms_are_seeded_and_edited(session: AsyncSession) -> None:
    groups = await synonym_groups(session, "ru")
    assert [group.words for group in groups] == SEED["ru"]
    code, text = await synonyms_command(session, "add", "ru", ["тропа", "тропка"])
    assert code == 0
    assert "тропка" in text
    assert "маршрут" in text, "joined the group тропа is in"
    code, _ = await synonyms_command(session, "remove", "ru", ["тропка"])
    assert code == 0
    listed = (await synonyms_command(session, "list", "ru", []))[1]
    assert "тропка" not in listed
    assert (await synonyms_command(session, "add", "xx", ["a", "b"]))[0] == 2
    assert (await synonyms_command(session, "add", "en", ["lonely"]))[0] == 2
    assert (await synonyms_command(session, "remove", "en", ["nowhere"]))[0] == 1


def test_the_command_lines(tmp_path) -> None:
    environment = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'demand.sqlite3'}"}

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *arguments],
            capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120,
        )  # fmt: skip

    added = run("catalogue", "synonyms", "add", "en", "hiking", "trekking")
    assert added.returncode == 0, added.stderr
    assert "trekking" in run("catalogue", "synonyms", "list", "en").stdout
    report = run("report", "demand", "2026-01-01", "2026-12-31")
    assert report.returncode == 0, report.stderr
    assert "query\tunmet\tfound_nothing\tnot_opened\tsearches" in report.stdout
    bad = run("report", "demand", "yesterday")
    assert bad.returncode == 2
    assert "Usage" in bad.stderr


async def test_what_no_database_holds_is_left_out_of_the_example(session: AsyncSession) -> None:
    key = await record_search(session, "гончарное\x00 дело\x07\n", False, DAY)
    rows = await unmet_queries(session, DAY, DAY)
    assert [(row.key, row.query) for row in rows] == [(key, "гончарное дело")]
