"""The GNLC report pack: a learning city's figures over a period, for its progress report to
the UNESCO Global Network of Learning Cities.

The period is a range of days in the city's time zone; what happened in it is what belongs to
the sessions that start in it (as for `/report FROM TO`, catalogue/reports/attendance.py).

* **Who learns.** Learners are the distinct residents checked in at least once; attendances
  are their check-ins plus anonymous headcounts. Learners are broken down by the answers they
  stand by when the pack is made, each person once: age band (`resident_pass.age_band`),
  category (`resident.category_id`), gender and district of residence (`learner_facts`, only
  with consent), and self-declared groups (`learner_group`: a person may be in several, or in
  none). Anyone who did not say is "not told". First-time learners are those whose first
  check-in ever is in the period; the others return.
* **Who teaches.** Active providers ran at least one session that was not cancelled in the
  period; new ones had none before it; the others return. Venues: distinct places used.
  Volunteers: the team members who recorded at least one entry at the door (a code, a scan, a
  headcount; self check-ins have nobody); a volunteer's hours are the length of each session
  they recorded entries at, counted once per session.
* **What was offered.** Events are the sessions not cancelled, by the offer's kind, festival and
  day; free (price 0), step-free (at a venue marked step-free) and online (an online or hybrid
  offer) as shares of all events.
* **How it went.** The feedback average, the no-show rate (the attendance report's rule), and
  the completions recorded in the period (catalogue/learners/: tracks and festivals).

**Protecting people.** `gnlc_tables` turns the figures into the published tables: every cell
that counts people (learners, attendances, volunteers, answers, completions) and is under
`SMALL_CELL` shows `SUPPRESSED` ("<5"), and a figure computed from fewer than `SMALL_CELL`
people (an average, a rate, a share of learners) is suppressed with it. Events, providers and
venues count no person and are shown as they are. Facts hold counts only: no name, Telegram id
or pass code reaches a table.

Loading is apart from arithmetic, as in the attendance report (`attendance.py`):
`load_gnlc_facts` runs a few aggregate queries (each a sub-select of the period's sessions),
`gnlc_figures` is pure.
"""

from __future__ import annotations

from collections import Counter
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.tables import AttendanceEntry
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import CheckInMethod
from catalogue.checkin.tables import ResidentPass
from catalogue.learners.tables import Completion
from catalogue.learners.tables import LearnerFacts
from catalogue.learners.tables import LearnerGroup
from catalogue.models import CatalogueMeta
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import SessionStatus
from catalogue.models import Track
from catalogue.models import Translations
from catalogue.models import Venue
from catalogue.models import translated
from catalogue.queries import select_sessions
from catalogue.reports.attendance import UNKNOWN
from catalogue.reports.attendance import ReportFacts
from catalogue.reports.attendance import ReportScope
from catalogue.reports.attendance import ScopeError
from catalogue.reports.attendance import ScopeKind
from catalogue.reports.attendance import ScopeProblem
from catalogue.reports.attendance import day_range
from catalogue.reports.attendance import load_report_facts
from catalogue.reports.attendance import parse_days
from catalogue.reports.attendance import place_name
from catalogue.reports.attendance import plain_rows
from catalogue.reports.attendance import report_figures

SMALL_CELL = 5  # a published count of people under this shows SUPPRESSED
SUPPRESSED = "<5"
YEAR_DAYS = 365  # the period of `gnlc` without dates: the year up to today
NO_FESTIVAL = "none"  # the events outside any festival
# CatalogueMeta key present while the database holds the demo's synthetic history
# (catalogue/exchange/demo_history.py); the pack then says so.
DEMO_HISTORY_KEY = "demo_history"


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date

    def slug(self) -> str:
        return f"{self.first_day}_{self.last_day}"

    def scope(self) -> ReportScope:
        return ReportScope(ScopeKind.DATES, first_day=self.first_day, last_day=self.last_day)


def parse_period(words: list[str], today: date) -> Period:
    """`["2025-01-01", "2025-12-31"]`, or nothing: the year up to `today` (365 days);
    ScopeError (catalogue/reports/attendance.py) if the dates cannot be read or are out of order."""
    words = [word for word in (word.strip() for word in words) if word]
    if not words:
        return Period(today - timedelta(days=YEAR_DAYS - 1), today)
    if len(words) != 2:
        raise ScopeError(ScopeProblem.BAD_DATES, " ".join(words))
    scope = parse_days(words)
    assert scope.first_day is not None
    assert scope.last_day is not None
    return Period(scope.first_day, scope.last_day)


# -- the facts


@dataclass(frozen=True, slots=True)
class Event:
    """One session of the period that was not cancelled, and what kind of event it was."""

    session_id: int
    starts_at: datetime
    ends_at: datetime
    kind: str
    online: bool
    free: bool
    step_free: bool
    festival_id: int | None
    provider_id: int


@dataclass(frozen=True)
class LearnerProfile:
    """How many learners gave one combination of answers (None: not told)."""

    category_id: int | None
    age_band: str | None
    gender: str | None
    district: str | None
    people: int


@dataclass(frozen=True)
class GnlcFacts:
    attendance: ReportFacts = field(default_factory=ReportFacts)
    events: tuple[Event, ...] = ()
    profiles: tuple[LearnerProfile, ...] = ()
    groups: Mapping[str, int] = field(default_factory=dict)  # group key → learners
    providers_before: frozenset[int] = frozenset()  # active providers who ran sessions before
    venues: int = 0
    volunteers: int = 0
    volunteers_by_session: Mapping[int, int] = field(default_factory=dict)
    completions_by_track: Mapping[int, int] = field(default_factory=dict)
    completions_by_festival: Mapping[int, int] = field(default_factory=dict)
    festival_titles: Mapping[int, Translations] = field(default_factory=dict)
    track_titles: Mapping[int, Translations] = field(default_factory=dict)
    demo: bool = False


async def load_gnlc_facts(session: AsyncSession, period: Period, zone: ZoneInfo) -> GnlcFacts:
    """Everything the pack is computed from, read with aggregate queries."""
    scope = period.scope()
    start, end = day_range(period.first_day, period.last_day, zone)
    await _room_to_count(session)
    demo = await session.get(CatalogueMeta, DEMO_HISTORY_KEY) is not None
    completions_by_track, completions_by_festival = await _completions(session, start, end)
    attendance = await load_report_facts(session, scope, zone, breakdowns=False)
    events = await _events(session, start, end)
    held = _held_sessions(start, end)
    volunteers, by_session = await _volunteers(session, start, end)
    profiles, groups = await _learners(session, start, end) if attendance.sessions else ((), {})
    return GnlcFacts(
        attendance=attendance,
        events=events,
        profiles=profiles,
        groups=groups,
        providers_before=await _providers_before(session, held, start),
        venues=await session.scalar(
            select(func.count(func.distinct(OfferSession.venue_id))).where(
                OfferSession.id.in_(held), OfferSession.venue_id.is_not(None)
            )
        )
        or 0,
        volunteers=volunteers,
        volunteers_by_session=by_session,
        completions_by_track=completions_by_track,
        completions_by_festival=completions_by_festival,
        festival_titles=await _titles(session, Festival),
        track_titles=await _titles(session, Track),
        demo=demo,
    )


REPORT_WORK_MEM = "64MB"


async def _room_to_count(session: AsyncSession) -> None:
    """On PostgreSQL, enough memory for this transaction's hash tables: a year's learners are
    counted in memory instead of spilling to disk (4 MB by default), several times faster."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(
            sa.text("SELECT set_config('work_mem', :size, true)"), {"size": REPORT_WORK_MEM}
        )


def _in_period(start: datetime, end: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    return OfferSession.starts_at >= start, OfferSession.starts_at < end


def _held_sessions(start: datetime, end: datetime) -> sa.Select:
    return select(OfferSession.id).where(
        *_in_period(start, end), OfferSession.status != SessionStatus.CANCELLED
    )


async def _events(session: AsyncSession, start: datetime, end: datetime) -> tuple[Event, ...]:
    rows = await plain_rows(
        session,
        select_sessions(
            OfferSession.id,
            OfferSession.starts_at,
            OfferSession.ends_at,
            Offer.kind,
            Offer.format,
            Offer.price_minor,
            Venue.step_free,
            Offer.festival_id,
            Offer.provider_id,
        ).where(*_in_period(start, end), OfferSession.status != SessionStatus.CANCELLED),
    )
    return tuple(
        Event(
            session_id,
            starts_at,
            ends_at,
            str(kind),
            online=offer_format != OfferFormat.IN_PERSON,
            free=price == 0,
            step_free=bool(step_free),
            festival_id=festival_id,
            provider_id=provider_id,
        )
        for session_id, starts_at, ends_at, kind, offer_format, price, step_free, festival_id,
        provider_id in rows
    )  # fmt: skip


async def _providers_before(
    session: AsyncSession, held: sa.Select, start: datetime
) -> frozenset[int]:
    active = (
        select(Offer.provider_id)
        .join(OfferSession, OfferSession.offer_id == Offer.id)
        .where(OfferSession.id.in_(held))
    )
    before = await session.scalars(
        select(Offer.provider_id)
        .join(OfferSession, OfferSession.offer_id == Offer.id)
        .where(
            OfferSession.starts_at < start,
            OfferSession.status != SessionStatus.CANCELLED,
            Offer.provider_id.in_(active),
        )
        .distinct()
    )
    return frozenset(before)


def _door_entries(start: datetime, end: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    in_period = select(OfferSession.id).where(*_in_period(start, end))
    return (
        AttendanceEntry.session_id.in_(in_period),
        AttendanceEntry.volunteer_id.is_not(None),
        AttendanceEntry.method != CheckInMethod.SELF,
    )


async def _volunteers(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[int, dict[int, int]]:
    """How many team members recorded entries, and how many did at each session."""
    entries = _door_entries(start, end)
    total = await session.scalar(
        select(func.count(func.distinct(AttendanceEntry.volunteer_id))).where(*entries)
    )
    by_session = await plain_rows(
        session,
        select(AttendanceEntry.session_id, func.count(func.distinct(AttendanceEntry.volunteer_id)))
        .where(*entries)
        .group_by(AttendanceEntry.session_id),
    )
    return total or 0, dict(by_session.all())


async def _learners(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[tuple[LearnerProfile, ...], dict[str, int]]:
    """The period's learners counted by every combination of their answers, and by group:
    one statement, so the check-ins are read once (the learners are a common table)."""
    learners = (
        select(CheckIn.resident_id)
        .where(CheckIn.session_id.in_(select(OfferSession.id).where(*_in_period(start, end))))
        .distinct()
        .cte("learners")
    )
    consented = LearnerFacts.consented_at.is_not(None)
    no_text = sa.null().cast(sa.String)
    profiles = (
        select(
            Resident.category_id,
            ResidentPass.age_band.cast(sa.String),
            LearnerFacts.gender.cast(sa.String),
            LearnerFacts.home_district,
            no_text.label("group_key"),
            func.count(),
        )
        .select_from(learners)
        .join(Resident, Resident.id == learners.c.resident_id)
        .outerjoin(ResidentPass, ResidentPass.resident_id == learners.c.resident_id)
        .outerjoin(
            LearnerFacts, sa.and_(LearnerFacts.resident_id == learners.c.resident_id, consented)
        )
        .group_by(
            Resident.category_id,
            ResidentPass.age_band,
            LearnerFacts.gender,
            LearnerFacts.home_district,
        )
    )
    groups = (
        select(
            sa.null().cast(sa.Integer),
            no_text,
            no_text,
            no_text,
            LearnerGroup.group_key,
            func.count(),
        )
        .select_from(learners)
        .join(LearnerGroup, LearnerGroup.resident_id == learners.c.resident_id)
        .join(
            LearnerFacts, sa.and_(LearnerFacts.resident_id == LearnerGroup.resident_id, consented)
        )
        .group_by(LearnerGroup.group_key)
    )
    found: list[LearnerProfile] = []
    by_group: dict[str, int] = {}
    for category_id, band, gender, district, group_key, people in await session.execute(
        sa.union_all(profiles, groups)
    ):
        if group_key is not None:
            by_group[group_key] = people
        else:
            found.append(LearnerProfile(category_id, band, gender, district or None, people))
    return tuple(found), by_group


async def _completions(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[dict[int, int], dict[int, int]]:
    rows = await session.execute(
        select(Completion.track_id, Completion.festival_id, func.count())
        .where(Completion.completed_at >= start, Completion.completed_at < end)
        .group_by(Completion.track_id, Completion.festival_id)
    )
    by_track: dict[int, int] = {}
    by_festival: dict[int, int] = {}
    for track_id, festival_id, people in rows:
        if track_id is not None:
            by_track[track_id] = people
        elif festival_id is not None:
            by_festival[festival_id] = people
    return by_track, by_festival


async def _titles(
    session: AsyncSession, model: type[Festival] | type[Track]
) -> dict[int, Translations]:
    rows = await session.execute(select(model.id, model.title))
    return dict(rows.all())


# -- the figures


@dataclass(frozen=True)
class GnlcFigures:
    """Every figure of the pack, exact: what `gnlc_tables` publishes, suppressed."""

    period: Period
    generated_at: datetime
    learners: int = 0
    attendances: int = 0
    first_time_learners: int = 0
    learners_by_age_band: dict[str, int] = field(default_factory=dict)
    learners_by_gender: dict[str, int] = field(default_factory=dict)
    learners_by_district: dict[str, int] = field(default_factory=dict)
    learners_by_group: dict[str, int] = field(default_factory=dict)
    learners_by_category: dict[str, int] = field(default_factory=dict)
    active_providers: int = 0
    new_providers: int = 0
    venues: int = 0
    events: int = 0
    events_by_kind: dict[str, int] = field(default_factory=dict)
    events_by_festival: dict[str, int] = field(default_factory=dict)
    events_by_day: dict[date, int] = field(default_factory=dict)
    free_events: int = 0
    step_free_events: int = 0
    online_events: int = 0
    volunteers: int = 0
    volunteer_hours: float = 0.0
    feedback_answers: int = 0
    feedback_average: float | None = None
    no_show_base: int = 0
    no_show_rate: float | None = None
    completed_tracks: dict[str, int] = field(default_factory=dict)
    completed_festivals: dict[str, int] = field(default_factory=dict)
    demo: bool = False

    @property
    def returning_learners(self) -> int:
        return self.learners - self.first_time_learners

    @property
    def returning_providers(self) -> int:
        return self.active_providers - self.new_providers


async def build_gnlc(
    session: AsyncSession, period: Period, zone: ZoneInfo, now: datetime, locale: str = "en"
) -> GnlcFigures:
    facts = await load_gnlc_facts(session, period, zone)
    return gnlc_figures(facts, period, zone, now, locale)


def gnlc_figures(
    facts: GnlcFacts, period: Period, zone: ZoneInfo, now: datetime, locale: str = "en"
) -> GnlcFigures:
    """The figures from the facts alone; days in `zone`, titles in `locale`."""
    report = report_figures(facts.attendance, period.scope(), zone, now, locale)
    categories = {
        category_id: translated(title, locale)
        for category_id, title in facts.attendance.category_titles.items()
    }
    durations = {
        item.session_id: item.ends_at - item.starts_at for item in facts.attendance.sessions
    }
    hours = sum(
        durations[session_id].total_seconds() / 3600 * volunteers
        for session_id, volunteers in facts.volunteers_by_session.items()
        if session_id in durations
    )
    active = {event.provider_id for event in facts.events}
    festivals = {key: translated(title, locale) for key, title in facts.festival_titles.items()}
    tracks = {key: translated(title, locale) for key, title in facts.track_titles.items()}
    return GnlcFigures(
        period,
        now,
        learners=sum(profile.people for profile in facts.profiles),
        attendances=report.attendance,
        first_time_learners=report.first_timers,
        learners_by_age_band=_learners_by(facts.profiles, lambda p: p.age_band),
        learners_by_gender=_learners_by(facts.profiles, lambda p: p.gender),
        learners_by_district=_learners_by(
            facts.profiles, lambda p: place_name(p.district, locale) if p.district else None
        ),
        learners_by_group=_largest_first(facts.groups),
        learners_by_category=_learners_by(
            facts.profiles,
            lambda p: categories.get(p.category_id) if p.category_id is not None else None,
        ),
        active_providers=len(active),
        new_providers=len(active - facts.providers_before),
        venues=facts.venues,
        events=len(facts.events),
        events_by_kind=_largest_first(Counter(event.kind for event in facts.events)),
        events_by_festival=_largest_first(
            Counter(
                festivals.get(event.festival_id, UNKNOWN)
                if event.festival_id is not None
                else NO_FESTIVAL
                for event in facts.events
            )
        ),
        events_by_day=dict(
            sorted(
                Counter(event.starts_at.astimezone(zone).date() for event in facts.events).items()
            )
        ),
        free_events=sum(event.free for event in facts.events),
        step_free_events=sum(event.step_free for event in facts.events),
        online_events=sum(event.online for event in facts.events),
        volunteers=facts.volunteers,
        volunteer_hours=round(hours, 1),
        feedback_answers=report.feedback_answers,
        feedback_average=report.feedback_average,
        no_show_base=report.tracked_registrations,
        no_show_rate=report.no_show_rate,
        completed_tracks=_largest_first(
            {tracks.get(key, UNKNOWN): people for key, people in facts.completions_by_track.items()}
        ),
        completed_festivals=_largest_first(
            {
                festivals.get(key, UNKNOWN): people
                for key, people in facts.completions_by_festival.items()
            }
        ),
        demo=facts.demo,
    )


def _learners_by(profiles: Iterable[LearnerProfile], answer) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for profile in profiles:
        counts[answer(profile) or UNKNOWN] += profile.people
    return _largest_first(counts)


def _largest_first(counts: Mapping[str, int]) -> dict[str, int]:
    """Largest first; "not told" (UNKNOWN) and "no festival" last, as a report lists them."""
    last = {UNKNOWN, NO_FESTIVAL}
    return dict(sorted(counts.items(), key=lambda item: (item[0] in last, -item[1], str(item[0]))))


# -- the published tables


Cell = int | float | str


def published(people: int) -> int | str:
    """A count of people as it may be published: under SMALL_CELL it shows SUPPRESSED."""
    return SUPPRESSED if people < SMALL_CELL else people


@dataclass(frozen=True)
class TableRow:
    key: str  # a machine key (an enum value, a day, UNKNOWN) or a catalogue title
    value: Cell  # a published count or figure, or SUPPRESSED
    share: float | None = None  # of the table's base; None where suppressed or not meaningful


@dataclass(frozen=True)
class Table:
    """One table of the pack: a CSV file, a chart, a table in the PDF."""

    name: str  # e.g. "learners_by_gender": the files' names and the headings' key
    measure: str  # what `value` counts: "learners", "events", "completions" or "value"
    rows: tuple[TableRow, ...]
    people: bool  # counts people: small cells suppressed


SUMMARY = "summary"
BREAKDOWNS = (
    "learners_by_age_band",
    "learners_by_gender",
    "learners_by_district",
    "learners_by_group",
    "learners_by_category",
    "events_by_kind",
    "events_by_festival",
    "events_by_day",
    "completed_tracks",
)


def gnlc_tables(figures: GnlcFigures) -> tuple[Table, ...]:
    """The pack's tables, small cells suppressed: the only form in which figures leave."""
    learners = figures.learners
    events = figures.events
    breakdowns = [
        _people_table(name, getattr(figures, name), learners)
        for name in BREAKDOWNS
        if name.startswith("learners_by")
    ]
    breakdowns += [
        _event_table("events_by_kind", figures.events_by_kind, events),
        _event_table("events_by_festival", figures.events_by_festival, events),
        _event_table(
            "events_by_day",
            {day.isoformat(): count for day, count in figures.events_by_day.items()},
            events,
        ),
        Table(
            "completed_tracks",
            "completions",
            tuple(
                TableRow(title, published(people))
                for title, people in figures.completed_tracks.items()
            ),
            people=True,
        ),
    ]
    return (_summary(figures), *breakdowns)


def _people_table(name: str, counts: Mapping[str, int], base: int) -> Table:
    rows = tuple(
        TableRow(key, published(people), None if people < SMALL_CELL else people / base)
        for key, people in counts.items()
    )
    return Table(name, "learners", rows, people=True)


def _event_table(name: str, counts: Mapping[str, int], base: int) -> Table:
    rows = tuple(
        TableRow(key, count, count / base if base else None) for key, count in counts.items()
    )
    return Table(name, "events", rows, people=False)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _summary(figures: GnlcFigures) -> Table:
    """The key figures, one a row: counts of people suppressed, and anything computed from
    fewer than SMALL_CELL people."""

    def from_people(value: float | None, people: int) -> Cell:
        if people < SMALL_CELL:
            return SUPPRESSED
        return "" if value is None else round(value, 4)

    events = figures.events
    rows = [
        ("learners", published(figures.learners)),
        ("attendances", published(figures.attendances)),
        ("first_time_learners", published(figures.first_time_learners)),
        ("returning_learners", published(figures.returning_learners)),
        ("active_providers", figures.active_providers),
        ("new_providers", figures.new_providers),
        ("returning_providers", figures.returning_providers),
        ("venues", figures.venues),
        ("events", events),
        ("free_events_share", _rounded(_share(figures.free_events, events))),
        ("step_free_events_share", _rounded(_share(figures.step_free_events, events))),
        ("online_events_share", _rounded(_share(figures.online_events, events))),
        ("volunteers", published(figures.volunteers)),
        (
            "volunteer_hours",
            SUPPRESSED if figures.volunteers < SMALL_CELL else figures.volunteer_hours,
        ),
        ("feedback_answers", published(figures.feedback_answers)),
        (
            "feedback_average",
            from_people(
                None if figures.feedback_average is None else round(figures.feedback_average, 2),
                figures.feedback_answers,
            ),
        ),
        ("no_show_base", published(figures.no_show_base)),
        ("no_show_rate", from_people(figures.no_show_rate, figures.no_show_base)),
        ("completed_tracks", published(sum(figures.completed_tracks.values()))),
        ("completed_festivals", published(sum(figures.completed_festivals.values()))),
    ]
    return Table(SUMMARY, "value", tuple(TableRow(key, value) for key, value in rows), people=True)


def _rounded(value: float | None) -> Cell:
    return "" if value is None else round(value, 4)
