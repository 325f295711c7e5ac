"""/report's screens: the picker of periods and festivals, and why a scope was refused.

The files a report sends (summary, chart, CSVs) are made by `bot.report_files`, which imports
no aiogram, so `learncity report` writes the very same files without it.
"""

from __future__ import annotations

from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import report_files
from bot.callbacks.reports import ReportFor
from bot.callbacks.search import DemandReport
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import button
from catalogue.models import Festival
from catalogue.models import translated
from catalogue.reports.attendance import ScopeError

PICKER_FESTIVALS = 6


def picker(festivals: list[Festival], viewer: Viewer, admin: bool = False) -> View:
    """Periods, and the festivals given (`PICKER_FESTIVALS` of the latest), as buttons; for
    an administrator, the GNLC report pack too."""
    lines = [
        "📊 <b>" + _("Attendance reports") + "</b>",
        _("Choose a period or a festival, or type one of:"),
        "<code>/report session 12</code>",
        "<code>/report offer ceramics-for-beginners</code>",
        "<code>/report festival 3</code>",
        "<code>/report track 2</code>",
        "<code>/report 2025-06-01 2025-06-30</code>",
        "<code>/report demand 2025-06-01 2025-06-30</code>",
    ]
    if admin:
        lines += [
            "",
            "🌍 " + _("The GNLC report pack (a PDF, the tables and charts) of any period:"),
            "<code>/report gnlc 2025-01-01 2025-12-31</code>",
        ]
    text = "\n".join(lines)
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
    builder.row(button("🔎 " + _("What residents looked for"), DemandReport()))
    if admin:
        builder.row(button("🌍 " + _("GNLC pack: last 12 months"), ReportFor(kind="gnlc")))
    return View(text, builder.as_markup())


def gnlc_refused() -> str:
    return _("The GNLC report pack is for the city's administrators.")


def scope_problem(error: ScopeError) -> str:
    return report_files.scope_problem(error, get_i18n().current_locale)
