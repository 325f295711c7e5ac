"""Screens of the resident's side of check-in: the pass with its QR, the age band, self check-in."""

from __future__ import annotations

import io

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks.checkin_resident import ChooseAgeBand
from bot.screens.subscriptions import track_progress_section
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import button
from bot.screens.view import menu_button
from catalogue.checkin.door import Answer
from catalogue.checkin.passes import show_code
from catalogue.checkin.progress import TrackProgress
from catalogue.checkin.tables import AgeBand
from catalogue.checkin.today import TodaySession

AGE_BAND_LABELS = {
    AgeBand.UNDER_18: __("under 18"),
    AgeBand.FROM_18: __("18–29"),
    AgeBand.FROM_30: __("30–44"),
    AgeBand.FROM_45: __("45–59"),
    AgeBand.FROM_60: __("60 and over"),
}


def qr_png(link: str) -> bytes:
    """A QR code of `link` as a PNG, big enough to scan from a phone held at arm's length."""
    import segno

    buffer = io.BytesIO()
    segno.make(link, error="m", micro=False).save(buffer, kind="png", scale=10, border=3)
    return buffer.getvalue()


# ---------------------------------------------------------------- the pass


def pass_view(viewer: Viewer, code: str, age_band: AgeBand | None) -> View:
    lines = [
        "🎫 <b>" + _("Your learning pass") + "</b>",
        "",
        _("Your code: <code>{code}</code>").format(code=show_code(code)),
        "",
        _(
            "Show this QR (or tell the code) to a volunteer at the door: your visit counts "
            "towards your learning track."
        ),
        "",
        _("For the city's statistics only, and only if you like: your age group?"),
    ]
    builder = InlineKeyboardBuilder()
    for band, label in AGE_BAND_LABELS.items():
        mark = "✅ " if band == age_band else ""
        builder.add(button(mark + str(label), ChooseAgeBand(band=band.value)))
    builder.adjust(3, 2)
    none_mark = "✅ " if age_band is None else ""
    builder.row(button(none_mark + _("Prefer not to say"), ChooseAgeBand(band="-")))
    return View("\n".join(lines), builder.as_markup())


def age_band_saved(band: AgeBand | None) -> str:
    if band is None:
        return _("Noted: no age group.")
    return _("Noted: {band}. Thank you!").format(band=AGE_BAND_LABELS[band])


def someone_elses_pass(volunteer: bool) -> str:
    if volunteer:
        return _(
            "This is a resident's pass. To check them in, choose the session first with "
            "/checkin, then scan it again."
        )
    return _("This is someone's learning pass: it is for the volunteers at the door.")


def pass_link_broken() -> str:
    return _("This pass code is not valid. Open /pass to see your own.")


# ---------------------------------------------------------------- the resident's side


def self_checked_in(
    viewer: Viewer, answer: Answer, facts: TodaySession, progress: TrackProgress | None
) -> View:
    title = viewer.t(facts.offer.title)
    if answer is Answer.ALREADY:
        lines = ["☑️ " + _("You are already checked in: {title}.").format(title=title)]
    else:
        lines = ["✅ " + _("You are checked in: {title}. Enjoy!").format(title=title)]
    rows: list[list[InlineKeyboardButton]] = []
    if progress is not None:
        extra, rows = track_progress_section(viewer, progress)
        lines += ["", *extra]
    builder = InlineKeyboardBuilder()
    for row in rows:
        builder.row(*row)
    builder.row(menu_button())
    return View("\n".join(lines), builder.as_markup())
