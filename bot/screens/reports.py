"""Attendance reports as people read them: a summary, a chart (PNG) and two CSV files.

The same files come from `/report` in the chat and `learncity report` on the command line
(`make_report_files`). Matplotlib is imported only when a chart is drawn, so the bot's start-up
and memory do not pay for it; it draws with the Agg backend, off the event loop.
"""

from __future__ import annotations

import asyncio
import gzip
import io
from dataclasses import dataclass
from datetime import date, datetime
from html import escape, unescape

from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.reports import ReportFor
from bot.screens.checkin_resident import AGE_BAND_LABELS
from bot.screens.view import MESSAGE_LIMIT, View, Viewer, button, shorten
from catalogue.checkin.tables import AgeBand
from catalogue.models import Festival, translated
from catalogue.reports import (
    UNKNOWN,
    Report,
    ReportScope,
    ScopeError,
    ScopeKind,
    ScopeProblem,
    aggregates_csv,
    attendance_csv,
    build_report,
)

PICKER_FESTIVALS = 6
BREAKDOWN_ITEMS = 8  # per dimension in the summary; the CSV has all
GZIP_ABOVE = 20 * 2**20  # bytes: a bigger CSV goes out gzipped (Telegram takes up to 50 MB)


@dataclass(frozen=True)
class ReportFiles:
    summary: str  # HTML, as the chat shows it
    chart_png: bytes
    chart_name: str
    attendance_csv: bytes
    attendance_name: str
    aggregates_csv: bytes
    aggregates_name: str


def scope_label(scope: ReportScope, viewer: Viewer) -> str:
    title = viewer.t(scope.title)
    if scope.kind is ScopeKind.SESSION:
        when = (
            format_datetime(scope.session_start.astimezone(viewer.zone), "d MMM y, HH:mm",
                            locale=viewer.locale)
            if scope.session_start else ""
        )  # fmt: skip
        return _("session #{number} {title} ({when})").format(
            number=scope.target_id, title=title, when=when
        )
    if scope.kind is ScopeKind.OFFER:
        return _("offer: {title}").format(title=title)
    if scope.kind is ScopeKind.FESTIVAL:
        return _("festival: {title}").format(title=title)
    if scope.kind is ScopeKind.TRACK:
        return _("track: {title}").format(title=title)
    assert scope.first_day is not None
    assert scope.last_day is not None
    first = format_date(scope.first_day, "d MMM y", locale=viewer.locale)
    if scope.first_day == scope.last_day:
        return first
    return f"{first} – {format_date(scope.last_day, 'd MMM y', locale=viewer.locale)}"


def _label(dimension: str, key: str) -> str:
    if key == UNKNOWN:
        return _("online / no venue") if dimension == "district" else _("not told")
    if dimension == "age_band" and key in AgeBand._value2member_map_:
        return str(AGE_BAND_LABELS[AgeBand(key)])
    return key


def _breakdown(dimension: str, counts: dict[str, int]) -> str:
    items = [f"{escape(_label(dimension, key))}: {people}" for key, people in counts.items()]
    if len(items) > BREAKDOWN_ITEMS:
        items = [*items[:BREAKDOWN_ITEMS], "…"]
    return " · ".join(items) if items else "—"


def summary(report: Report, viewer: Viewer) -> str:
    locale = viewer.locale
    lines = [
        "📊 <b>" + _("Report: {scope}").format(scope=scope_label(report.scope, viewer)) + "</b>",
        _("Made {when}").format(
            when=format_datetime(
                report.generated_at.astimezone(viewer.zone), "d MMM y, HH:mm", locale=locale
            )
        ),
        "",
        _("Sessions: {count} ({ended} ended)").format(
            count=report.sessions, ended=report.ended_sessions
        ),
        _("Registrations: {count}").format(count=report.registrations),
        _(
            "Attendance: {total} — identified {identified} (walk-ins {walk_ins}), "
            "headcount {headcount}"
        ).format(
            total=report.attendance,
            identified=report.identified,
            walk_ins=report.walk_ins,
            headcount=report.headcount,
        ),
        _("Participants: {people}, of them first-time learners: {first}").format(
            people=report.participants, first=report.first_timers
        ),
    ]
    if report.no_show_rate is None:
        lines.append(_("No-show rate: — (no ended session with registrations and check-in)"))
    else:
        lines.append(
            _("No-show rate: {rate} (of {base} registrations at ended sessions with check-in)")
            .format(rate=format_percent(report.no_show_rate, locale=locale),
                    base=report.tracked_registrations)
        )  # fmt: skip
    if report.feedback_average is None:
        lines.append(_("Feedback: none yet"))
    else:
        lines.append(
            _("Feedback: {average} ⭐ from {answers} answers").format(
                average=format_decimal(round(report.feedback_average, 1), locale=locale),
                answers=report.feedback_answers,
            )
        )
    lines += [
        "",
        "👤 " + _("By age group: {items}").format(items=_breakdown("age_band", report.by_age_band)),
        "👥 " + _("By category: {items}").format(items=_breakdown("category", report.by_category)),
        "📍 "
        + _("By district of the venue: {items}").format(
            items=_breakdown("district", report.by_district)
        ),
        "",
        _("Attendance counts visits; no person is named in these files."),
    ]
    return shorten("\n".join(lines), MESSAGE_LIMIT)


@dataclass(frozen=True)
class ChartLabels:
    title: str
    over_time: str
    by_category: str
    identified: str
    headcount: str
    nothing: str


def chart_labels(report: Report, viewer: Viewer) -> ChartLabels:
    return ChartLabels(
        # The chart is a picture, not HTML: titles as people read them.
        title=unescape(_("Attendance: {scope}").format(scope=scope_label(report.scope, viewer))),
        over_time=_("Attendance by day"),
        by_category=_("Identified attendance by category"),
        identified=_("identified"),
        headcount=_("headcount"),
        nothing=_("no attendance recorded"),
    )


def chart_png(report: Report, labels: ChartLabels) -> bytes:
    """Two panels: attendance per day (identified and headcount stacked), and by category."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    over_time, by_category = figure.subplots(1, 2, width_ratios=(3, 2))
    figure.suptitle(shorten(labels.title, 90))
    days = list(report.by_day)
    identified = [report.by_day[day][0] for day in days]
    counted = [report.by_day[day][1] for day in days]
    positions = list(range(len(days)))
    over_time.set_title(labels.over_time)
    if days:
        over_time.bar(positions, identified, label=labels.identified, color="#2b6cb0")
        over_time.bar(
            positions, counted, bottom=identified, label=labels.headcount, color="#9ac1e8"
        )
        step = max(1, len(days) // 12)
        over_time.set_xticks(positions[::step], [_day(day) for day in days[::step]], rotation=45)
        over_time.legend(loc="upper left")
    else:
        over_time.text(0.5, 0.5, labels.nothing, ha="center", va="center")
        over_time.set_xticks([])
    by_category.set_title(labels.by_category)
    categories = list(report.by_category.items())[:10]
    if categories:
        names = [shorten(_label("category", name), 28) for name, _people in categories][::-1]
        by_category.barh(names, [people for _name, people in categories][::-1], color="#2f855a")
    else:
        by_category.text(0.5, 0.5, labels.nothing, ha="center", va="center")
        by_category.set_yticks([])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _day(day: date) -> str:
    return day.strftime("%d.%m")


async def make_report_files(
    session: AsyncSession, scope: ReportScope, viewer: Viewer, now: datetime
) -> ReportFiles:
    """Everything `/report` sends and `learncity report` writes, in the viewer's language."""
    report = await build_report(session, scope, viewer.zone, now, viewer.locale)
    labels = chart_labels(report, viewer)
    chart = await asyncio.to_thread(chart_png, report, labels)
    attendance = await attendance_csv(session, scope, viewer.zone, viewer.locale)
    attendance_name = f"attendance-{scope.slug()}.csv"
    if len(attendance) > GZIP_ABOVE:
        attendance = await asyncio.to_thread(gzip.compress, attendance)  # off the event loop
        attendance_name += ".gz"
    return ReportFiles(
        summary=summary(report, viewer),
        chart_png=chart,
        chart_name=f"attendance-{scope.slug()}.png",
        attendance_csv=attendance,
        attendance_name=attendance_name,
        aggregates_csv=aggregates_csv(report),
        aggregates_name=f"aggregates-{scope.slug()}.csv",
    )


# ---------------------------------------------------------------- the chat


async def picker(session: AsyncSession, viewer: Viewer) -> View:
    festivals = list(
        await session.scalars(
            select(Festival)
            .order_by(Festival.starts_on.desc(), Festival.id.desc())
            .limit(PICKER_FESTIVALS)
        )
    )
    text = "\n".join(
        [
            "📊 <b>" + _("Attendance reports") + "</b>",
            _("Choose a period or a festival, or type one of:"),
            "<code>/report session 12</code>",
            "<code>/report offer ceramics-for-beginners</code>",
            "<code>/report festival 3</code>",
            "<code>/report track 2</code>",
            "<code>/report 2025-06-01 2025-06-30</code>",
        ]
    )
    builder = InlineKeyboardBuilder()
    builder.row(
        button(_("Today"), ReportFor(kind="today")),
        button(_("Last 7 days"), ReportFor(kind="week")),
        button(_("Last 30 days"), ReportFor(kind="month")),
    )
    for festival in festivals:
        builder.row(
            button(
                "🎪 " + translated(festival.title, viewer.locale),
                ReportFor(kind="festival", target=festival.id),
            )
        )
    return View(text, builder.as_markup())


def scope_problem(error: ScopeError) -> str:
    if error.problem is ScopeProblem.NOT_FOUND:
        return _("Nothing is called “{reference}”. Use the number or the id from the programme.")\
            .format(reference=shorten(error.detail, 40))  # fmt: skip
    if error.problem is ScopeProblem.BAD_DATES:
        return _(
            "Dates are written 2025-06-01; the second may not come before the first "
            "(and at most three years apart)."
        )
    return _(
        "I did not understand. Examples: /report today, /report week, /report session 12, "
        "/report festival 3, /report 2025-06-01 2025-06-30."
    )
