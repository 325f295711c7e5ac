"""The GNLC report pack as files: a CSV for each table, a PNG chart for each breakdown, and one
printable PDF with everything, in the reader's language (English or Russian).

`learncity report gnlc FROM TO` writes them and `/report gnlc FROM TO` sends them to an
administrator (the PDF, then the CSVs and charts in one zip). Only published tables
(catalogue/reports/gnlc.py `gnlc_tables`: small cells already "<5") reach a file, and every
CSV cell goes through `spreadsheet_safe`.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from babel.dates import format_date
from babel.dates import format_datetime
from babel.numbers import format_decimal
from babel.numbers import format_percent

from bot.report_files import AGE_BAND_NAMES
from bot.report_files import GROUP_NAMES
from bot.report_files import N_
from bot.report_files import Reader
from bot.report_files import translator
from bot.report_files.charts import Chart
from bot.report_files.charts import chart_png
from bot.report_files.pdf import PdfDocument
from bot.report_files.pdf import PdfSection
from bot.report_files.pdf import PdfTable
from bot.report_files.pdf import render_pdf
from catalogue.checkin.tables import AgeBand
from catalogue.learners.tables import Gender
from catalogue.models import OfferKind
from catalogue.reports.attendance import UNKNOWN
from catalogue.reports.attendance import safe_csv
from catalogue.reports.gnlc import NO_FESTIVAL
from catalogue.reports.gnlc import SMALL_CELL
from catalogue.reports.gnlc import SUMMARY
from catalogue.reports.gnlc import SUPPRESSED
from catalogue.reports.gnlc import Cell
from catalogue.reports.gnlc import GnlcFigures
from catalogue.reports.gnlc import Period
from catalogue.reports.gnlc import Table
from catalogue.reports.gnlc import TableRow
from catalogue.reports.gnlc import build_gnlc
from catalogue.reports.gnlc import gnlc_tables

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

DAYS_IN_PDF = 62  # a longer period's events are tabled by month in the PDF (by day in the CSV)

TABLE_TITLES = {
    SUMMARY: N_("Key figures"),
    "learners_by_age_band": N_("Learners by age group"),
    "learners_by_gender": N_("Learners by gender"),
    "learners_by_district": N_("Learners by district of residence"),
    "learners_by_group": N_("Learners by group"),
    "learners_by_category": N_("Learners by category"),
    "events_by_kind": N_("Events by kind"),
    "events_by_festival": N_("Events by festival"),
    "events_by_day": N_("Events by day"),
    "completed_tracks": N_("Completed tracks"),
}
DIMENSIONS = {
    "learners_by_age_band": N_("Age group"),
    "learners_by_gender": N_("Gender"),
    "learners_by_district": N_("District"),
    "learners_by_group": N_("Group"),
    "learners_by_category": N_("Category"),
    "events_by_kind": N_("Kind"),
    "events_by_festival": N_("Festival"),
    "events_by_day": N_("Day"),
    "completed_tracks": N_("Track"),
}
MEASURES = {
    "learners": N_("Learners"),
    "events": N_("Events"),
    "completions": N_("Completions"),
    "value": N_("Value"),
}
FIGURE_NAMES = {
    "learners": N_("Unique learners"),
    "attendances": N_("Attendances"),
    "first_time_learners": N_("First-time learners"),
    "returning_learners": N_("Returning learners"),
    "active_providers": N_("Active providers"),
    "new_providers": N_("New providers"),
    "returning_providers": N_("Returning providers"),
    "venues": N_("Venues"),
    "events": N_("Events"),
    "free_events_share": N_("Free events"),
    "step_free_events_share": N_("Step-free events"),
    "online_events_share": N_("Online or hybrid events"),
    "volunteers": N_("Volunteers"),
    "volunteer_hours": N_("Volunteer hours"),
    "feedback_answers": N_("Feedback answers"),
    "feedback_average": N_("Average feedback (1 to 5)"),
    "no_show_base": N_("Registrations judged for no-shows"),
    "no_show_rate": N_("No-show rate"),
    "completed_tracks": N_("Completed tracks"),
    "completed_festivals": N_("Completed festivals"),
}
SHARES = {"free_events_share", "step_free_events_share", "online_events_share", "no_show_rate"}
SECTIONS = (
    (
        N_("Who learns"),
        ("learners", "attendances", "first_time_learners", "returning_learners"),
        (
            "learners_by_age_band",
            "learners_by_gender",
            "learners_by_district",
            "learners_by_group",
            "learners_by_category",
        ),
    ),
    (
        N_("Who teaches"),
        (
            "active_providers",
            "new_providers",
            "returning_providers",
            "venues",
            "volunteers",
            "volunteer_hours",
        ),
        (),
    ),
    (
        N_("What was offered"),
        ("events", "free_events_share", "step_free_events_share", "online_events_share"),
        ("events_by_kind", "events_by_festival", "events_by_day"),
    ),
    (
        N_("How it went"),
        (
            "feedback_answers",
            "feedback_average",
            "no_show_base",
            "no_show_rate",
            "completed_tracks",
            "completed_festivals",
        ),
        ("completed_tracks",),
    ),
)
GENDER_NAMES = {
    Gender.WOMAN: N_("women"),
    Gender.MAN: N_("men"),
    Gender.OTHER: N_("another gender"),
    Gender.UNDISCLOSED: N_("prefer not to say"),
}
KIND_NAMES = {
    OfferKind.COURSE: N_("Course"),
    OfferKind.MASTER_CLASS: N_("Master class"),
    OfferKind.LECTURE: N_("Lecture"),
    OfferKind.EXCURSION: N_("Excursion"),
    OfferKind.WORKSHOP: N_("Workshop"),
    OfferKind.FESTIVAL_EVENT: N_("Festival event"),
}
DEFINITIONS = (
    N_(
        "Learners: the distinct people checked in at least once at a session that started "
        "in the period; attendances: their check-ins plus the people counted anonymously at "
        "the door."
    ),
    N_(
        "Learners by age group, gender, district of residence, group and category: each "
        "person once, by the answers they stand by when the pack is made; gender, district "
        "and groups only from people who agreed to tell them. A person may declare several "
        "groups, or none."
    ),
    N_(
        "First-time learners: their first check-in ever is in the period; the other "
        "learners return."
    ),
    N_(
        "Active providers ran at least one session that was not cancelled in the period; "
        "new providers had none before it."
    ),
    N_(
        "Volunteers: team members who let at least one person in at the door; a volunteer's "
        "hours are the length of each session they let people in at, counted once per "
        "session."
    ),
    N_(
        "Events: sessions not cancelled. Free: no price; step-free: at a venue with step-free "
        "access; online: an online or hybrid offer."
    ),
    N_(
        "No-show rate: the seats held but not used, over the ended sessions where somebody "
        "was checked in. Completions: tracks and festivals completed in the period."
    ),
)


@dataclass(frozen=True)
class GnlcPack:
    figures: GnlcFigures
    tables: tuple[Table, ...]
    csv_files: dict[str, bytes]  # file name → content
    charts: dict[str, bytes]  # file name → PNG
    pdf: bytes
    pdf_name: str
    zip_name: str
    summary: str  # HTML, for the chat

    def files(self) -> list[tuple[str, bytes]]:
        """Every file, the PDF first."""
        return [(self.pdf_name, self.pdf), *self.csv_files.items(), *self.charts.items()]

    def zipped(self) -> bytes:
        """The CSVs and charts in one zip, as the chat sends them beside the PDF."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in [*self.csv_files.items(), *self.charts.items()]:
                archive.writestr(name, content)
        return buffer.getvalue()


async def make_gnlc_pack(
    session: AsyncSession, period: Period, reader: Reader, now: datetime
) -> GnlcPack:
    figures = await build_gnlc(session, period, reader.zone, now, reader.locale)
    return await asyncio.to_thread(gnlc_pack, figures, reader)


def gnlc_pack(figures: GnlcFigures, reader: Reader) -> GnlcPack:
    """Every file of the pack from the figures (CPU only: charts and the PDF)."""
    tables = gnlc_tables(figures)
    words = Words(reader.locale)
    prefix = f"gnlc-{figures.period.slug()}"
    csv_files = {f"{prefix}-{table.name}.csv": table_csv(table, words) for table in tables}
    charts = {
        table.name: chart_png(words.chart(table)) for table in tables if table.name != SUMMARY
    }
    document = pdf_document(figures, tables, charts, reader)
    return GnlcPack(
        figures=figures,
        tables=tables,
        csv_files=csv_files,
        charts={f"{prefix}-{name}.png": png for name, png in charts.items()},
        pdf=render_pdf(document),
        pdf_name=f"{prefix}.pdf",
        zip_name=f"{prefix}-tables.zip",
        summary=chat_summary(figures, tables, reader),
    )


class Words:
    """The pack's words and numbers in one language."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._ = translator(locale)

    def title(self, table: Table) -> str:
        return self._(TABLE_TITLES[table.name])

    def key(self, table: Table, key: str) -> str:
        """What a row is called: a translated word, or the catalogue's title as it is."""
        _ = self._
        if table.name == SUMMARY:
            return _(FIGURE_NAMES[key])
        if key == UNKNOWN:
            return _("not told")
        if table.name == "learners_by_age_band" and key in AgeBand._value2member_map_:
            return _(AGE_BAND_NAMES[AgeBand(key)])
        if table.name == "learners_by_gender" and key in Gender._value2member_map_:
            return _(GENDER_NAMES[Gender(key)])
        if table.name == "learners_by_group" and key in GROUP_NAMES:
            return _(GROUP_NAMES[key])
        if table.name == "events_by_kind" and key in OfferKind._value2member_map_:
            return _(KIND_NAMES[OfferKind(key)])
        if table.name == "events_by_festival" and key == NO_FESTIVAL:
            return _("outside any festival")
        if table.name == "events_by_day":
            return format_date(date.fromisoformat(key), "EEE d MMM y", locale=self.locale)
        return key

    def number(self, value: Cell, key: str = "") -> str:
        if value == SUPPRESSED or value == "":
            return str(value) or "—"
        if key in SHARES:
            return format_percent(float(value), "#,##0.#%", locale=self.locale)
        return format_decimal(value, locale=self.locale)

    def share(self, row: TableRow) -> str:
        if row.share is None:
            return SUPPRESSED if row.value == SUPPRESSED else ""
        return format_percent(row.share, "#,##0.#%", locale=self.locale)

    def chart(self, table: Table) -> Chart:
        return Chart(
            title=self.title(table),
            labels=[self.key(table, row.key) for row in table.rows],
            values=[row.value for row in table.rows],
            nothing=self._("No data for this period"),
            over_time=table.name == "events_by_day",
        )


def table_csv(table: Table, words: Words) -> bytes:
    """One table as CSV: a machine key, its label in the reader's language, the published
    value (and the share of the table's base). Every cell is spreadsheet-safe."""
    if table.name == SUMMARY:
        rows = [(row.key, words.key(table, row.key), row.value) for row in table.rows]
        return safe_csv(("figure", "label", "value"), rows)
    return safe_csv(
        ("key", "label", table.measure, "share"),
        (
            (
                row.key,
                words.key(table, row.key),
                row.value,
                "" if row.share is None else round(row.share, 4),
            )
            for row in table.rows
        ),
    )


def pdf_document(
    figures: GnlcFigures, tables: tuple[Table, ...], charts: dict[str, bytes], reader: Reader
) -> PdfDocument:
    words = Words(reader.locale)
    _ = words._
    by_name = {table.name: table for table in tables}
    summary = {row.key: row.value for row in by_name[SUMMARY].rows}
    notes = [
        _("Made {when}").format(
            when=format_datetime(
                figures.generated_at.astimezone(reader.zone), "d MMM y, HH:mm", locale=reader.locale
            )
        ),
        _(
            "Every cell that counts fewer than {limit} people shows “<{limit}”, and so does any "
            "figure computed from fewer than {limit} people. No name, Telegram id or pass code "
            "is in this report."
        ).format(limit=SMALL_CELL),
    ]
    if figures.demo:
        notes.append(
            _(
                "Demo data: this database holds the demo programme's synthetic history "
                "(made-up people and visits, for trying the bot out)."
            )
        )
    sections = []
    for heading, figure_keys, table_names in SECTIONS:
        key_figures = PdfTable(
            _("Key figures"),
            (_("Figure"), _("Value")),
            tuple((_(FIGURE_NAMES[key]), words.number(summary[key], key)) for key in figure_keys),
        )
        breakdowns = tuple(
            _pdf_table(by_name[name], charts.get(name), words, figures) for name in table_names
        )
        sections.append(PdfSection(_(heading), (key_figures, *breakdowns)))
    return PdfDocument(
        title=_("Learning city progress report (UNESCO GNLC)"),
        subtitle=_period(figures, reader.locale),
        notes=tuple(notes),
        sections=tuple(sections),
        page_label=_("Page {page} of {pages}"),
        definitions_heading=_("How the figures are counted"),
        definitions=tuple(_(definition) for definition in DEFINITIONS),
    )


def _pdf_table(table: Table, chart: bytes | None, words: Words, figures: GnlcFigures) -> PdfTable:
    _ = words._
    measure = _(MEASURES[table.measure])
    columns = (_(DIMENSIONS[table.name]), measure, _("Share"))
    if not table.rows:  # the note says it: no "no data" panel under it
        return PdfTable(words.title(table), columns, (), None, _("No data for this period"))
    note = ""
    if table.name == "events_by_day" and len(figures.events_by_day) > DAYS_IN_PDF:
        by_month = Counter[str]()
        for day, count in figures.events_by_day.items():
            by_month[format_date(day, "LLLL y", locale=words.locale)] += count
        rows = tuple((month, words.number(count), "") for month, count in by_month.items())
        note = _("By month here; by day in the CSV and the chart.")
        return PdfTable(words.title(table), (_("Month"), measure, ""), rows, chart, note)
    rows = tuple(
        (words.key(table, row.key), words.number(row.value), words.share(row)) for row in table.rows
    )
    return PdfTable(words.title(table), columns, rows, chart, note)


def _period(figures: GnlcFigures, locale: str) -> str:
    first = format_date(figures.period.first_day, "d MMMM y", locale=locale)
    last = format_date(figures.period.last_day, "d MMMM y", locale=locale)
    return first if first == last else f"{first} – {last}"


def chat_summary(figures: GnlcFigures, tables: tuple[Table, ...], reader: Reader) -> str:
    words = Words(reader.locale)
    _ = words._
    summary = tables[0]
    lines = [
        "🌍 <b>" + escape(_("Learning city progress report (UNESCO GNLC)")) + "</b>",
        escape(_period(figures, reader.locale)),
        "",
    ]
    lines += [
        f"{escape(words.key(summary, row.key))}: {escape(words.number(row.value, row.key))}"
        for row in summary.rows
    ]
    lines += [
        "",
        escape(_("The PDF holds every figure; the zip holds a CSV for each table and the charts.")),
    ]
    if figures.demo:
        lines.append(escape(_("Demo data: synthetic history.")))
    return "\n".join(lines)
