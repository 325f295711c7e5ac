"""/forget_me keeps the city's figures: the attendance report and the GNLC pack count the same
after a resident is forgotten, and no row anywhere still holds them or their answers.

The world is tests/gnlc_world.py's week (twelve learners with check-ins, consented facts,
seats, scores and completions); R1 and R2 also answer the survey, R1 comments on the course
and gets a certificate. R1 then forgets themself through the real dispatcher.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlmodel import SQLModel

from bot.settings import load_settings
from catalogue.checkin.feedback import comment_on_session
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import ResidentPass
from catalogue.checkin.tables import SessionFeedback
from catalogue.learners.certificates import issue_certificate
from catalogue.learners.survey import set_wish
from catalogue.learners.survey import toggle_topic
from catalogue.learners.tables import Certificate
from catalogue.learners.tables import Completion
from catalogue.learners.tables import LearnerFacts
from catalogue.learners.tables import LearnerGroup
from catalogue.learners.tables import SurveyAnswer
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import utc_now
from catalogue.privacy import STAND_IN_CHAT_LIMIT
from catalogue.privacy import forget_resident
from catalogue.reports.attendance import UNKNOWN
from catalogue.reports.attendance import build_report
from catalogue.reports.gnlc import Period
from catalogue.reports.gnlc import build_gnlc
from tests.gnlc_world import VOLUNTEER_NAMES
from tests.gnlc_world import VOLUNTEERS
from tests.gnlc_world import Week
from tests.gnlc_world import build_week
from tests.resident_chat import ResidentChat

WISH = "Beekeeping for beginners, please"
COMMENT = "Loved the tea break with Aunt Zinaida"
PRINTED_NAME = "Ottilie Quenby"


@pytest.fixture
def settings(database_url: str):
    return load_settings(
        database_url=database_url,
        bot_token=None,
        default_locale="en",
        load_demo=False,
        flood_limit=0,
        redis_url=None,
        _env_file=None,
    )


async def _resident(session, telegram_id: int) -> Resident:
    return await session.scalar(select(Resident).where(Resident.telegram_id == telegram_id))


async def with_answers(app, week: Week) -> None:
    """R1 and R2 answer the survey; R1 comments on the course and prints a certificate."""
    now = utc_now()
    async with app.session_maker.begin() as session:
        for telegram_id, topic in zip(week.telegram_ids[:2], ("crafts", "health"), strict=True):
            resident = await _resident(session, telegram_id)
            resident.language_chosen = True
            await toggle_topic(session, resident.id, topic, now)
            await set_wish(session, resident.id, f"{WISH} ({topic})", now)
        first = await _resident(session, week.telegram_ids[0])
        assert await comment_on_session(
            session, first, week.course, COMMENT, now, app.settings.city_zone
        )
        completion = await session.scalar(
            select(Completion).where(Completion.resident_id == first.id)
        )
        await issue_certificate(session, first.id, completion.id, PRINTED_NAME, "en", now)


async def figures(app, period: Period, now) -> tuple[Any, Any, Any]:
    """The attendance report of the week and of everything (R1 came before the week too),
    and the week's GNLC figures, all as of `now`."""
    zone = app.settings.city_zone
    everything = Period(period.first_day - timedelta(days=30), period.last_day)
    async with app.session_maker() as session:
        return (
            await build_report(session, period.scope(), zone, now),
            await build_report(session, everything.scope(), zone, now),
            await build_gnlc(session, period, zone, now),
        )


def changed(before: Any, after: Any) -> dict[str, tuple[Any, Any]]:
    """The fields of two figures dataclasses that differ, as (before, after)."""
    return {
        item.name: (getattr(before, item.name), getattr(after, item.name))
        for item in dataclasses.fields(before)
        if getattr(before, item.name) != getattr(after, item.name)
    }


def _names(value: Any, telegram_id: int, texts: list[str]) -> bool:
    """The Telegram id as a number, or the id or a text within a string or JSON."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value == telegram_id
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return isinstance(value, str) and any(part in value for part in [str(telegram_id), *texts])


async def rows_naming(app, telegram_id: int, resident_id: int, texts: list[str]) -> list[str]:
    """Every cell of every table that holds the Telegram id, the resident id (in a column
    pointing at a resident) or one of `texts`, as "table.column"."""
    import catalogue.tables  # noqa: F401  (every table)

    found = []
    async with app.session_maker() as session:
        for table in SQLModel.metadata.sorted_tables:
            resident_columns = {
                column.name
                for column in table.columns
                if "resident" in column.name
                or any(key.column.table.name == "resident" for key in column.foreign_keys)
            }
            if table.name == "resident":
                resident_columns.add("id")
            for row in (await session.execute(select(table))).mappings():
                for name, value in row.items():
                    if _names(value, telegram_id, texts) or (
                        name in resident_columns and value == resident_id
                    ):
                        found.append(f"{table.name}.{name}")
    return found


async def count(app, model, *conditions) -> int:
    async with app.session_maker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*conditions))


async def test_forget_me_keeps_every_total_and_no_trace_of_the_person(app) -> None:
    week = await build_week(app)
    await with_answers(app, week)
    first_id, second_id = week.telegram_ids[:2]
    async with app.session_maker() as session:
        me = await _resident(session, first_id)
        neighbour = await _resident(session, second_id)
        my_id, neighbour_id = me.id, neighbour.id
    traces = [week.codes[0], WISH + " (crafts)", COMMENT, PRINTED_NAME]
    assert set(await rows_naming(app, first_id, my_id, traces)) >= {
        "resident.telegram_id",
        "resident_pass.code",
        "survey_answer.wish",
        "session_feedback.comment",
        "certificate.printed_name",
        "check_in.resident_id",
        "learner_facts.resident_id",
    }
    now = utc_now()
    report, whole, gnlc = await figures(app, week.period, now)
    assert (report.participants, report.attendance, report.first_timers) == (12, 38, 11)
    assert (gnlc.learners, gnlc.completed_tracks) == (12, {"Week track": 2})
    tables_before = {
        model: await count(app, model)
        for model in (LearnerFacts, LearnerGroup, SurveyAnswer, ResidentPass, Certificate)
    }

    chat = ResidentChat(app, user_id=first_id)
    screen = await chat.send("/forget_me")
    assert "Delete all your data?" in screen.text
    assert "without your name" in screen.text
    screen = await chat.press("Yes, delete everything")
    assert "Your data is deleted" in screen.text
    await chat.close()

    # No row holds R1: not their Telegram id, resident id, pass code, words or printed name.
    assert await rows_naming(app, first_id, my_id, traces) == []
    # Their answers are gone, and only theirs.
    assert {
        model: await count(app, model)
        for model in (LearnerFacts, LearnerGroup, SurveyAnswer, ResidentPass, Certificate)
    } == {
        LearnerFacts: tables_before[LearnerFacts] - 1,
        LearnerGroup: tables_before[LearnerGroup] - 1,
        SurveyAnswer: tables_before[SurveyAnswer] - 1,
        ResidentPass: tables_before[ResidentPass] - 1,
        Certificate: tables_before[Certificate] - 1,
    }
    for model in (LearnerFacts, SurveyAnswer, ResidentPass, CheckIn, Completion):
        assert await count(app, model, model.resident_id == neighbour_id) >= 1

    # The report's figures are the same; R1's age band and category on their check-ins are
    # gone, so their two check-ins of the week (course, workshop) count as "not told".
    report_after, whole_after, gnlc_after = await figures(app, week.period, now)
    assert changed(report, report_after).keys() == {"by_age_band", "by_category"}
    for before, after, told in [
        (report.by_age_band, report_after.by_age_band, "60+"),
        (report.by_category, report_after.by_category, "Elders"),
    ]:
        assert after[told] == before[told] - 2
        assert after[UNKNOWN] == before.get(UNKNOWN, 0) + 2
        assert sum(after.values()) == sum(before.values())
    assert (whole_after.participants, whole_after.first_timers, whole_after.attendance) == (
        whole.participants,
        whole.first_timers,
        whole.attendance,
    )
    assert changed(whole, whole_after).keys() == {"by_age_band", "by_category"}

    # The GNLC pack: the same learners, attendances, scores, no-shows and completions; R1's
    # answers (60+, "Elders", woman, Центр, pensioner) are no longer told.
    assert changed(gnlc, gnlc_after).keys() == {
        "learners_by_age_band",
        "learners_by_category",
        "learners_by_gender",
        "learners_by_district",
        "learners_by_group",
    }
    assert gnlc_after.learners == 12
    assert gnlc_after.learners_by_age_band == {"60+": 4, "30-44": 3, "u18": 1, UNKNOWN: 4}
    assert gnlc_after.learners_by_category == {"Elders": 5, "Makers": 2, UNKNOWN: 5}
    assert gnlc_after.learners_by_gender == {"woman": 5, "man": 3, "undisclosed": 1, UNKNOWN: 3}
    assert gnlc_after.learners_by_district == {"Tsentr": 6, "Zarechnyy": 2, UNKNOWN: 4}
    assert gnlc_after.learners_by_group == {"pensioner": 4, "disability": 1}

    # What keeps the counts: one anonymous stand-in, who can be sent nothing.
    async with app.session_maker() as session:
        stand_in = await session.scalar(
            select(Resident).where(Resident.telegram_id < STAND_IN_CHAT_LIMIT)
        )
        kept = list(
            await session.scalars(select(CheckIn).where(CheckIn.resident_id == stand_in.id))
        )
        feedback = await session.scalar(
            select(SessionFeedback).where(SessionFeedback.resident_id == stand_in.id)
        )
    assert stand_in.id not in (my_id, neighbour_id)
    assert not stand_in.is_active
    assert (stand_in.category_id, stand_in.track_id, stand_in.timezone) == (None, None, None)
    assert (stand_in.reminders_on, stand_in.announcements_on) == (False, False)
    assert len(kept) == 3  # before the week, the course, the workshop
    assert {(row.age_band, row.category_id) for row in kept} == {(None, None)}
    assert (feedback.score, feedback.comment) == (5, None)
    assert await count(app, Seat, Seat.resident_id == stand_in.id) == 1
    assert await count(app, Resident, Resident.telegram_id < STAND_IN_CHAT_LIMIT) == 1
    # Writing again starts afresh, and the stand-in is not them.
    chat = ResidentChat(app, user_id=first_id)
    screen = await chat.send("/start")
    assert "Choose your language" in screen.text
    await chat.close()
    async with app.session_maker() as session:
        again = await _resident(session, first_id)
    assert again.id not in (my_id, stand_in.id)
    assert await count(app, CheckIn, CheckIn.resident_id == again.id) == 0


@pytest.mark.parametrize("days_ago", [0, 30])
async def test_a_seat_is_kept_once_its_session_has_started(app, days_ago: int) -> None:
    """R12 held a seat at the course and did not come (a no-show the report counts), and came
    to the lecture. Forgotten after the week, the seat stays with the stand-in beside the
    check-in; forgotten (as if) before the course, the seat of a session still to come is
    given up and only the check-in is kept."""
    week = await build_week(app)
    now = utc_now()
    report, _whole, gnlc = await figures(app, week.period, now)
    async with app.session_maker.begin() as session:
        me = await _resident(session, week.telegram_ids[11])
        seat_id = await session.scalar(select(Seat.id).where(Seat.resident_id == me.id))
        forgotten = await forget_resident(session, me, now=now - timedelta(days=days_ago))
    assert await count(app, Resident, Resident.telegram_id < STAND_IN_CHAT_LIMIT) == 1
    assert await count(app, CheckIn, CheckIn.session_id == week.lecture) == 8
    if days_ago == 0:
        assert forgotten.anonymised == 2
        assert "seat" not in forgotten.deleted
        report_after, _whole, gnlc_after = await figures(app, week.period, now)
        assert (report_after.registrations, report_after.no_shows) == (8, 2)
        assert (gnlc_after.no_show_base, gnlc_after.no_show_rate) == (8, 0.25)
        assert report_after.registrations == report.registrations
        assert (gnlc_after.learners, gnlc.learners) == (12, 12)
    else:
        assert forgotten.anonymised == 1
        assert forgotten.deleted["seat"] == 1
        assert await count(app, Seat, Seat.id == seat_id) == 0


async def test_a_resident_with_nothing_counted_leaves_no_stand_in(app, resident) -> None:
    await resident.send("/start")
    await resident.press("English")
    await resident.send("/forget_me")
    screen = await resident.press("Yes, delete everything")
    assert "Your data is deleted" in screen.text
    assert await count(app, Resident) == 0


async def test_a_volunteer_forgotten_still_counts_with_their_hours(app) -> None:
    """Volunteer A let people in at the course and the workshop (5 of the 9 hours). Forgotten,
    their entries keep the stand-in's Telegram id: 5 volunteers, 9 hours, as before."""
    week = await build_week(app)
    now = utc_now()
    _report, _whole, gnlc = await figures(app, week.period, now)
    volunteer = VOLUNTEERS[0]
    chat = ResidentChat(app, user_id=volunteer)
    await chat.send("/start")
    await chat.press("English")
    async with app.session_maker() as session:
        resident_id = (await _resident(session, volunteer)).id
    await chat.send("/forget_me")
    screen = await chat.press("Yes, delete everything")
    assert "Your data is deleted" in screen.text
    await chat.close()

    _report, _whole, gnlc_after = await figures(app, week.period, now)
    assert (gnlc_after.volunteers, gnlc_after.volunteer_hours) == (5, 9.0)
    assert changed(gnlc, gnlc_after) == {}
    assert await rows_naming(app, volunteer, resident_id, [VOLUNTEER_NAMES[0]]) == []
