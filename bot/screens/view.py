"""A screen is text plus an inline keyboard (`View`), drawn for one person (`Viewer`), and
put in front of them by `show`: edit the message they pressed, or send one."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery
from aiogram.types import InlineKeyboardButton
from aiogram.types import InlineKeyboardMarkup
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks.browse import Navigate
from bot.callbacks.browse import Screen
from catalogue.models import Resident
from catalogue.models import translated

MESSAGE_LIMIT = 4096
BUTTON_TEXT_LIMIT = 60
BUTTON_ALERT_LIMIT = 200  # Telegram's limit on the alert a button press answers with
DESCRIPTION_LIMIT = 1200


@dataclass(frozen=True)
class View:
    text: str
    markup: InlineKeyboardMarkup | None = None


@dataclass(frozen=True)
class Viewer:
    """Whose screen it is: their language and time zone."""

    locale: str
    zone: ZoneInfo

    @classmethod
    def of(cls, resident: Resident, city_zone: ZoneInfo) -> Viewer:
        return cls(
            resident.language, ZoneInfo(resident.timezone) if resident.timezone else city_zone
        )

    def t(self, texts: dict[str, str] | None) -> str:
        return escape(translated(texts, self.locale))


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def button(text: str, callback: CallbackData | str) -> InlineKeyboardButton:
    data = callback if isinstance(callback, str) else callback.pack()
    return InlineKeyboardButton(text=shorten(text, BUTTON_TEXT_LIMIT), callback_data=data)


def menu_button() -> InlineKeyboardButton:
    return button("🏠 " + _("Menu"), Navigate(to=Screen.MENU))


def notice(text: str, back: CallbackData | None = None) -> View:
    """A short explanation with one way out, e.g. when a button has gone stale."""
    builder = InlineKeyboardBuilder()
    builder.row(_back(back) if back else menu_button())
    return View(text, builder.as_markup())


async def show(event: Message | CallbackQuery, view: View) -> None:
    """Navigation edits one message in place; a command or a stale message gets a new one."""
    if isinstance(event, Message):
        await event.answer(view.text, reply_markup=view.markup)
        return
    if isinstance(event.message, Message):
        try:
            await event.message.edit_text(view.text, reply_markup=view.markup)
            return
        except TelegramBadRequest as error:
            if "message is not modified" in error.message:
                return
            # Too old to edit or deleted meanwhile: carry on in a fresh message.
    if event.bot is not None:
        await event.bot.send_message(event.from_user.id, view.text, reply_markup=view.markup)


def _back(callback: CallbackData) -> InlineKeyboardButton:
    return button(_("« Back"), callback)
