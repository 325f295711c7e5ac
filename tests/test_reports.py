"""Reports for the city's monitoring: the figures, /report in the chat, `learncity report`.

A small world with known answers: two sessions of one offer (one ended two days ago, one
going on now), five residents with and without seats, categories and age groups.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.settings import load_settings
from bot.startup.cli import build_parser
from bot.startup.report_cli import report_command
from catalogue.checkin.door import check_in_codes
from catalogue.checkin.door import record_headcount
from catalogue.checkin.feedback import rate_session
from catalogue.checkin.passes import pass_of
from catalogue.checkin.passes import show_code
from catalogue.checkin.tables import AgeBand
from catalogue.models import Category
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import utc_now
from catalogue.reports.attendance import ATTENDANCE_COLUMNS
from catalogue.reports.attendance import UNKNOWN
from catalogue.reports.attendance import ScopeError
from catalogue.reports.attendance import ScopeKind
from catalogue.reports.attendance import build_report
from catalogue.reports.attendance import resolve_scope
from catalogue.team import Role
from catalogue.team import TeamMember
from tests.checkin_world import team_member
from tests.reminder_world import Made
from tests.reminder_world import make_offer

ORGANISER = 970_001
VOLUNTEER = 970_002
PEOPLE = 5


@pytest.fixture
def settings(database_url: str):
    return load_settings(
        database_url=database_url,
        bot_token=None,
        default_locale="en",
        admin_ids="",
        load_demo=False,
        flood_limit=0,
        _env_file=None,
    )


@dataclass(frozen=True)
class World:
    made: Made
    ended: OfferSession
    ongoing: OfferSession
    telegram_ids: list[int]


async def small_world(app) -> World:
    now = utc_now()
    made = await make_offer(
        app, [now - timedelta(days=2), now - timedelta(minutes=10)], title="Clay basics"
    )
    async with app.session_maker.begin() as session:
        session.add(TeamMember(telegram_id=VOLUNTEER, role=Role.VOLUNTEER, display_name="Vera"))
        makers = Category(external_id="makers", title={"en": "Makers & doers"}, description={})
        elders = Category(external_id="elders", title={"en": "Elders"}, description={})
        session.add_all([makers, elders])
        await session.flush()
        categories = [makers.id, makers.id, elders.id, None, None]
        residents = [
            Resident(telegram_id=980_000 + n, language="en", category_id=categories[n])
            for n in range(PEOPLE)
        ]
        session.add_all(residents)
        await session.flush()
        codes = []
        for resident, band in zip(
            residents, [AgeBand.UNDER_18, AgeBand.FROM_30, None, None, None], strict=True
        ):
            own = await pass_of(session, resident)
            own.age_band = band
            codes.append(show_code(own.code))
        await session.flush()
        ended = await session.get(OfferSession, made.session_ids[0])
        ongoing = await session.get(OfferSession, made.session_ids[1])
        for resident_index, offer_session in [(0, ended), (1, ended), (2, ended), (3, ended),
                                              (0, ongoing), (4, ongoing)]:  # fmt: skip
            session.add(
                Seat(
                    resident_id=residents[resident_index].id,
                    session_id=offer_session.id,
                    status=SeatStatus.GOING,
                )
            )
        await session.flush()
        at_ended = ended.starts_at + timedelta(minutes=5)
        await check_in_codes(session, ended, [codes[0], codes[1], codes[4]], VOLUNTEER, at_ended)
        await check_in_codes(session, ongoing, [codes[0], codes[2]], VOLUNTEER, now)
        await record_headcount(session, ongoing, 25, VOLUNTEER, now)
        await rate_session(session, residents[0], ended.id, 5, now)
        await rate_session(session, residents[1], ended.id, 3, now)
    return World(made, ended, ongoing, [resident.telegram_id for resident in residents])


async def test_the_figures_of_an_offer(app) -> None:
    world = await small_world(app)
    zone = app.settings.city_zone
    async with app.session_maker() as session:
        scope = await resolve_scope(session, ["offer", world.made.external_id], utc_now().date())
        report = await build_report(session, scope, zone, utc_now())
    assert scope.kind is ScopeKind.OFFER
    assert (report.sessions, report.ended_sessions) == (2, 1)
    assert report.registrations == 6
    assert (report.identified, report.walk_ins, report.headcount) == (5, 2, 25)
    assert report.attendance == 30
    assert (report.participants, report.first_timers) == (4, 4)
    # Of the four seats of the ended session, two stayed empty; the ongoing one is not judged.
    assert (report.no_shows, report.tracked_registrations) == (2, 4)
    assert report.no_show_rate == 0.5
    assert (report.feedback_answers, report.feedback_average) == (2, 4.0)
    assert report.by_age_band == {"u18": 2, "30-44": 1, UNKNOWN: 2}
    assert report.by_category == {"Makers & doers": 3, "Elders": 1, UNKNOWN: 1}
    assert report.by_district == {UNKNOWN: 30}
    ended_day = world.ended.starts_at.astimezone(zone).date()
    ongoing_day = world.ongoing.starts_at.astimezone(zone).date()
    assert report.by_day == {ended_day: (3, 0), ongoing_day: (2, 25)}


async def test_first_time_learners_are_those_who_never_came_before(app) -> None:
    world = await small_world(app)
    async with app.session_maker() as session:
        scope = await resolve_scope(session, ["session", str(world.ongoing.id)], utc_now().date())
        report = await build_report(session, scope, app.settings.city_zone, utc_now())
    # Resident 0 came to the earlier session too; resident 2 comes for the first time.
    assert (report.participants, report.first_timers) == (2, 1)
    assert report.no_show_rate is None  # still going on


async def test_scopes_by_dates_and_mistakes(app) -> None:
    world = await small_world(app)
    today = utc_now().astimezone(app.settings.city_zone).date()
    async with app.session_maker() as session:
        week = await resolve_scope(session, ["week"], today)
        assert (week.first_day, week.last_day) == (today - timedelta(days=6), today)
        report = await build_report(session, week, app.settings.city_zone, utc_now())
        assert report.sessions == 2
        for words in (["festival", "nope"], ["2025-13-01"], ["2025-06-30", "2025-06-01"],
                      ["yesterday"], ["session"], []):  # fmt: skip
            with pytest.raises(ScopeError):
                await resolve_scope(session, words, today)
        empty = await resolve_scope(session, ["2001-01-01", "2001-01-31"], today)
        report = await build_report(session, empty, app.settings.city_zone, utc_now())
        assert (report.sessions, report.attendance, report.no_show_rate) == (0, 0, None)
    assert world.made


async def test_an_organiser_gets_the_summary_a_chart_and_two_csvs(app) -> None:
    world = await small_world(app)
    organiser = await team_member(app, ORGANISER, Role.ORGANISER)
    picker = await organiser.send("/report")
    assert "Attendance reports" in picker.text
    since = len(organiser.telegram.calls)
    await organiser.send(f"/report offer {world.made.external_id}")
    sent = [call for call in organiser.telegram.calls[since:] if call.ok]
    summary = next(call for call in sent if call.method == "sendMessage").params["text"]
    assert "Report: offer: Clay basics" in summary
    assert "Attendance: 30 — identified 5 (walk-ins 2), headcount 25" in summary
    assert "No-show rate: 50%" in summary
    assert "Feedback: 4 ⭐ from 2 answers" in summary
    assert "By age group: 18–29" not in summary
    assert "under 18: 2" in summary
    assert "By category: Makers &amp; doers: 3 · Elders: 1 · not told: 1" in summary
    photos = [call.params["photo"] for call in sent if call.method == "sendPhoto"]
    documents = [call.params["document"] for call in sent if call.method == "sendDocument"]
    slug = f"offer-{world.made.offer_id}"
    assert photos == [f"attendance-{slug}.png"]
    assert documents == [f"attendance-{slug}.csv", f"aggregates-{slug}.csv"]
    files = organiser.telegram.sent_files
    assert files[f"attendance-{slug}.png"].startswith(b"\x89PNG")

    rows = list(csv.DictReader(io.StringIO(files[f"attendance-{slug}.csv"].decode())))
    assert list(rows[0]) == list(ATTENDANCE_COLUMNS)
    assert sorted(row["method"] for row in rows) == ["code"] * 5 + ["headcount"]
    assert [row["timestamp"] for row in rows] == sorted(row["timestamp"] for row in rows)
    first_at = (world.ended.starts_at + timedelta(minutes=5)).astimezone(app.settings.city_zone)
    assert rows[0]["timestamp"] == first_at.isoformat(timespec="seconds")
    headcount = next(row for row in rows if row["method"] == "headcount")
    assert (headcount["people"], headcount["registered"]) == ("25", "")
    assert {row["volunteer_id"] for row in rows} == {str(VOLUNTEER)}
    assert {row["volunteer"] for row in rows} == {"Vera"}
    assert {row["offer"] for row in rows} == {"Clay basics"}
    check_ins = [row for row in rows if row["method"] == "code"]
    assert sorted(row["registered"] for row in check_ins) == ["no", "no", "yes", "yes", "yes"]
    aggregates = list(csv.reader(io.StringIO(files[f"aggregates-{slug}.csv"].decode())))
    assert ["total", "no_show_rate", "0.5"] in aggregates
    assert ["category", "Makers & doers", "3"] in aggregates
    # No person is named: no resident's Telegram id or pass code in any file.
    everything = b"".join(files[name] for name in documents)
    for telegram_id in world.telegram_ids:
        assert str(telegram_id).encode() not in everything

    screen = await organiser.send("/report festival nope")
    assert "Nothing is called “nope”" in screen.text
    await organiser.press_data("rep:week:0")
    assert any(call.method == "sendPhoto" for call in organiser.telegram.calls[-4:])
    await organiser.close()


async def test_learncity_report_writes_the_same_files(app, tmp_path, capsys) -> None:
    world = await small_world(app)
    arguments = build_parser().parse_args(
        ["report", "offer", world.made.external_id, "--out", str(tmp_path)]
    )
    assert await report_command(arguments, app.settings) == 0
    slug = f"offer-{world.made.offer_id}"
    printed = capsys.readouterr().out
    assert "Report: offer: Clay basics" in printed
    assert "<b>" not in printed
    assert (tmp_path / f"attendance-{slug}.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / f"attendance-{slug}.csv").read_text().startswith("timestamp,session_id")
    assert "first_time_learners" in (tmp_path / f"aggregates-{slug}.csv").read_text()

    arguments = build_parser().parse_args(["report", "track", "nope", "--out", str(tmp_path)])
    assert await report_command(arguments, app.settings) == 1
    assert "Nothing is called" in capsys.readouterr().err


def test_the_bot_starts_without_matplotlib_or_segno() -> None:
    probe = (
        "import sys, bot.startup.app, handlers, scheduler.jobs; "
        "print(sorted(m for m in ('matplotlib', 'segno') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


async def test_residents_and_volunteers_get_no_report(app) -> None:
    volunteer = await team_member(app, VOLUNTEER)
    screen = await volunteer.send("/report week")
    # A team member hears what their role may do instead (bot/permissions.py).
    assert screen.text.startswith("Your role in the festival team is volunteer")
    assert not [call for call in volunteer.telegram.calls if call.method == "sendDocument"]
    async with app.session_maker() as session:
        assert await session.scalar(select(Resident.id).limit(1)) is not None
    await volunteer.close()


async def files_of_week(app, week, locale: str = "en"):
    """The /report files of the hand-built week of tests/gnlc_world.py, whose offer is titled
    `=1+1`, whose second volunteer is named `=HYPERLINK(…)` and one venue's district `=1+1 …`."""
    from bot.report_files import ReportReader
    from bot.report_files import make_report_files

    async with app.session_maker() as session:
        scope = await resolve_scope(
            session, [str(week.period.first_day), str(week.period.last_day)], utc_now().date()
        )
        return await make_report_files(
            session, scope, ReportReader(locale, app.settings.city_zone), utc_now()
        )


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


async def test_formulas_in_the_report_csvs_are_neutralised(app) -> None:
    """A volunteer named =HYPERLINK(…), an offer titled =1+1 and a district set to a formula
    reach the CSVs as text a spreadsheet shows, not runs (on PostgreSQL the database writes
    the attendance CSV itself: the same rule applies there)."""
    from tests.gnlc_world import FORMULA_DISTRICT
    from tests.gnlc_world import VOLUNTEER_NAMES
    from tests.gnlc_world import build_week

    files = await files_of_week(app, await build_week(app))
    attendance = list(csv.DictReader(io.StringIO(files.attendance_csv.decode())))
    assert {row["offer"] for row in attendance} == {"'=1+1", "lecture", "workshop"}
    assert "'" + VOLUNTEER_NAMES[1] in {row["volunteer"] for row in attendance}
    assert "Vera" in {row["volunteer"] for row in attendance}
    aggregates = list(csv.reader(io.StringIO(files.aggregates_csv.decode())))
    assert ["district", "'" + FORMULA_DISTRICT, "22"] in aggregates
    for content in (files.attendance_csv, files.aggregates_csv):
        for row in csv.reader(io.StringIO(content.decode())):
            assert not [cell for cell in row if cell.startswith(FORMULA_STARTS)], row


async def test_comments_reach_the_report_and_its_files(app) -> None:
    """Comments left after the course appear in /report's summary and in comments-….csv,
    with the offer and score, never with who wrote them."""
    from catalogue.checkin.feedback import comment_on_session
    from catalogue.reports.attendance import COMMENT_COLUMNS
    from tests.gnlc_world import build_week

    week = await build_week(app)
    async with app.session_maker.begin() as session:
        for telegram_id, text in ((week.telegram_ids[1], "Too cold in the hall <brr>"),
                                  (week.telegram_ids[0], "=cmd|' /C calc'!A0")):  # fmt: skip
            resident = await session.scalar(
                select(Resident).where(Resident.telegram_id == telegram_id)
            )
            assert await comment_on_session(
                session, resident, week.course, text, utc_now(), app.settings.city_zone
            )
    files = await files_of_week(app, week)
    assert "💬 Comments: 2 (all in the comments file)" in files.summary
    assert "«Too cold in the hall &lt;brr&gt;»" in files.summary
    rows = list(csv.DictReader(io.StringIO(files.comments_csv.decode())))
    assert list(rows[0]) == list(COMMENT_COLUMNS)
    assert sorted((row["offer"], row["score"], row["comment"]) for row in rows) == [
        ("'=1+1", "4", "Too cold in the hall <brr>"),
        ("'=1+1", "5", "'=cmd|' /C calc'!A0"),
    ]
    assert files.comments_name in [name for name, _content in files.files()]
    for telegram_id in week.telegram_ids:
        assert str(telegram_id).encode() not in files.comments_csv


async def test_an_organiser_gets_the_comments_file_in_the_chat(app) -> None:
    from catalogue.checkin.feedback import comment_on_session
    from tests.gnlc_world import build_week

    week = await build_week(app)
    async with app.session_maker.begin() as session:
        resident = await session.scalar(
            select(Resident).where(Resident.telegram_id == week.telegram_ids[2])
        )
        await comment_on_session(
            session, resident, week.course, "More clay!", utc_now(), app.settings.city_zone
        )
    organiser = await team_member(app, ORGANISER, Role.ORGANISER)
    since = len(organiser.telegram.calls)
    await organiser.send(f"/report {week.period.first_day} {week.period.last_day}")
    sent = [call for call in organiser.telegram.calls[since:] if call.ok]
    summary = next(call for call in sent if call.method == "sendMessage").params["text"]
    assert "«More clay!»" in summary
    documents = [call.params["document"] for call in sent if call.method == "sendDocument"]
    slug = f"{week.period.first_day}_{week.period.last_day}"
    assert documents == [f"attendance-{slug}.csv", f"aggregates-{slug}.csv", f"comments-{slug}.csv"]
    assert b"More clay!" in organiser.telegram.sent_files[f"comments-{slug}.csv"]
    await organiser.close()
