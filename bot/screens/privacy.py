"""What /privacy, /forget_me and /export_me show (handlers/privacy.py)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks.privacy import Privacy
from bot.callbacks.privacy import PrivacyAction
from bot.screens.view import View
from bot.screens.view import button
from bot.screens.view import menu_button

EXPORT_FILE_NAME = "learncity-my-data.json"


def _button(text: str, action: PrivacyAction) -> InlineKeyboardButton:
    return button(text, Privacy(action=action))


def kept_items() -> dict[str, str]:
    """What is kept, and why, by where /export_me shows it: "resident" for the resident's own
    row, else the table name. Every table the export covers has its line (tests/test_privacy.py
    and tests/test_promises_privacy.py check this against catalogue.privacy)."""
    return {
        "resident": _(
            "your Telegram id, language, category and track, reminder times, quiet hours, time "
            "zone, news and digest choices: to know it is you and to send you what fits you, "
            "when you want it;"
        ),
        "subscription": _("what you follow (offers, tracks, festivals): to tell you what is new;"),
        "seat": _("your seats and waitlist places: to keep your seat and remind you;"),
        "outbox_message": _("reminders and news waiting to be sent to you, and those sent;"),
        "resident_pass": _(
            "your pass code and the age group you gave for it: to let you in at the door and "
            "to count visitors by age;"
        ),
        "check_in": _(
            "your check-ins (which sessions you came to and when, with your age group and "
            "category): for attendance figures and your track's progress;"
        ),
        "session_feedback": _(
            "your scores and comments after sessions: the organisers of the session read "
            "them, without your name;"
        ),
        "completion": _("the tracks and festivals you completed: for your learning passport;"),
        "certificate": _("your certificates and the name printed on them: to check them;"),
        "survey_answer": _("what you said you would like to learn: to plan new offers;"),
        "learner_group": _("the groups you said you belong to: for the city's figures;"),
        "learner_facts": _(
            "your gender and home district, if you agreed to give them: for the city's figures;"
        ),
        "team_member": _("your role, if you are in the festival team."),
    }


def privacy_notice() -> View:
    text = "\n".join(
        [
            "🔒 <b>" + _("Your data") + "</b>",
            "",
            _("What I keep about you, and why:"),
            *("• " + line for line in kept_items().values()),
            "",
            _(
                "I do not keep your username or phone number, nor what you write to me beyond "
                "the answers listed above. Nothing else is shared with anyone: reports show "
                "counts, not people."
            ),
            "",
            "/export_me — " + _("get all of it as a file"),
            "/forget_me — " + _("delete all of it"),
        ]
    )
    builder = InlineKeyboardBuilder()
    builder.row(_button("📦 " + _("Export my data"), PrivacyAction.EXPORT))
    builder.row(_button("🗑 " + _("Delete my data"), PrivacyAction.FORGET))
    builder.row(menu_button())
    return View(text, builder.as_markup())


def export_caption() -> str:
    return _("Everything I keep about you, as JSON.")


def confirm_forget() -> View:
    text = "\n".join(
        [
            "🗑 <b>" + _("Delete all your data?") + "</b>",
            "",
            _(
                "Everything /privacy lists will be gone: your subscriptions, seats, reminders, "
                "settings, pass, check-ins, comments and answers, and your role in the festival "
                "team if you have one. This cannot be undone."
            ),
            _(
                "Anonymous counts stay: the sessions you came to and your scores still count, "
                "without your name or your answers, and so do how many people an announcement "
                "reached or completed a track."
            ),
        ]
    )
    builder = InlineKeyboardBuilder()
    builder.row(_button("🗑 " + _("Yes, delete everything"), PrivacyAction.CONFIRM))
    builder.row(_button(_("No, keep my data"), PrivacyAction.KEEP))
    return View(text, builder.as_markup())


def forgotten() -> View:
    return View(
        "✅ " + _("Your data is deleted. If you write to me again, I will start afresh. Goodbye!")
    )


def kept() -> View:
    builder = InlineKeyboardBuilder()
    builder.row(menu_button())
    return View(_("Nothing was deleted."), builder.as_markup())
