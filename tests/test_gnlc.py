"""The GNLC report pack: each figure on a hand-built week (tests/gnlc_world.py), small cells
suppressed, the PDF read back, no person in any file, the command line and the chat."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from datetime import timedelta

import pytest
from pypdf import PdfReader

from bot.report_files import ReportReader
from bot.report_files.gnlc import gnlc_pack
from bot.settings import load_settings
from bot.startup.cli import build_parser
from bot.startup.report_cli import report_command
from catalogue.models import utc_now
from catalogue.reports.attendance import UNKNOWN
from catalogue.reports.attendance import ScopeError
from catalogue.reports.gnlc import NO_FESTIVAL
from catalogue.reports.gnlc import SUPPRESSED
from catalogue.reports.gnlc import Period
from catalogue.reports.gnlc import build_gnlc
from catalogue.reports.gnlc import gnlc_tables
from catalogue.reports.gnlc import parse_period
from catalogue.reports.gnlc import published
from catalogue.team import Role
from tests.checkin_world import team_member
from tests.gnlc_world import VOLUNTEER_NAMES
from tests.gnlc_world import VOLUNTEERS
from tests.gnlc_world import build_week

ADMIN = 960_001
ORGANISER = 960_002


@pytest.fixture
def settings(database_url: str):
    return load_settings(
        database_url=database_url,
        bot_token=None,
        default_locale="en",
        admin_ids=str(ADMIN),
        load_demo=False,
        flood_limit=0,
        redis_url=None,
        _env_file=None,
    )


async def figures_of(app, period: Period, locale: str = "en"):
    async with app.session_maker() as session:
        return await build_gnlc(session, period, app.settings.city_zone, utc_now(), locale)


async def test_every_figure_of_the_week(app) -> None:
    week = await build_week(app)
    figures = await figures_of(app, week.period)

    # Who learns
    assert (figures.learners, figures.attendances) == (12, 38)
    assert (figures.first_time_learners, figures.returning_learners) == (11, 1)
    assert figures.learners_by_age_band == {"60+": 5, "30-44": 3, "u18": 1, UNKNOWN: 3}
    assert figures.learners_by_gender == {"woman": 6, "man": 3, "undisclosed": 1, UNKNOWN: 2}
    # Districts are plain names in the catalogue: romanised in an English report.
    assert figures.learners_by_district == {"Tsentr": 7, "Zarechnyy": 2, UNKNOWN: 3}
    assert figures.learners_by_group == {"pensioner": 5, "disability": 1}
    assert figures.learners_by_category == {"Elders": 6, "Makers": 2, UNKNOWN: 4}
    # Who teaches
    assert (figures.active_providers, figures.new_providers) == (2, 1)
    assert figures.returning_providers == 1
    assert figures.venues == 2
    assert (figures.volunteers, figures.volunteer_hours) == (5, 9.0)
    # What was offered
    assert figures.events == 3
    assert figures.events_by_kind == {"course": 1, "lecture": 1, "workshop": 1}
    assert figures.events_by_festival == {"Week fest": 2, NO_FESTIVAL: 1}
    day1 = week.period.first_day + timedelta(days=1)
    assert figures.events_by_day == {day1: 1, day1 + timedelta(days=1): 2}
    assert (figures.free_events, figures.step_free_events, figures.online_events) == (2, 1, 2)
    # How it went
    assert (figures.feedback_answers, figures.feedback_average) == (5, 4.2)
    assert (figures.no_show_base, figures.no_show_rate) == (8, 0.25)
    assert figures.completed_tracks == {"Week track": 2}
    assert figures.completed_festivals == {}
    assert figures.demo is False


async def test_a_period_before_the_week_sees_only_what_happened_then(app) -> None:
    week = await build_week(app)
    before = week.period.first_day - timedelta(days=15)
    figures = await figures_of(app, Period(before, before + timedelta(days=10)))
    # R1 at the course's first session: a first-time learner then; Old Hands were new then.
    assert (figures.learners, figures.first_time_learners, figures.attendances) == (1, 1, 1)
    assert (figures.active_providers, figures.new_providers, figures.events) == (1, 1, 1)
    assert figures.completed_tracks == {}


async def test_small_cells_are_published_as_under_five(app) -> None:
    week = await build_week(app)
    tables = {table.name: table for table in gnlc_tables(await figures_of(app, week.period))}
    summary = {row.key: row.value for row in tables["summary"].rows}
    assert summary == {
        "learners": 12,
        "attendances": 38,
        "first_time_learners": 11,
        "returning_learners": SUPPRESSED,
        "active_providers": 2,
        "new_providers": 1,
        "returning_providers": 1,
        "venues": 2,
        "events": 3,
        "free_events_share": 0.6667,
        "step_free_events_share": 0.3333,
        "online_events_share": 0.6667,
        "volunteers": 5,
        "volunteer_hours": 9.0,
        "feedback_answers": 5,
        "feedback_average": 4.2,
        "no_show_base": 8,
        "no_show_rate": 0.25,
        "completed_tracks": SUPPRESSED,
        "completed_festivals": SUPPRESSED,
    }
    gender = [(row.key, row.value, row.share) for row in tables["learners_by_gender"].rows]
    assert gender == [
        ("woman", 6, 0.5),
        ("man", SUPPRESSED, None),
        ("undisclosed", SUPPRESSED, None),
        (UNKNOWN, SUPPRESSED, None),
    ]
    district = [(row.key, row.value) for row in tables["learners_by_district"].rows]
    assert district == [("Tsentr", 7), ("Zarechnyy", SUPPRESSED), (UNKNOWN, SUPPRESSED)]
    groups = [(row.key, row.value) for row in tables["learners_by_group"].rows]
    assert groups == [("pensioner", 5), ("disability", SUPPRESSED)]
    tracks = [(row.key, row.value) for row in tables["completed_tracks"].rows]
    assert tracks == [("Week track", SUPPRESSED)]
    # Events count no person: shown as they are, however few.
    kinds = [(row.key, row.value) for row in tables["events_by_kind"].rows]
    assert kinds == [("course", 1), ("lecture", 1), ("workshop", 1)]
    # Every people cell of every table is 5 or more, or "<5".
    for table in tables.values():
        if table.people and table.name != "summary":
            assert all(row.value == SUPPRESSED or row.value >= 5 for row in table.rows)


def test_published_counts() -> None:
    assert [published(n) for n in (0, 1, 4, 5, 6)] == [SUPPRESSED] * 3 + [5, 6]


async def test_figures_computed_from_few_people_are_suppressed(app) -> None:
    """With four answers the average would single people out: it is hidden with their count."""
    week = await build_week(app)
    async with app.session_maker.begin() as session:
        from sqlalchemy import delete

        from catalogue.checkin.tables import SessionFeedback

        await session.execute(delete(SessionFeedback).where(SessionFeedback.score == 3))
    tables = gnlc_tables(await figures_of(app, week.period))
    summary = {row.key: row.value for row in tables[0].rows}
    assert (summary["feedback_answers"], summary["feedback_average"]) == (SUPPRESSED, SUPPRESSED)


def pdf_text(content: bytes) -> str:
    """The PDF's text as read back, every run of spaces and line breaks one space."""
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


async def test_the_pdf_holds_the_figures_in_english_and_in_russian(app) -> None:
    week = await build_week(app)
    english = gnlc_pack(
        await figures_of(app, week.period), ReportReader("en", app.settings.city_zone)
    )
    text = pdf_text(english.pdf)
    assert text.startswith("Learning city progress report (UNESCO GNLC)")
    for line in (
        "Unique learners 12",
        "Attendances 38",
        "First-time learners 11",
        "Returning learners <5",
        "New providers 1",
        "Volunteer hours 9",
        "Free events 66.7%",
        "Step-free events 33.3%",
        "Online or hybrid events 66.7%",
        "Average feedback (1 to 5) 4.2",
        "No-show rate 25%",
        "women 6 50%",
        "men <5 <5",
        "Tsentr 7",
        "Course 1",
        "Week fest 2",
        "outside any festival 1",
        "Week track <5",
        "Pensioner 5",
    ):
        assert line in text, line
    assert "Demo data" not in text
    russian = gnlc_pack(
        await figures_of(app, week.period, "ru"), ReportReader("ru", app.settings.city_zone)
    )
    text = pdf_text(russian.pdf)
    assert "Отчёт обучающегося города (ЮНЕСКО GNLC)" in text
    for line in ("Уникальные учащиеся 12", "Посещения 38", "женщины 6 50%", "Старшие 6",
                 "Центр 7", "Пенсионер(ка) 5"):  # fmt: skip
        assert line in text, line
    assert "Free events" not in text


async def test_no_name_telegram_id_or_pass_code_in_the_pdf_or_the_csvs(app, tmp_path) -> None:
    week = await build_week(app)
    pack = gnlc_pack(await figures_of(app, week.period), ReportReader("en", app.settings.city_zone))
    assert pack.pdf.startswith(b"%PDF")
    assert len(pack.csv_files) == 10
    texts = [pdf_text(pack.pdf), *(content.decode() for content in pack.csv_files.values())]
    forbidden = [*map(str, week.telegram_ids), *map(str, VOLUNTEERS), *week.codes]
    forbidden += [code[:4] + "-" + code[4:] for code in week.codes]
    forbidden += [name for name in VOLUNTEER_NAMES if len(name) > 4] + ["HYPERLINK"]
    for text in texts:
        found = [item for item in forbidden if item in text]
        assert found == []
    for content in pack.csv_files.values():
        assert not any(item.encode() in content for item in forbidden)


async def test_each_table_is_a_csv_and_a_chart(app) -> None:
    week = await build_week(app)
    pack = gnlc_pack(await figures_of(app, week.period), ReportReader("en", app.settings.city_zone))
    slug = f"gnlc-{week.period.slug()}"
    rows = list(
        csv.DictReader(io.StringIO(pack.csv_files[f"{slug}-learners_by_gender.csv"].decode()))
    )
    assert rows == [
        {"key": "woman", "label": "women", "learners": "6", "share": "0.5"},
        {"key": "man", "label": "men", "learners": "<5", "share": ""},
        {"key": "undisclosed", "label": "prefer not to say", "learners": "<5", "share": ""},
        {"key": "unknown", "label": "not told", "learners": "<5", "share": ""},
    ]
    summary = list(csv.reader(io.StringIO(pack.csv_files[f"{slug}-summary.csv"].decode())))
    assert summary[0] == ["figure", "label", "value"]
    assert ["learners", "Unique learners", "12"] in summary
    assert ["volunteer_hours", "Volunteer hours", "9.0"] in summary
    assert len(pack.charts) == 9
    assert all(png.startswith(b"\x89PNG") for png in pack.charts.values())
    with zipfile.ZipFile(io.BytesIO(pack.zipped())) as archive:
        assert sorted(archive.namelist()) == sorted([*pack.csv_files, *pack.charts])


async def test_an_empty_period_has_no_data_panels(app) -> None:
    await build_week(app)
    period = Period(date(2001, 1, 1), date(2001, 12, 31))
    figures = await figures_of(app, period)
    assert (figures.learners, figures.events, figures.volunteers) == (0, 0, 0)
    pack = gnlc_pack(figures, ReportReader("en", app.settings.city_zone))
    text = pdf_text(pack.pdf)
    assert text.count("No data for this period") == 9
    assert "Unique learners <5" in text
    assert "Free events —" in text
    # The empty charts are a plain panel: one colour and the sentence, no axes.
    from PIL import Image

    chart = Image.open(io.BytesIO(pack.charts[f"gnlc-{period.slug()}-learners_by_gender.png"]))
    left_edge = {chart.getpixel((x, y)) for x in range(0, 60) for y in range(60, chart.height - 60)}
    assert left_edge == {(255, 255, 255, 255)}


def test_the_period_is_read_from_two_dates() -> None:
    today = date(2026, 12, 4)
    assert parse_period(["2026-01-01", "2026-12-31"], today) == Period(
        date(2026, 1, 1), date(2026, 12, 31)
    )
    assert parse_period([], today) == Period(date(2025, 12, 5), today)
    for words in (["2026-01-01"], ["2026-12-31", "2026-01-01"], ["tomorrow", "x"],
                  ["2020-01-01", "2026-01-01"]):  # fmt: skip
        with pytest.raises(ScopeError):
            parse_period(words, today)


async def test_learncity_report_gnlc_writes_the_pack(app, tmp_path, capsys) -> None:
    week = await build_week(app)
    period = week.period
    arguments = build_parser().parse_args(
        ["report", "gnlc", str(period.first_day), str(period.last_day), "--out", str(tmp_path),
         "--locale", "ru"]
    )  # fmt: skip
    assert await report_command(arguments, app.settings) == 0
    printed = capsys.readouterr().out
    assert "Уникальные учащиеся: 12" in printed
    slug = f"gnlc-{period.slug()}"
    assert pdf_text((tmp_path / f"{slug}.pdf").read_bytes()).count("Уникальные учащиеся 12") == 1
    assert (tmp_path / f"{slug}-events_by_kind.csv").exists()
    assert (tmp_path / f"{slug}-learners_by_district.png").read_bytes().startswith(b"\x89PNG")

    arguments = build_parser().parse_args(["report", "gnlc", "2026-12-31", "2026-01-01"])
    assert await report_command(arguments, app.settings) == 1
    assert "Dates are written 2025-06-01" in capsys.readouterr().err


async def test_an_administrator_gets_the_pack_in_the_chat(app) -> None:
    week = await build_week(app)
    admin = await team_member(app, ADMIN, Role.ORGANISER)
    picker = await admin.send("/report")
    assert "/report gnlc" in picker.text
    since = len(admin.telegram.calls)
    period = week.period
    await admin.send(f"/report gnlc {period.first_day} {period.last_day}")
    sent = [call for call in admin.telegram.calls[since:] if call.ok]
    summary = next(call for call in sent if call.method == "sendMessage").params["text"]
    assert "Unique learners: 12" in summary
    assert "Returning learners: &lt;5" in summary
    documents = [call.params["document"] for call in sent if call.method == "sendDocument"]
    slug = f"gnlc-{period.slug()}"
    assert documents == [f"{slug}.pdf", f"{slug}-tables.zip"]
    assert "Unique learners 12" in pdf_text(admin.telegram.sent_files[f"{slug}.pdf"])

    since = len(admin.telegram.calls)
    await admin.press("GNLC pack")
    names = [call.params["document"] for call in admin.telegram.calls[since:]
             if call.method == "sendDocument"]  # fmt: skip
    today = utc_now().astimezone(app.settings.city_zone).date()
    assert names[0] == f"gnlc-{today - timedelta(days=364)}_{today}.pdf"

    screen = await admin.send("/report gnlc 2026-02-30 2026-03-01")
    assert "Dates are written 2025-06-01" in screen.text
    await admin.close()


async def test_an_organiser_gets_no_pack(app) -> None:
    organiser = await team_member(app, ORGANISER, Role.ORGANISER)
    picker = await organiser.send("/report")
    assert "gnlc" not in picker.text
    assert not any("GNLC" in label for label in organiser.labels())
    screen = await organiser.send("/report gnlc")
    assert screen.text == "The GNLC report pack is for the city's administrators."
    await organiser.press_data("rep:gnlc:0")
    assert not [call for call in organiser.telegram.calls if call.method == "sendDocument"]
    await organiser.close()


async def test_districts_read_in_the_reports_language(app) -> None:
    """The venue's district in an English /report is romanised; in Russian it is as stored."""
    from bot.report_files import make_report_files
    from catalogue.reports.attendance import place_name
    from catalogue.reports.attendance import resolve_scope

    assert [place_name(name, "en") for name in ("Центр", "Заречный", "Barn", "=1+1")] == [
        "Tsentr",
        "Zarechnyy",
        "Barn",
        "=1+1",
    ]
    assert place_name("Заречный", "ru") == "Заречный"
    week = await build_week(app)
    words = [str(week.period.first_day), str(week.period.last_day)]
    async with app.session_maker() as session:
        scope = await resolve_scope(session, words, week.period.last_day)
        english = await make_report_files(
            session, scope, ReportReader("en", app.settings.city_zone), utc_now()
        )
        russian = await make_report_files(
            session, scope, ReportReader("ru", app.settings.city_zone), utc_now()
        )
    assert "=1+1 district: 22 · Tsentr: 8 · online / no venue: 8" in english.summary
    assert "Центр: 8" in russian.summary
    assert ["district", "Tsentr", "8"] in list(
        csv.reader(io.StringIO(english.aggregates_csv.decode()))
    )
