"""The learning passport (/passport, the menu's button) and the note of a completion."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks.learners import AboutMe
from bot.callbacks.learners import AboutMeAction
from bot.callbacks.learners import CertificateButton
from bot.callbacks.learners import OpenPassport
from bot.callbacks.learners import SurveyAction
from bot.callbacks.learners import SurveyButton
from bot.formatting import short_when
from bot.screens.learners.labels import completed_title
from bot.screens.learners.labels import day_text
from bot.screens.learners.labels import hours_text
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import button
from bot.screens.view import menu_button
from catalogue.learners.passport import Passport
from catalogue.learners.tracks import CompletedTarget

LISTED = 8  # categories and tracks listed by hours, the most first
COMPLETED_LISTED = 20  # the latest completions, each with its certificate button


def passport_view(viewer: Viewer, passport: Passport) -> View:
    """Kept under Telegram's 4096 characters whatever the record holds (at most about 3,500
    with titles of 60 characters)."""
    lines = ["🎓 <b>" + _("Your learning passport") + "</b>", ""]
    if not passport.sessions:
        lines.append(
            _("No sessions yet. Show your /pass at the door of a session and it counts here.")
        )
    else:
        lines.append(
            _("Sessions attended: {count}. Hours in all: {hours}.").format(
                count=passport.sessions, hours=hours_text(passport.hours, viewer.locale)
            )
        )
    for heading, rows in (
        (_("Hours by category"), passport.by_category),
        (_("Hours by track"), passport.by_track),
    ):
        if rows:
            lines += ["", f"<b>{heading}</b>"]
            lines += [
                f"• {viewer.t(title)}: {hours_text(hours, viewer.locale)}"
                for title, hours in rows[:LISTED]
            ]
            if len(rows) > LISTED:
                lines.append(_("…and {count} more").format(count=len(rows) - LISTED))
    if passport.uncategorised_hours and (passport.by_category or passport.by_track):
        lines.append(
            _("Outside any track: {hours}").format(
                hours=hours_text(passport.uncategorised_hours, viewer.locale)
            )
        )
    builder = InlineKeyboardBuilder()
    if passport.completed:
        lines += ["", "<b>" + _("Completed") + "</b>"]
        earlier = len(passport.completed) - COMPLETED_LISTED
        if earlier > 0:
            lines.append(_("Earlier completions: {count}.").format(count=earlier))
        for item in passport.completed[-COMPLETED_LISTED:]:
            title = completed_title(item.kind, viewer.t(item.title))
            lines.append(f"🏅 {title}, {day_text(item.completed_at, viewer)}")
            builder.row(_certificate_button(item, viewer))
    if passport.recent:
        lines += ["", "<b>" + _("Latest sessions") + "</b>"]
        lines += [
            f"• {short_when(item.starts_at, viewer.zone, viewer.locale)} {viewer.t(item.title)}"
            for item in passport.recent
        ]
        earlier = passport.sessions - len(passport.recent)
        if earlier > 0:
            lines.append(_("Earlier sessions: {count}.").format(count=earlier))
    builder.row(
        button("👤 " + _("About me"), AboutMe(action=AboutMeAction.OPEN)),
        button("💡 " + _("What I'd like to learn"), SurveyButton(action=SurveyAction.OPEN)),
    )
    builder.row(menu_button())
    return View("\n".join(lines), builder.as_markup())


def _certificate_button(item: CompletedTarget, viewer: Viewer) -> InlineKeyboardButton:
    label = "📜 " + _("Certificate: {title}").format(title=viewer.t(item.title))
    return button(label, CertificateButton(completion_id=item.completion_id or 0))


def completed_note(viewer: Viewer, item: CompletedTarget) -> View:
    """Said when a check-in completes a track or festival."""
    title = completed_title(item.kind, viewer.t(item.title))
    text = "🏅 " + _("Congratulations! You have completed {title}.").format(title=title)
    text += "\n" + _("Your certificate is ready: choose the name to print on it.")
    builder = InlineKeyboardBuilder()
    builder.row(_certificate_button(item, viewer))
    builder.row(button("🎓 " + _("My learning passport"), OpenPassport()))
    return View(text, builder.as_markup())
