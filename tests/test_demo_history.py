"""The demo has a past: a festival week with synthetic attendance, feedback, answers and
completed tracks, so the report, the GNLC pack and a passport are full at the first try."""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader
from sqlalchemy import func
from sqlalchemy import select

from bot.settings import load_settings
from bot.startup.cli import build_parser
from bot.startup.report_cli import report_command
from catalogue.checkin.passes import normalise_code
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import ResidentPass
from catalogue.exchange.demo_history import LOCAL_LEARNER
from catalogue.exchange.demo_history import PEOPLE
from catalogue.exchange.demo_history import add_demo_history
from catalogue.exchange.seeding import load_demo_if_empty
from catalogue.learners.passport import passport_of
from catalogue.learners.tables import Completion
from catalogue.models import CatalogueMeta
from catalogue.models import Festival
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.reports.attendance import build_report
from catalogue.reports.attendance import resolve_scope
from catalogue.reports.gnlc import DEMO_HISTORY_KEY
from catalogue.reports.gnlc import SUPPRESSED
from catalogue.reports.gnlc import build_gnlc
from catalogue.reports.gnlc import gnlc_tables
from catalogue.reports.gnlc import parse_period

PAST_FESTIVAL = "neighbourhood-learning-week"


def today_of(app):
    return utc_now().astimezone(app.settings.city_zone).date()


async def test_the_gnlc_pack_of_the_demo_is_full(app) -> None:
    async with app.session_maker() as session:
        assert await session.get(CatalogueMeta, DEMO_HISTORY_KEY) is not None
        figures = await build_gnlc(
            session, parse_period([], today_of(app)), app.settings.city_zone, utc_now()
        )
        festival = await session.scalar(
            select(Festival).where(Festival.external_id == PAST_FESTIVAL)
        )
    assert figures.demo
    assert figures.learners >= 60
    assert figures.attendances > 300
    assert 0 < figures.first_time_learners < figures.learners
    assert figures.volunteers >= 5
    assert figures.volunteer_hours > 20
    assert figures.feedback_answers > 50
    assert sum(figures.completed_tracks.values()) >= 5
    assert sum(figures.completed_festivals.values()) >= 5
    assert figures.events_by_festival[festival.title["en"]] >= 7
    assert sum(figures.learners_by_gender.values()) == figures.learners
    assert len(figures.learners_by_district) >= 3
    assert len(figures.learners_by_group) >= 3
    summary = {row.key: row.value for row in gnlc_tables(figures)[0].rows}
    shown = [key for key, value in summary.items() if value != SUPPRESSED]
    assert set(shown) == set(summary)  # every key figure has enough people behind it


async def test_the_festival_week_report_is_full(app) -> None:
    async with app.session_maker() as session:
        scope = await resolve_scope(session, ["festival", PAST_FESTIVAL], today_of(app))
        report = await build_report(session, scope, app.settings.city_zone, utc_now())
    assert report.sessions == report.ended_sessions >= 9
    assert report.identified > 50
    assert report.headcount > 0
    assert report.no_show_rate is not None
    assert report.feedback_average is not None
    assert len(report.by_age_band) >= 4


async def test_the_demo_people_are_synthetic_and_never_written_to(app) -> None:
    async with app.session_maker() as session:
        people = list(await session.scalars(select(Resident).where(Resident.telegram_id < 0)))
        codes = list(
            await session.scalars(
                select(ResidentPass.code).where(
                    ResidentPass.resident_id.in_([person.id for person in people])
                )
            )
        )
    assert len(people) == PEOPLE
    assert not any(person.is_active for person in people)
    assert all(normalise_code(code) == code for code in codes)


async def test_the_local_chat_person_has_a_passport(app) -> None:
    async with app.session_maker() as session:
        local = await session.scalar(select(Resident).where(Resident.telegram_id == LOCAL_LEARNER))
        passport = await passport_of(session, local.id)
        completions = await session.scalar(
            select(func.count()).select_from(Completion).where(Completion.resident_id == local.id)
        )
    assert passport.sessions >= 3
    assert passport.hours > 0
    assert passport.by_track
    assert completions >= 1


async def test_the_history_is_made_once(app) -> None:
    async with app.session_maker.begin() as session:
        before = await session.scalar(select(func.count()).select_from(CheckIn))
        assert await load_demo_if_empty(session, today_of(app), app.settings.city_zone) is None
        assert await add_demo_history(session, utc_now()) is False
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == before


async def test_the_first_command_gives_a_full_pack(tmp_path, capsys) -> None:
    """`learncity report gnlc` on a new database: the demo and its past are loaded first."""
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'new.sqlite3'}",
        bot_token=None,
        default_locale="en",
        _env_file=None,
    )
    arguments = build_parser().parse_args(["report", "gnlc", "--out", str(tmp_path)])
    assert await report_command(arguments, settings) == 0
    printed = capsys.readouterr().out
    assert "Unique learners: <5" not in printed
    today = utc_now().astimezone(settings.city_zone).date()
    pdf = tmp_path / f"gnlc-{today - timedelta(days=364)}_{today}.pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert "Demo data" in text
    assert "Neighbourhood Learning Week" in text
