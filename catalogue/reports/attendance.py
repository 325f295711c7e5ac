"""Attendance reports for the city's monitoring: aggregated, never about one person.

A report covers the sessions of one *scope*: a session, an offer, a festival, a track, or the
sessions that start in a range of days (in the city's time zone). For them it counts:

* registrations (seats held: `Seat` rows "going");
* attendance: identified check-ins (of them walk-ins, who had no seat) and anonymous headcounts;
* unique participants, and first-time learners: people whose first check-in ever is in scope
  (`check_in.first_visit`, set when the row is written);
* the no-show rate: seats held but not used, over the ended sessions where somebody was
  checked in (a session nobody checked anyone in at tells nothing about no-shows): the seats
  less the check-ins of people who had one;
* attendance by age band and by category (as the residents said when they came) and by the
  venue's district; attendance per day; the feedback average.

Loading is apart from arithmetic. `load_report_facts` reads the scope's facts with aggregate
queries over its sessions (a sub-select, so a festival of thousands of sessions is one
statement): `check_in` is read twice (on PostgreSQL), never row by row, and the seats once.
`report_figures`, a pure function, computes every figure from those facts.
The CSV of attendance lists entries (time, session, method, volunteer), not people.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from enum import StrEnum
from functools import cache
from typing import Any
from typing import BinaryIO
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.tables import AttendanceEntry
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import CheckInMethod
from catalogue.checkin.tables import SessionFeedback
from catalogue.errors import ProblemError
from catalogue.models import Category
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import Track
from catalogue.models import TrackStep
from catalogue.models import Translations
from catalogue.models import Venue
from catalogue.models import translated
from catalogue.queries import find_by_reference
from catalogue.queries import select_sessions
from catalogue.team import TeamMember
from catalogue.text_policy import FORMULA_STARTS
from catalogue.text_policy import spreadsheet_safe

UNKNOWN = "unknown"  # an age band or category nobody told, a session without a venue
MAX_RANGE_DAYS = 3 * 366


class ScopeKind(StrEnum):
    SESSION = "session"
    OFFER = "offer"
    FESTIVAL = "festival"
    TRACK = "track"
    DATES = "dates"


class ScopeProblem(StrEnum):
    USAGE = "usage"  # nothing or something unreadable was asked for
    NOT_FOUND = "not_found"
    BAD_DATES = "bad_dates"


class ScopeError(ProblemError[ScopeProblem]):
    def __init__(self, problem: ScopeProblem, detail: str = "") -> None:
        super().__init__(problem)
        self.detail = detail


@dataclass(frozen=True)
class ReportScope:
    kind: ScopeKind
    target_id: int | None = None
    first_day: date | None = None
    last_day: date | None = None
    # What the scope is called: an offer's, festival's or track's title; a session's offer.
    title: Translations = field(default_factory=dict)
    session_start: datetime | None = None

    def slug(self) -> str:
        if self.kind is ScopeKind.DATES:
            return f"{self.first_day}_{self.last_day}"
        return f"{self.kind}-{self.target_id}"


def day_range(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time(), tzinfo=zone)
    return start, datetime.combine(last + timedelta(days=1), time(), tzinfo=zone)


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ScopeError(ScopeProblem.BAD_DATES, text) from None


def parse_days(words: list[str]) -> ReportScope:
    """`["2025-06-01"]` or `["2025-06-01", "2025-06-30"]`: a range of at most three years."""
    first = _parse_day(words[0])
    last = _parse_day(words[1]) if len(words) == 2 else first
    if last < first or (last - first).days > MAX_RANGE_DAYS:
        raise ScopeError(ScopeProblem.BAD_DATES, " ".join(words))
    return ReportScope(ScopeKind.DATES, first_day=first, last_day=last)


async def resolve_scope(session: AsyncSession, words: list[str], today: date) -> ReportScope:
    """`["festival", "summer-fest"]`, `["session", "12"]`, `["2025-06-01", "2025-06-30"]`,
    `["today"]`, `["week"]` (the last 7 days), `["month"]` (the last 30)…; ScopeError if not."""
    words = [word.strip() for word in words if word.strip()]
    if not words:
        raise ScopeError(ScopeProblem.USAGE)
    head = words[0].lower()
    spans = {"today": 1, "week": 7, "month": 30}
    if head in spans and len(words) == 1:
        return ReportScope(
            ScopeKind.DATES, first_day=today - timedelta(days=spans[head] - 1), last_day=today
        )
    if head[:1].isascii() and head[:1].isdigit() and len(words) <= 2:
        return parse_days(words)
    try:
        kind = ScopeKind(head)
    except ValueError:
        raise ScopeError(ScopeProblem.USAGE, words[0]) from None
    if kind is ScopeKind.DATES or len(words) != 2:
        raise ScopeError(ScopeProblem.USAGE, words[0])
    model = {
        ScopeKind.SESSION: OfferSession,
        ScopeKind.OFFER: Offer,
        ScopeKind.FESTIVAL: Festival,
        ScopeKind.TRACK: Track,
    }[kind]
    found = await find_by_reference(session, model, words[1])
    if found is None:
        raise ScopeError(ScopeProblem.NOT_FOUND, words[1])
    if kind is ScopeKind.SESSION:
        offer = await session.get(Offer, found.offer_id)
        return ReportScope(
            kind, found.id, title=offer.title if offer else {}, session_start=found.starts_at
        )
    return ReportScope(kind, found.id, title=found.title)


def scope_sessions(scope: ReportScope, zone: ZoneInfo) -> sa.Select:
    """The ids of the scope's sessions, as a sub-select."""
    ids = select(OfferSession.id)
    if scope.kind is ScopeKind.SESSION:
        return ids.where(OfferSession.id == scope.target_id)
    if scope.kind is ScopeKind.OFFER:
        return ids.where(OfferSession.offer_id == scope.target_id)
    if scope.kind is ScopeKind.FESTIVAL:
        return ids.join(Offer, Offer.id == OfferSession.offer_id).where(
            Offer.festival_id == scope.target_id
        )
    if scope.kind is ScopeKind.TRACK:
        return ids.where(
            OfferSession.offer_id.in_(
                select(TrackStep.offer_id).where(TrackStep.track_id == scope.target_id)
            )
        )
    assert scope.first_day is not None
    assert scope.last_day is not None
    start, end = day_range(scope.first_day, scope.last_day, zone)
    return ids.where(OfferSession.starts_at >= start, OfferSession.starts_at < end)


@dataclass(frozen=True)
class Report:
    scope: ReportScope
    generated_at: datetime
    sessions: int = 0
    ended_sessions: int = 0
    registrations: int = 0
    identified: int = 0
    walk_ins: int = 0
    headcount: int = 0
    participants: int = 0
    first_timers: int = 0
    tracked_registrations: int = 0  # of ended sessions where somebody was checked in
    no_shows: int = 0
    feedback_answers: int = 0
    feedback_average: float | None = None
    by_age_band: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)  # category title → attendance
    by_district: dict[str, int] = field(default_factory=dict)
    # Day (city zone, of the session's start) → (identified, headcount).
    by_day: dict[date, tuple[int, int]] = field(default_factory=dict)

    @property
    def attendance(self) -> int:
        return self.identified + self.headcount

    @property
    def no_show_rate(self) -> float | None:
        return self.no_shows / self.tracked_registrations if self.tracked_registrations else None


async def build_report(
    session: AsyncSession, scope: ReportScope, zone: ZoneInfo, now: datetime, locale: str = "en"
) -> Report:
    """The scope's report as of `now`, category titles in `locale`."""
    facts = await load_report_facts(session, scope, zone)
    return report_figures(facts, scope, zone, now, locale)


# -- the facts: what the database holds about the scope's sessions, aggregated


@dataclass(frozen=True)
class SessionInScope:
    """One session of the scope: when it took place and where."""

    session_id: int
    starts_at: datetime
    ends_at: datetime
    district: str | None  # None: no venue, or a venue without a district


@dataclass(frozen=True)
class CheckInGroup:
    """The check-ins at one session of people with a seat (`registered`), or of walk-ins."""

    session_id: int
    registered: bool
    people: int
    first_visits: int  # of them, people's first check-in ever


@dataclass(frozen=True)
class ReportFacts:
    """The raw facts a report is computed from: counts, never a person."""

    sessions: tuple[SessionInScope, ...] = ()
    check_ins: tuple[CheckInGroup, ...] = ()
    # (category id, check-ins) and (age band, check-ins) as residents said when they came;
    # None: not told.
    check_ins_by_category: tuple[tuple[int | None, int], ...] = ()
    check_ins_by_age_band: tuple[tuple[str | None, int], ...] = ()
    headcounts: Mapping[int, int] = field(default_factory=dict)  # session id → people counted
    seats: Mapping[int, int] = field(default_factory=dict)  # session id → seats held ("going")
    participants: int = 0  # distinct residents checked in
    category_titles: Mapping[int, Translations] = field(default_factory=dict)
    feedback_answers: int = 0
    feedback_score_total: int = 0  # the sum of the answers' scores


async def load_report_facts(
    session: AsyncSession, scope: ReportScope, zone: ZoneInfo, *, breakdowns: bool = True
) -> ReportFacts:
    """Read the scope's facts; a scope without sessions reads nothing more. Without
    `breakdowns` (the GNLC pack counts people its own way) check-ins are read once, by
    session only, and neither by category and age band nor distinct participants."""
    in_scope = scope_sessions(scope, zone)
    sessions = await _sessions_in_scope(session, in_scope)
    if not sessions:
        return ReportFacts()
    if breakdowns:
        by_session, by_category, by_age_band = await _check_in_groups(session, in_scope)
        participants = await _participants(session, in_scope)
    else:
        by_session = await _check_ins_by_session(session, CheckIn.session_id.in_(in_scope))
        by_category, by_age_band, participants = (), (), 0
    feedback_answers, feedback_score_total = await _feedback_totals(session, in_scope)
    return ReportFacts(
        sessions=sessions,
        check_ins=by_session,
        check_ins_by_category=by_category,
        check_ins_by_age_band=by_age_band,
        headcounts=await _headcounts(session, in_scope),
        seats=await _seats_held(session, in_scope),
        participants=participants,
        category_titles=await _category_titles(session),
        feedback_answers=feedback_answers,
        feedback_score_total=feedback_score_total,
    )


async def plain_rows(session: AsyncSession, statement: sa.Executable) -> sa.CursorResult:
    """Rows without the ORM's work on each: reports read one row a session, tens of thousands
    over a year."""
    connection = await session.connection()
    return await connection.execute(statement)


async def _sessions_in_scope(
    session: AsyncSession, in_scope: sa.Select
) -> tuple[SessionInScope, ...]:
    rows = await plain_rows(
        session,
        select(OfferSession.id, OfferSession.starts_at, OfferSession.ends_at, Venue.district)
        .outerjoin(Venue, Venue.id == OfferSession.venue_id)
        .where(OfferSession.id.in_(in_scope)),
    )
    return tuple(SessionInScope(*row) for row in rows)


async def _headcounts(session: AsyncSession, in_scope: sa.Select) -> dict[int, int]:
    rows = await plain_rows(
        session,
        select(AttendanceEntry.session_id, func.sum(AttendanceEntry.people))
        .where(
            AttendanceEntry.session_id.in_(in_scope),
            AttendanceEntry.method == CheckInMethod.HEADCOUNT,
        )
        .group_by(AttendanceEntry.session_id),
    )
    return dict(rows.all())


async def _seats_held(session: AsyncSession, in_scope: sa.Select) -> dict[int, int]:
    rows = await plain_rows(
        session,
        select(Seat.session_id, func.count())
        .where(Seat.session_id.in_(in_scope), Seat.status == SeatStatus.GOING)
        .group_by(Seat.session_id),
    )
    return dict(rows.all())


async def _participants(session: AsyncSession, in_scope: sa.Select) -> int:
    distinct_residents = select(func.count(func.distinct(CheckIn.resident_id))).where(
        CheckIn.session_id.in_(in_scope)
    )
    return await session.scalar(distinct_residents) or 0


async def _category_titles(session: AsyncSession) -> dict[int, Translations]:
    return {category.id: category.title for category in await session.scalars(select(Category))}


async def _feedback_totals(session: AsyncSession, in_scope: sa.Select) -> tuple[int, int]:
    """How many answered, and the sum of their scores."""
    answers, score_total = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(SessionFeedback.score), 0)).where(
                SessionFeedback.session_id.in_(in_scope)
            )
        )
    ).one()
    return answers or 0, score_total or 0


_CheckInGroups = tuple[
    tuple[CheckInGroup, ...],
    tuple[tuple[int | None, int], ...],
    tuple[tuple[str | None, int], ...],
]


async def _check_in_groups(session: AsyncSession, in_scope: sa.Select) -> _CheckInGroups:
    """Check-ins counted three ways (by session and seat, by category, by age band); on
    PostgreSQL in one pass (GROUPING SETS)."""
    scoped = CheckIn.session_id.in_(in_scope)
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    if dialect == "postgresql":
        return await _check_in_groups_in_one_pass(session, scoped)
    return await _check_in_groups_one_by_one(session, scoped)


def _first_visits() -> sa.ColumnElement[int]:
    return func.coalesce(func.sum(sa.case((CheckIn.first_visit, 1), else_=0)), 0)


async def _check_ins_by_session(
    session: AsyncSession, scoped: sa.ColumnElement[bool]
) -> tuple[CheckInGroup, ...]:
    by_session = await plain_rows(
        session,
        select(CheckIn.session_id, CheckIn.registered, func.count(), _first_visits())
        .where(scoped)
        .group_by(CheckIn.session_id, CheckIn.registered),
    )
    return tuple(CheckInGroup(*row) for row in by_session)


async def _check_in_groups_one_by_one(
    session: AsyncSession, scoped: sa.ColumnElement[bool]
) -> _CheckInGroups:
    groups = await _check_ins_by_session(session, scoped)
    by_category = await session.execute(
        select(CheckIn.category_id, func.count()).where(scoped).group_by(CheckIn.category_id)
    )
    categories = tuple((category_id, people) for category_id, people in by_category)
    by_age_band = await session.execute(
        select(CheckIn.age_band, func.count()).where(scoped).group_by(CheckIn.age_band)
    )
    return groups, categories, tuple((band, people) for band, people in by_age_band)


async def _check_in_groups_in_one_pass(
    session: AsyncSession, scoped: sa.ColumnElement[bool]
) -> _CheckInGroups:
    rows = await plain_rows(
        session,
        select(
            func.grouping(CheckIn.session_id),
            func.grouping(CheckIn.category_id),
            CheckIn.session_id,
            CheckIn.registered,
            CheckIn.category_id,
            CheckIn.age_band,
            func.count(),
            _first_visits(),
        )
        .where(scoped)
        .group_by(
            func.grouping_sets(
                sa.tuple_(CheckIn.session_id, CheckIn.registered),
                sa.tuple_(CheckIn.category_id),
                sa.tuple_(CheckIn.age_band),
            )
        ),
    )
    groups: list[CheckInGroup] = []
    categories: list[tuple[int | None, int]] = []
    bands: list[tuple[str | None, int]] = []
    for no_session, no_category, session_id, registered, category, band, people, firsts in rows:
        if not no_session:
            groups.append(CheckInGroup(session_id, registered, people, firsts))
        elif not no_category:
            categories.append((category, people))
        else:
            bands.append((band, people))
    return tuple(groups), tuple(categories), tuple(bands)


# -- the figures: arithmetic on the facts, no database


def report_figures(
    facts: ReportFacts, scope: ReportScope, zone: ZoneInfo, now: datetime, locale: str = "en"
) -> Report:
    """Every figure of the report from the facts alone: days in `zone`, sessions over by
    `now`, category titles in `locale`."""
    identified = _identified_by_session(facts.check_ins)
    tracked_registrations, no_shows = _no_shows(facts, identified, now)
    by_day, by_district = _by_day_and_district(facts, identified, zone, locale)
    answers = facts.feedback_answers
    return Report(
        scope,
        now,
        sessions=len(facts.sessions),
        ended_sessions=sum(item.ends_at <= now for item in facts.sessions),
        registrations=sum(facts.seats.values()),
        identified=sum(identified.values()),
        walk_ins=sum(group.people for group in facts.check_ins if not group.registered),
        headcount=sum(facts.headcounts.values()),
        participants=facts.participants,
        first_timers=sum(group.first_visits for group in facts.check_ins),
        tracked_registrations=tracked_registrations,
        no_shows=no_shows,
        feedback_answers=answers,
        feedback_average=facts.feedback_score_total / answers if answers else None,
        by_age_band=_by_age_band(facts.check_ins_by_age_band),
        by_category=_by_category(facts, locale),
        by_district=by_district,
        by_day=by_day,
    )


def _identified_by_session(groups: Iterable[CheckInGroup]) -> dict[int, int]:
    identified: dict[int, int] = defaultdict(int)
    for group in groups:
        identified[group.session_id] += group.people
    return identified


def _no_shows(facts: ReportFacts, identified: Mapping[int, int], now: datetime) -> tuple[int, int]:
    """The seats judged and the no-shows among them. Judged: the seats of ended sessions where
    somebody was checked in (a session nobody checked anyone in at tells nothing); a no-show:
    such a seat less the check-ins of people who had one (`check_in.registered`)."""
    came_with_seat: dict[int, int] = defaultdict(int)
    for group in facts.check_ins:
        if group.registered:
            came_with_seat[group.session_id] += group.people
    ended = {item.session_id for item in facts.sessions if item.ends_at <= now}
    judged = [
        (session_id, seats)
        for session_id, seats in facts.seats.items()
        if session_id in ended and identified.get(session_id)
    ]
    no_shows = sum(max(0, seats - came_with_seat[session_id]) for session_id, seats in judged)
    return sum(seats for _session_id, seats in judged), no_shows


# BGN/PCGN romanisation of Russian: how English documents write Russian place names.
_LATIN = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        ["a", "b", "v", "g", "d", "e", "yo", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p",
         "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
        strict=True,
    )
)  # fmt: skip


@cache  # a city has a handful of districts, and a year's report asks for them per session
def place_name(name: str, locale: str) -> str:
    """A district (a plain name in the catalogue, with no translations) in the report's
    language: as it is in Russian, romanised in any other ("Заречный" → "Zarechnyy")."""
    if locale == "ru" or not any(character.lower() in _LATIN for character in name):
        return name
    letters = []
    for character in name:
        latin = _LATIN.get(character.lower(), character)
        letters.append(latin.capitalize() if character.isupper() else latin)
    return "".join(letters)


def _by_day_and_district(
    facts: ReportFacts, identified: Mapping[int, int], zone: ZoneInfo, locale: str
) -> tuple[dict[date, tuple[int, int]], dict[str, int]]:
    """Attendance (identified, headcount) per day of the sessions' start in the city, and per
    venue district; sessions nobody came to are left out."""
    by_day: dict[date, tuple[int, int]] = defaultdict(lambda: (0, 0))
    by_district: dict[str, int] = defaultdict(int)
    for item in facts.sessions:
        people = identified.get(item.session_id, 0)
        counted = facts.headcounts.get(item.session_id, 0)
        if people or counted:
            day = item.starts_at.astimezone(zone).date()
            so_far = by_day[day]
            by_day[day] = (so_far[0] + people, so_far[1] + counted)
            district = place_name(item.district, locale) if item.district else UNKNOWN
            by_district[district] += people + counted
    return dict(sorted(by_day.items())), _largest_first(by_district)


def _by_age_band(rows: Iterable[tuple[str | None, int]]) -> dict[str, int]:
    by_band: dict[str, int] = defaultdict(int)
    for band, people in rows:
        # str() of an AgeBand is its value: the key is the band's plain text.
        by_band[str(band) if band else UNKNOWN] += people
    return dict(by_band)


def _by_category(facts: ReportFacts, locale: str) -> dict[str, int]:
    titles = {
        category_id: translated(title, locale)
        for category_id, title in facts.category_titles.items()
    }
    by_category: dict[str, int] = defaultdict(int)
    for category_id, people in facts.check_ins_by_category:
        title = titles.get(category_id, UNKNOWN) if category_id is not None else UNKNOWN
        by_category[title] += people
    return _largest_first(by_category)


def _largest_first(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# -- files


AGGREGATE_COLUMNS = ("section", "key", "value")
ATTENDANCE_COLUMNS = (
    "timestamp",
    "session_id",
    "session",
    "offer",
    "method",
    "people",
    "registered",
    "volunteer_id",
    "volunteer",
)


def aggregate_rows(report: Report) -> list[tuple[str, str, Any]]:
    rate = report.no_show_rate
    rows: list[tuple[str, str, Any]] = [
        ("total", "sessions", report.sessions),
        ("total", "ended_sessions", report.ended_sessions),
        ("total", "registrations", report.registrations),
        ("total", "attendance", report.attendance),
        ("total", "identified", report.identified),
        ("total", "walk_ins", report.walk_ins),
        ("total", "headcount", report.headcount),
        ("total", "participants", report.participants),
        ("total", "first_time_learners", report.first_timers),
        ("total", "no_show_rate", "" if rate is None else round(rate, 4)),
        ("total", "no_show_base", report.tracked_registrations),
        ("total", "feedback_answers", report.feedback_answers),
        (
            "total",
            "feedback_average",
            "" if report.feedback_average is None else round(report.feedback_average, 2),
        ),
    ]
    rows += [("age_band", band, people) for band, people in sorted(report.by_age_band.items())]
    rows += [("category", title, people) for title, people in report.by_category.items()]
    rows += [("district", name, people) for name, people in report.by_district.items()]
    for day, (people, counted) in report.by_day.items():
        rows.append(("day_identified", day.isoformat(), people))
        rows.append(("day_headcount", day.isoformat(), counted))
    return rows


def safe_csv(columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """A CSV file whose every cell is spreadsheet-safe (catalogue/text_policy.py)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def aggregates_csv(report: Report) -> bytes:
    return safe_csv(AGGREGATE_COLUMNS, aggregate_rows(report))


def _entries(scope: ReportScope, zone: ZoneInfo) -> sa.Subquery:
    """Every entry in scope: each check-in (one person) and each headcount (several)."""
    in_scope = scope_sessions(scope, zone)
    check_ins = (
        select(
            CheckIn.checked_in_at.label("at"),
            CheckIn.session_id.label("session_id"),
            AttendanceEntry.method.label("method"),
            sa.literal(1).label("people"),
            CheckIn.registered.label("registered"),
            AttendanceEntry.volunteer_id.label("volunteer_id"),
            CheckIn.id.label("row_id"),
        )
        .join(AttendanceEntry, AttendanceEntry.id == CheckIn.entry_id)
        .where(CheckIn.session_id.in_(in_scope))
    )
    headcounts = select(
        AttendanceEntry.created_at,
        AttendanceEntry.session_id,
        AttendanceEntry.method,
        AttendanceEntry.people,
        sa.null().cast(sa.Boolean),
        AttendanceEntry.volunteer_id,
        -AttendanceEntry.id,
    ).where(
        AttendanceEntry.session_id.in_(in_scope),
        AttendanceEntry.method == CheckInMethod.HEADCOUNT,
    )
    return sa.union_all(check_ins, headcounts).subquery("entries")


def _attendance_rows(entries: sa.Subquery, *columns: Any) -> sa.Select:
    return (
        select_sessions(*columns)
        .join(entries, entries.c.session_id == OfferSession.id)
        .outerjoin(TeamMember, TeamMember.telegram_id == entries.c.volunteer_id)
        .order_by(entries.c.at, entries.c.row_id)
    )


async def write_attendance_csv(
    session: AsyncSession, scope: ReportScope, zone: ZoneInfo, out: BinaryIO, locale: str = "en"
) -> int:
    """The attendance CSV, oldest entry first; returns the number of rows.

    On PostgreSQL the database writes the CSV itself (`COPY … TO STDOUT`), so a million rows
    take seconds and little memory; elsewhere the rows are formatted here.
    """
    entries = _entries(scope, zone)
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    if dialect == "postgresql":
        return await _copy_attendance_csv(session, entries, zone, out, locale)
    text_out = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text_out, lineterminator="\n")
    writer.writerow(ATTENDANCE_COLUMNS)
    written = 0
    rows = await session.stream(
        _attendance_rows(
            entries,
            entries.c.at,
            entries.c.session_id,
            OfferSession.external_id,
            Offer.title,
            entries.c.method,
            entries.c.people,
            entries.c.registered,
            entries.c.volunteer_id,
            TeamMember.display_name,
        ).execution_options(yield_per=5000)
    )
    async for partition in rows.partitions():
        writer.writerows(
            [spreadsheet_safe(cell) for cell in _csv_row(row, zone, locale)] for row in partition
        )
        written += len(partition)
    text_out.detach()
    return written


def _csv_row(row: Any, zone: ZoneInfo, locale: str) -> tuple[Any, ...]:
    at, session_id, external_id, title, method, people, registered, volunteer_id, name = row
    return (
        at.astimezone(zone).isoformat(timespec="seconds"),
        session_id,
        external_id,
        translated(title, locale),
        str(method),
        people,
        "" if registered is None else "yes" if registered else "no",
        volunteer_id or "",
        name or "",
    )


def _spreadsheet_safe(text: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """`spreadsheet_safe` in SQL, for the CSV PostgreSQL writes itself."""
    return sa.case(
        (func.substr(text, 1, 1).in_(FORMULA_STARTS), sa.literal("'", sa.String) + text),
        else_=text,
    )


async def _copy_attendance_csv(
    session: AsyncSession, entries: sa.Subquery, zone: ZoneInfo, out: BinaryIO, locale: str
) -> int:
    registered = entries.c.registered
    query = _attendance_rows(
        entries,
        # In the city's zone with its offset, as Python's isoformat() writes it.
        func.to_char(entries.c.at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM').label("timestamp"),
        entries.c.session_id,
        _spreadsheet_safe(OfferSession.external_id).label("session"),
        _spreadsheet_safe(
            func.coalesce(Offer.title[locale].as_string(), Offer.title["en"].as_string(), "")
        ).label("offer"),
        entries.c.method,
        entries.c.people,
        sa.case((registered.is_(True), "yes"), (registered.is_(False), "no")).label("registered"),
        entries.c.volunteer_id,
        _spreadsheet_safe(TeamMember.display_name).label("volunteer"),
    )
    # Every value in it is ours (ids, dates, a locale code): rendered inline, for COPY.
    sql = str(query.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True}))
    connection = await session.connection()
    previous = await connection.scalar(sa.text("SELECT current_setting('TimeZone')"))
    await connection.execute(
        sa.text("SELECT set_config('TimeZone', :zone, true)"), {"zone": zone.key}
    )
    raw = await connection.get_raw_connection()

    async def write(chunk: bytes) -> None:
        out.write(chunk)

    status = await raw.driver_connection.copy_from_query(
        sql, output=write, format="csv", header=True
    )
    await connection.execute(
        sa.text("SELECT set_config('TimeZone', :zone, true)"), {"zone": previous}
    )
    return int(status.rsplit(" ", 1)[-1])


COMMENT_COLUMNS = ("session_start", "session_id", "session", "offer", "score", "comment")


@dataclass(frozen=True)
class FeedbackComment:
    """A comment left with a score after a session: what was said and where, never by whom."""

    session_start: datetime
    session_id: int
    session_external_id: str
    offer_title: Translations
    score: int
    comment: str


async def feedback_comments(
    session: AsyncSession, scope: ReportScope, zone: ZoneInfo
) -> list[FeedbackComment]:
    """The scope's comments, newest session first, for the organisers who read the report."""
    rows = await session.execute(
        select_sessions(
            OfferSession.starts_at,
            OfferSession.id,
            OfferSession.external_id,
            Offer.title,
            SessionFeedback.score,
            SessionFeedback.comment,
        )
        .join(SessionFeedback, SessionFeedback.session_id == OfferSession.id)
        .where(
            SessionFeedback.session_id.in_(scope_sessions(scope, zone)),
            SessionFeedback.comment.is_not(None),
            SessionFeedback.comment != "",
        )
        .order_by(OfferSession.starts_at.desc(), SessionFeedback.id)
    )
    return [FeedbackComment(*row) for row in rows]


def comments_csv(comments: Iterable[FeedbackComment], zone: ZoneInfo, locale: str) -> bytes:
    return safe_csv(
        COMMENT_COLUMNS,
        (
            (
                item.session_start.astimezone(zone).isoformat(timespec="minutes"),
                item.session_id,
                item.session_external_id,
                translated(item.offer_title, locale),
                item.score,
                item.comment,
            )
            for item in comments
        ),
    )


async def attendance_csv(
    session: AsyncSession, scope: ReportScope, zone: ZoneInfo, locale: str = "en"
) -> bytes:
    buffer = io.BytesIO()
    await write_attendance_csv(session, scope, zone, buffer, locale)
    return buffer.getvalue()
