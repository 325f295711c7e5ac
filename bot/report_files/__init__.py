"""The attendance report as files people read: a summary, a chart (PNG) and two CSV files.

`/report` in the chat sends them and `learncity report` writes them (`make_report_files`), so
nothing here imports aiogram: the command line starts without it. Texts are translated into
the reader's language through the chat's own gettext catalogues, read directly. Matplotlib is
imported only when a chart is drawn, so the bot's start-up and memory do not pay for it; it
draws with the Agg backend, off the event loop.
"""

from __future__ import annotations

import asyncio
import gettext
import gzip
import io
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from functools import cache
from html import escape
from html import unescape
from typing import TYPE_CHECKING
from typing import Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.dates import format_datetime
from babel.numbers import format_decimal
from babel.numbers import format_percent

from bot.i18n import DOMAIN
from bot.i18n import LOCALES_DIR
from bot.i18n import compile_catalogues
from catalogue.checkin.tables import AgeBand
from catalogue.models import translated
from catalogue.reports.attendance import UNKNOWN
from catalogue.reports.attendance import FeedbackComment
from catalogue.reports.attendance import Report
from catalogue.reports.attendance import ReportScope
from catalogue.reports.attendance import ScopeError
from catalogue.reports.attendance import ScopeKind
from catalogue.reports.attendance import ScopeProblem
from catalogue.reports.attendance import aggregates_csv
from catalogue.reports.attendance import attendance_csv
from catalogue.reports.attendance import build_report
from catalogue.reports.attendance import comments_csv
from catalogue.reports.attendance import feedback_comments

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

MESSAGE_LIMIT = 4096  # Telegram's limit on a message's text: the summary is one message
BREAKDOWN_ITEMS = 8  # per dimension in the summary; the CSV has all
COMMENTS_SHOWN = 3  # the latest comments in the summary; the comments CSV has all
COMMENT_LENGTH = 200
GZIP_ABOVE = 20 * 2**20  # bytes: a bigger CSV goes out gzipped (Telegram takes up to 50 MB)


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


# The same messages as the age-band buttons of check-in (bot/screens/checkin_resident.py).
AGE_BAND_NAMES = {
    AgeBand.UNDER_18: N_("under 18"),
    AgeBand.FROM_18: N_("18–29"),
    AgeBand.FROM_30: N_("30–44"),
    AgeBand.FROM_45: N_("45–59"),
    AgeBand.FROM_60: N_("60 and over"),
}
# The learner groups, in the same words in the resident's own list (bot/screens/learners/labels.py)
# and in the GNLC report; a group the city added under its own name is shown as written.
GROUP_NAMES = {
    "disability": N_("Person with a disability"),
    "pensioner": N_("Pensioner"),
    "job_seeking": N_("Unemployed or looking for a job"),
    "migrant": N_("Migrant or newcomer"),
    "parent_on_leave": N_("Parent on parental leave"),
}


class Reader(Protocol):
    """Whose report it is: a `bot.screens.view.Viewer` in the chat, a `ReportReader` elsewhere."""

    @property
    def locale(self) -> str: ...

    @property
    def zone(self) -> ZoneInfo: ...


@dataclass(frozen=True)
class ReportReader:
    locale: str
    zone: ZoneInfo


@cache
def _catalogue(locale: str) -> gettext.NullTranslations:
    compile_catalogues()  # the bot compiles them on start; the command line may come first
    return gettext.translation(DOMAIN, LOCALES_DIR, [locale], fallback=True)


def translator(locale: str) -> Callable[[str], str]:
    """gettext into `locale` from the catalogues aiogram's `I18n` reads, without its context."""
    return _catalogue(locale).gettext


@dataclass(frozen=True)
class ReportFiles:
    summary: str  # HTML, as the chat shows it
    chart_png: bytes
    chart_name: str
    attendance_csv: bytes
    attendance_name: str
    aggregates_csv: bytes
    aggregates_name: str
    comments_csv: bytes  # the residents' comments on the scope's sessions (no one named)
    comments_name: str
    comments: int

    def files(self) -> list[tuple[str, bytes]]:
        """The documents beside the summary: the chart, the CSVs (comments only if any)."""
        files = [
            (self.chart_name, self.chart_png),
            (self.attendance_name, self.attendance_csv),
            (self.aggregates_name, self.aggregates_csv),
        ]
        if self.comments:
            files.append((self.comments_name, self.comments_csv))
        return files


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def scope_label(scope: ReportScope, reader: Reader) -> str:
    _ = translator(reader.locale)
    title = escape(translated(scope.title, reader.locale))
    if scope.kind is ScopeKind.SESSION:
        when = (
            format_datetime(scope.session_start.astimezone(reader.zone), "d MMM y, HH:mm",
                            locale=reader.locale)
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
    first = format_date(scope.first_day, "d MMM y", locale=reader.locale)
    if scope.first_day == scope.last_day:
        return first
    return f"{first} – {format_date(scope.last_day, 'd MMM y', locale=reader.locale)}"


def _label(dimension: str, key: str, locale: str) -> str:
    _ = translator(locale)
    if key == UNKNOWN:
        return _("online / no venue") if dimension == "district" else _("not told")
    if dimension == "age_band" and key in AgeBand._value2member_map_:
        return translator(locale)(AGE_BAND_NAMES[AgeBand(key)])
    return key


def _breakdown(dimension: str, counts: dict[str, int], locale: str) -> str:
    items = [
        f"{escape(_label(dimension, key, locale))}: {people}" for key, people in counts.items()
    ]
    if len(items) > BREAKDOWN_ITEMS:
        items = [*items[:BREAKDOWN_ITEMS], "…"]
    return " · ".join(items) if items else "—"


def summary(report: Report, reader: Reader, comments: Sequence[FeedbackComment] = ()) -> str:
    locale = reader.locale
    _ = translator(locale)
    lines = [
        "📊 <b>" + _("Report: {scope}").format(scope=scope_label(report.scope, reader)) + "</b>",
        _("Made {when}").format(
            when=format_datetime(
                report.generated_at.astimezone(reader.zone), "d MMM y, HH:mm", locale=locale
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
        _no_shows(report, locale),
        _feedback(report, locale),
        "",
        "👤 "
        + _("By age group: {items}").format(
            items=_breakdown("age_band", report.by_age_band, locale)
        ),
        "👥 "
        + _("By category: {items}").format(
            items=_breakdown("category", report.by_category, locale)
        ),
        "📍 "
        + _("By district of the venue: {items}").format(
            items=_breakdown("district", report.by_district, locale)
        ),
        *_comments(comments, reader),
        "",
        _("Attendance counts visits; no person is named in these files."),
    ]
    return _shorten("\n".join(lines), MESSAGE_LIMIT)


def _comments(comments: Sequence[FeedbackComment], reader: Reader) -> list[str]:
    """The latest comments, shortened; all of them are in the comments CSV."""
    if not comments:
        return []
    _ = translator(reader.locale)
    lines = [
        "",
        "💬 " + _("Comments: {count} (all in the comments file)").format(count=len(comments)),
    ]
    for item in comments[:COMMENTS_SHOWN]:
        when = format_date(
            item.session_start.astimezone(reader.zone), "d MMM", locale=reader.locale
        )
        title = _shorten(translated(item.offer_title, reader.locale), 40)
        text = _shorten(" ".join(item.comment.split()), COMMENT_LENGTH)
        lines.append(f"• {escape(title)}, {when}, {'⭐' * item.score}: «{escape(text)}»")
    return lines


def _no_shows(report: Report, locale: str) -> str:
    _ = translator(locale)
    if report.no_show_rate is None:
        return _("No-show rate: — (no ended session with registrations and check-in)")
    return _(
        "No-show rate: {rate} (of {base} registrations at ended sessions with check-in)"
    ).format(
        rate=format_percent(report.no_show_rate, locale=locale), base=report.tracked_registrations
    )


def _feedback(report: Report, locale: str) -> str:
    _ = translator(locale)
    if report.feedback_average is None:
        return _("Feedback: none yet")
    return _("Feedback: {average} ⭐ from {answers} answers").format(
        average=format_decimal(round(report.feedback_average, 1), locale=locale),
        answers=report.feedback_answers,
    )


@dataclass(frozen=True)
class ChartLabels:
    title: str
    over_time: str
    by_category: str
    identified: str
    headcount: str
    nothing: str
    not_told: str  # the category of people who did not say theirs


def chart_labels(report: Report, reader: Reader) -> ChartLabels:
    _ = translator(reader.locale)
    return ChartLabels(
        # The chart is a picture, not HTML: titles as people read them.
        title=unescape(_("Attendance: {scope}").format(scope=scope_label(report.scope, reader))),
        over_time=_("Attendance by day"),
        by_category=_("Identified attendance by category"),
        identified=_("identified"),
        headcount=_("headcount"),
        nothing=_("no attendance recorded"),
        not_told=_label("category", UNKNOWN, reader.locale),
    )


def chart_png(report: Report, labels: ChartLabels) -> bytes:
    """Two panels: attendance per day (identified and headcount stacked), and by category."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    over_time, by_category = figure.subplots(1, 2, width_ratios=(3, 2))
    figure.suptitle(_shorten(labels.title, 90))
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
        names = [
            _shorten(labels.not_told if name == UNKNOWN else name, 28)
            for name, _people in categories
        ][::-1]
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
    session: AsyncSession, scope: ReportScope, reader: Reader, now: datetime
) -> ReportFiles:
    """Everything `/report` sends and `learncity report` writes, in the reader's language."""
    report = await build_report(session, scope, reader.zone, now, reader.locale)
    comments = await feedback_comments(session, scope, reader.zone)
    labels = chart_labels(report, reader)
    chart = await asyncio.to_thread(chart_png, report, labels)
    attendance = await attendance_csv(session, scope, reader.zone, reader.locale)
    attendance_name = f"attendance-{scope.slug()}.csv"
    if len(attendance) > GZIP_ABOVE:
        attendance = await asyncio.to_thread(gzip.compress, attendance)  # off the event loop
        attendance_name += ".gz"
    return ReportFiles(
        summary=summary(report, reader, comments),
        chart_png=chart,
        chart_name=f"attendance-{scope.slug()}.png",
        attendance_csv=attendance,
        attendance_name=attendance_name,
        aggregates_csv=aggregates_csv(report),
        aggregates_name=f"aggregates-{scope.slug()}.csv",
        comments_csv=comments_csv(comments, reader.zone, reader.locale),
        comments_name=f"comments-{scope.slug()}.csv",
        comments=len(comments),
    )


def scope_problem(error: ScopeError, locale: str) -> str:
    """Why a report's scope was refused, for the chat and the command line alike."""
    _ = translator(locale)
    if error.problem is ScopeProblem.NOT_FOUND:
        return _("Nothing is called “{reference}”. Use the number or the id from the programme.")\
            .format(reference=_shorten(error.detail, 40))  # fmt: skip
    if error.problem is ScopeProblem.BAD_DATES:
        return _(
            "Dates are written 2025-06-01; the second may not come before the first "
            "(and at most three years apart)."
        )
    return _(
        "I did not understand. Examples: /report today, /report week, /report session 12, "
        "/report festival 3, /report 2025-06-01 2025-06-30."
    )
