"""The report's arithmetic on its own: `report_figures` computes every figure from plain facts.

No database: the facts are written out by hand, as `load_report_facts` would return them.
The city is in Tokyo (UTC+9), so a session that starts late in the UTC evening counts on the
next day.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from catalogue.checkin.tables import AgeBand
from catalogue.reports.attendance import UNKNOWN
from catalogue.reports.attendance import CheckInGroup
from catalogue.reports.attendance import ReportFacts
from catalogue.reports.attendance import ReportScope
from catalogue.reports.attendance import ScopeKind
from catalogue.reports.attendance import SessionInScope
from catalogue.reports.attendance import report_figures

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
SCOPE = ReportScope(ScopeKind.DATES, first_day=date(2025, 6, 1), last_day=date(2025, 6, 10))
MAKERS, ELDERS, GONE = 1, 2, 99  # category ids; GONE has no title any more


def session_at(session_id: int, starts_at: datetime, district: str | None) -> SessionInScope:
    return SessionInScope(session_id, starts_at, starts_at + timedelta(hours=2), district)


# 1: ended, in the North, on 2 June in Tokyo (20:00 UTC on the 1st): 3 came with a seat of 5,
#    one walk-in.
# 2: ended, no venue, also 2 June in Tokyo: nobody checked in, 10 counted at the door.
# 3: going on now, in the North: one with a seat of 3, two walk-ins, 5 counted.
# 4: ended, nobody came.
SESSIONS = (
    session_at(1, datetime(2025, 6, 1, 20, 0, tzinfo=UTC), "North"),
    session_at(2, datetime(2025, 6, 2, 3, 0, tzinfo=UTC), None),
    session_at(3, NOW - timedelta(hours=1), "North"),
    session_at(4, datetime(2025, 6, 5, 9, 0, tzinfo=UTC), "South"),
)
FACTS = ReportFacts(
    sessions=SESSIONS,
    check_ins=(
        CheckInGroup(1, registered=True, people=3, first_visits=2),
        CheckInGroup(1, registered=False, people=1, first_visits=1),
        CheckInGroup(3, registered=True, people=1, first_visits=0),
        CheckInGroup(3, registered=False, people=2, first_visits=1),
    ),
    check_ins_by_category=((MAKERS, 3), (ELDERS, 2), (None, 1), (GONE, 1)),
    check_ins_by_age_band=(("u18", 2), (AgeBand.FROM_30, 3), (None, 2)),
    headcounts={2: 10, 3: 5},
    seats={1: 5, 2: 4, 3: 3},
    participants=6,
    category_titles={MAKERS: {"en": "Makers", "ru": "Мастера"}, ELDERS: {"en": "Elders"}},
    feedback_answers=3,
    feedback_score_total=11,
)


def test_totals() -> None:
    report = report_figures(FACTS, SCOPE, TOKYO, NOW)
    assert (report.scope, report.generated_at) == (SCOPE, NOW)
    assert (report.sessions, report.ended_sessions) == (4, 3)
    assert report.registrations == 12
    assert (report.identified, report.walk_ins, report.headcount) == (7, 3, 15)
    assert report.attendance == 22
    assert (report.participants, report.first_timers) == (6, 4)
    assert report.feedback_answers == 3
    assert report.feedback_average == 11 / 3


def test_no_shows_count_only_ended_sessions_where_somebody_was_checked_in() -> None:
    report = report_figures(FACTS, SCOPE, TOKYO, NOW)
    # Session 1 only: session 2 had a headcount but no check-in, session 3 is not over.
    assert (report.no_shows, report.tracked_registrations) == (2, 5)
    assert report.no_show_rate == 0.4
    # Once session 3 is over, its two empty seats count too.
    later = report_figures(FACTS, SCOPE, TOKYO, NOW + timedelta(hours=2))
    assert (later.no_shows, later.tracked_registrations) == (4, 8)


def test_more_people_with_a_seat_than_seats_is_no_negative_no_show() -> None:
    facts = ReportFacts(
        sessions=(session_at(1, NOW - timedelta(days=1), None),),
        check_ins=(CheckInGroup(1, registered=True, people=3, first_visits=0),),
        seats={1: 2},  # a seat given up after its holder was checked in
    )
    report = report_figures(facts, SCOPE, TOKYO, NOW)
    assert (report.no_shows, report.tracked_registrations, report.no_show_rate) == (0, 2, 0.0)


def test_by_day_in_the_city_zone() -> None:
    report = report_figures(FACTS, SCOPE, TOKYO, NOW)
    # Sessions 1 and 2 both start on 2 June in Tokyo; sessions nobody came to are left out.
    assert report.by_day == {date(2025, 6, 2): (4, 10), date(2025, 6, 10): (3, 5)}
    assert list(report.by_day) == sorted(report.by_day)
    in_utc = report_figures(FACTS, SCOPE, ZoneInfo("UTC"), NOW)
    assert list(in_utc.by_day) == [date(2025, 6, 1), date(2025, 6, 2), date(2025, 6, 10)]


def test_by_district_largest_first_with_unknown_for_no_venue() -> None:
    report = report_figures(FACTS, SCOPE, TOKYO, NOW)
    assert list(report.by_district.items()) == [("North", 12), (UNKNOWN, 10)]


def test_by_age_band_with_plain_keys_and_unknown_for_not_told() -> None:
    report = report_figures(FACTS, SCOPE, TOKYO, NOW)
    assert report.by_age_band == {"u18": 2, "30-44": 3, UNKNOWN: 2}
    assert {type(band) for band in report.by_age_band} == {str}


def test_by_category_in_the_locale_largest_first() -> None:
    report = report_figures(FACTS, SCOPE, TOKYO, NOW)
    # Not told and a category without a title any more are both unknown.
    assert list(report.by_category.items()) == [("Makers", 3), ("Elders", 2), (UNKNOWN, 2)]
    russian = report_figures(FACTS, SCOPE, TOKYO, NOW, locale="ru")
    assert russian.by_category == {"Мастера": 3, "Elders": 2, UNKNOWN: 2}


def test_no_sessions() -> None:
    report = report_figures(ReportFacts(), SCOPE, TOKYO, NOW)
    assert (report.sessions, report.ended_sessions, report.registrations) == (0, 0, 0)
    assert (report.attendance, report.participants, report.first_timers) == (0, 0, 0)
    assert (report.no_show_rate, report.feedback_average) == (None, None)
    assert report.by_day == report.by_district == report.by_age_band == report.by_category == {}


def test_a_session_with_seats_and_no_check_ins() -> None:
    facts = ReportFacts(sessions=(session_at(1, NOW - timedelta(days=1), "North"),), seats={1: 4})
    report = report_figures(facts, SCOPE, TOKYO, NOW)
    assert (report.sessions, report.ended_sessions, report.registrations) == (1, 1, 4)
    assert report.attendance == 0
    # Nobody checked anyone in: it tells nothing about no-shows.
    assert (report.no_shows, report.tracked_registrations, report.no_show_rate) == (0, 0, None)
    assert report.by_day == report.by_district == {}
