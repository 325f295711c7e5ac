"""Attendance reports for the city's monitoring: aggregated, never about one person.

A report covers the sessions of one *scope*: a session, an offer, a festival, a track, or the
sessions that start in a range of days (in the city's time zone). For them it counts:

* registrations (seats held: `attendance` rows "going");
* attendance: identified check-ins (of them walk-ins, who had no seat) and anonymous headcounts;
* unique participants, and first-time learners: people whose first check-in ever is in scope
  (`check_in.first_visit`, set when the row is written);
* the no-show rate: seats held but not used, over the ended sessions where somebody was
  checked in (a session nobody checked anyone in at tells nothing about no-shows): the seats
  less the check-ins of people who had one;
* attendance by age band and by category (as the residents said when they came) and by the
  venue's district; attendance per day; the feedback average.

Each figure is an aggregate query over the scope's sessions (a sub-select, so a festival of
thousands of sessions is one statement); `check_in` is read twice (on PostgreSQL), never row
by row, and `attendance` once.
The CSV of attendance lists entries (time, session, method, volunteer), not people.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.tables import (
    AgeBand,
    AttendanceEntry,
    CheckIn,
    CheckInMethod,
    SessionFeedback,
)
from catalogue.errors import DomainError
from catalogue.models import (
    Category,
    Festival,
    Offer,
    OfferSession,
    Seat,
    SeatStatus,
    Track,
    TrackStep,
    Translations,
    Venue,
    translated,
)
from catalogue.team import TeamMember

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


class ScopeError(DomainError):
    def __init__(self, problem: ScopeProblem, detail: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
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


_REFERENCE = re.compile(r"^#?[A-Za-z0-9_.:-]{1,80}$")


async def _by_reference(session: AsyncSession, model: Any, reference: str) -> Any:
    reference = reference.removeprefix("#")
    if reference.isascii() and reference.isdigit() and len(reference) < 10:
        found = await session.get(model, int(reference))
        if found is not None:
            return found
    if not _REFERENCE.match(reference):
        return None
    return await session.scalar(select(model).where(model.external_id == reference))


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ScopeError(ScopeProblem.BAD_DATES, text) from None


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
        first = _parse_day(words[0])
        last = _parse_day(words[1]) if len(words) == 2 else first
        if last < first or (last - first).days > MAX_RANGE_DAYS:
            raise ScopeError(ScopeProblem.BAD_DATES, " ".join(words))
        return ReportScope(ScopeKind.DATES, first_day=first, last_day=last)
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
    found = await _by_reference(session, model, words[1])
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


@dataclass
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
    report = Report(scope, now)
    in_scope = scope_sessions(scope, zone)
    facts = {
        session_id: (starts_at, ends_at, district)
        for session_id, starts_at, ends_at, district in await session.execute(
            select(OfferSession.id, OfferSession.starts_at, OfferSession.ends_at, Venue.district)
            .outerjoin(Venue, Venue.id == OfferSession.venue_id)
            .where(OfferSession.id.in_(in_scope))
        )
    }
    report.sessions = len(facts)
    report.ended_sessions = sum(ends_at <= now for _s, ends_at, _d in facts.values())
    if not facts:
        return report
    groups = await _check_in_groups(session, in_scope)

    # Identified attendance per session: days, districts, walk-ins, first-time learners.
    identified: dict[int, int] = defaultdict(int)
    came_with_seat: dict[int, int] = defaultdict(int)
    for session_id, registered, people, first in groups.by_session:
        identified[session_id] += people
        report.identified += people
        report.first_timers += first
        if registered:
            came_with_seat[session_id] += people
        else:
            report.walk_ins += people
    headcounts: dict[int, int] = dict(
        (
            await session.execute(
                select(AttendanceEntry.session_id, func.sum(AttendanceEntry.people))
                .where(
                    AttendanceEntry.session_id.in_(in_scope),
                    AttendanceEntry.method == CheckInMethod.HEADCOUNT,
                )
                .group_by(AttendanceEntry.session_id)
            )
        ).all()
    )
    report.headcount = sum(headcounts.values())
    by_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    by_district: dict[str, int] = defaultdict(int)
    for session_id, (starts_at, _ends_at, district) in facts.items():
        people, counted = identified.get(session_id, 0), headcounts.get(session_id, 0)
        if people or counted:
            day = by_day[starts_at.astimezone(zone).date()]
            day[0] += people
            day[1] += counted
            by_district[district or UNKNOWN] += people + counted
    report.by_day = {day: (values[0], values[1]) for day, values in sorted(by_day.items())}
    report.by_district = _largest_first(by_district)

    # Who came: age bands and categories, as told when they came.
    report.by_age_band = {
        (band.value if isinstance(band, AgeBand) else band or UNKNOWN): people
        for band, people in groups.by_age_band
    }
    titles = {
        category.id: translated(category.title, locale)
        for category in await session.scalars(select(Category))
    }
    by_category: dict[str, int] = defaultdict(int)
    for category_id, people in groups.by_category:
        by_category[titles.get(category_id, UNKNOWN)] += people
    report.by_category = _largest_first(by_category)
    report.participants = (
        await session.scalar(
            select(func.count(func.distinct(CheckIn.resident_id))).where(
                CheckIn.session_id.in_(in_scope)
            )
        )
        or 0
    )

    # Registrations; no-shows over the ended sessions where check-in took place: the seats
    # held there less the people who came with a seat (`check_in.registered`).
    for session_id, registered in await session.execute(
        select(Seat.session_id, func.count())
        .where(
            Seat.session_id.in_(in_scope),
            Seat.status == SeatStatus.GOING,
        )
        .group_by(Seat.session_id)
    ):
        report.registrations += registered
        _starts, ends_at, _district = facts.get(session_id, (now, now, None))
        if ends_at <= now and identified.get(session_id):
            report.tracked_registrations += registered
            report.no_shows += max(0, registered - came_with_seat.get(session_id, 0))

    answers, average = (
        await session.execute(
            select(func.count(), func.avg(SessionFeedback.score)).where(
                SessionFeedback.session_id.in_(in_scope)
            )
        )
    ).one()
    report.feedback_answers = answers or 0
    report.feedback_average = float(average) if average is not None else None
    return report


@dataclass(frozen=True)
class _Groups:
    by_session: list[tuple[int, bool, int, int]]  # session, registered, people, first visits
    by_category: list[tuple[int | None, int]]
    by_age_band: list[tuple[Any, int]]


async def _check_in_groups(session: AsyncSession, in_scope: sa.Select) -> _Groups:
    """Check-ins counted three ways; on PostgreSQL in one pass (GROUPING SETS)."""
    scoped = CheckIn.session_id.in_(in_scope)
    first = func.coalesce(func.sum(sa.case((CheckIn.first_visit, 1), else_=0)), 0)
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    if dialect != "postgresql":
        return _Groups(
            [
                tuple(row)
                for row in await session.execute(
                    select(CheckIn.session_id, CheckIn.registered, func.count(), first)
                    .where(scoped)
                    .group_by(CheckIn.session_id, CheckIn.registered)
                )
            ],
            [
                tuple(row)
                for row in await session.execute(
                    select(CheckIn.category_id, func.count())
                    .where(scoped)
                    .group_by(CheckIn.category_id)
                )
            ],
            [
                tuple(row)
                for row in await session.execute(
                    select(CheckIn.age_band, func.count()).where(scoped).group_by(CheckIn.age_band)
                )
            ],
        )
    rows = await session.execute(
        select(
            func.grouping(CheckIn.session_id),
            func.grouping(CheckIn.category_id),
            CheckIn.session_id,
            CheckIn.registered,
            CheckIn.category_id,
            CheckIn.age_band,
            func.count(),
            first,
        )
        .where(scoped)
        .group_by(
            func.grouping_sets(
                sa.tuple_(CheckIn.session_id, CheckIn.registered),
                sa.tuple_(CheckIn.category_id),
                sa.tuple_(CheckIn.age_band),
            )
        )
    )
    groups = _Groups([], [], [])
    for no_session, no_category, session_id, registered, category, band, people, firsts in rows:
        if not no_session:
            groups.by_session.append((session_id, registered, people, firsts))
        elif not no_category:
            groups.by_category.append((category, people))
        else:
            groups.by_age_band.append((band, people))
    return groups


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


def aggregates_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AGGREGATE_COLUMNS)
    writer.writerows(aggregate_rows(report))
    return buffer.getvalue().encode("utf-8")


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
        select(*columns)
        .select_from(entries)
        .join(OfferSession, OfferSession.id == entries.c.session_id)
        .join(Offer, Offer.id == OfferSession.offer_id)
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
        writer.writerows(_csv_row(row, zone, locale) for row in partition)
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


async def _copy_attendance_csv(
    session: AsyncSession, entries: sa.Subquery, zone: ZoneInfo, out: BinaryIO, locale: str
) -> int:
    registered = entries.c.registered
    query = _attendance_rows(
        entries,
        # In the city's zone with its offset, as Python's isoformat() writes it.
        func.to_char(entries.c.at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM').label("timestamp"),
        entries.c.session_id,
        OfferSession.external_id.label("session"),
        func.coalesce(Offer.title[locale].as_string(), Offer.title["en"].as_string(), "").label(
            "offer"
        ),
        entries.c.method,
        entries.c.people,
        sa.case((registered.is_(True), "yes"), (registered.is_(False), "no")).label("registered"),
        entries.c.volunteer_id,
        TeamMember.display_name.label("volunteer"),
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


async def attendance_csv(
    session: AsyncSession, scope: ReportScope, zone: ZoneInfo, locale: str = "en"
) -> bytes:
    buffer = io.BytesIO()
    await write_attendance_csv(session, scope, zone, buffer, locale)
    return buffer.getvalue()
