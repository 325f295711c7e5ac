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


def privacy_notice() -> View:
    text = "\n".join(
        [
            "🔒 <b>" + _("Your data") + "</b>",
            "",
            _("What I keep about you, and why:"),
            "• " + _("your Telegram id: to know it is you and to send you messages;"),
            "• " + _("your language, category and track: to show you what fits you;"),
            "• "
            + _(
                "your subscriptions, seats and waitlist places: to remind you and to keep "
                "your seat;"
            ),
            "• "
            + _(
                "your reminder times, quiet hours, time zone and digest day: to send "
                "messages when you want them;"
            ),
            "• " + _("reminders and news waiting to be sent to you;"),
            "• " + _("your role, if you are in the festival team."),
            "",
            _(
                "I do not keep your name, username, phone number or what you write to me. "
                "Nothing is shared with anyone."
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
                "Your subscriptions, seats, reminders and settings will be gone, and so will "
                "your role in the festival team if you have one. This cannot be undone."
            ),
            _("Anonymous counts stay (for example, how many people an announcement reached)."),
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
