"""A screen is text plus an inline keyboard (`View`), drawn for one person (`Viewer`), and
put in front of them by `show`: edit the message they pressed, or send one."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from html import unescape
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
    """Plain text (before it is escaped) cut to `limit` characters."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# The HTML our screens write: tags, entities and the text between them.
_HTML_PARTS = re.compile(r"(<[^<>]*>|&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);)")


def rendered_length(html: str) -> int:
    """How long Telegram counts a message in HTML: what the reader sees (tags gone, `&amp;`
    one character), in UTF-16 code units as Telegram counts them."""
    return _utf16_length(_HTML_PARTS.sub(_rendered_part, html))


def _rendered_part(match: re.Match[str]) -> str:
    part = match.group()
    return "" if part.startswith("<") else unescape(part)


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2  # in C: a card's text is long


def fit_message(html: str, limit: int = MESSAGE_LIMIT) -> str:
    """`html` as it is if its rendered text fits `limit`; otherwise cut on a text boundary
    (never inside a tag or an entity, at a space when one is near), the tags still open
    closed, and "…" added."""
    if rendered_length(html) <= limit:
        return html
    room = limit - 1  # for "…"
    kept: list[str] = []
    open_tags: list[str] = []
    for part in _HTML_PARTS.split(html):
        if not part:
            continue
        if part.startswith("<"):
            name = part.strip("</>").split()[0].lower() if part.strip("</>") else ""
            if part.startswith("</"):
                if name in open_tags:
                    open_tags.remove(name)
            elif not part.endswith("/>"):
                open_tags.append(name)
            kept.append(part)
            continue
        length = _utf16_length(unescape(part)) if part.startswith("&") else _utf16_length(part)
        if length <= room:
            kept.append(part)
            room -= length
            continue
        if not part.startswith("&"):
            kept.append(_cut_text(part, room))
        break
    closing = "".join(f"</{name}>" for name in reversed(open_tags))
    return "".join(kept).rstrip() + "…" + closing


def _cut_text(text: str, room: int) -> str:
    """At most `room` UTF-16 units of plain text, ended at a space if one is in the last fifth."""
    cut = text[:room]
    while _utf16_length(cut) > room:
        cut = cut[:-1]
    space = cut.rfind(" ")
    return cut[:space] if space >= len(cut) * 4 // 5 else cut


def button(text: str, callback: CallbackData | str) -> InlineKeyboardButton:
    data = callback if isinstance(callback, str) else callback.pack()
    return InlineKeyboardButton(text=shorten(text, BUTTON_TEXT_LIMIT), callback_data=data)


def upcoming_range(first: int, shown: int, total: int) -> str:
    """ "Upcoming: 11–20 of 120" at the top of one page of a paged list; `first` counts from 1."""
    return _("Upcoming: {first}–{last} of {total}").format(
        first=first, last=first + shown - 1, total=total
    )


def pager(
    page: int,
    pages: int,
    to_page: Callable[[int], CallbackData],
    counter: CallbackData | None = None,
) -> list[InlineKeyboardButton]:
    """The ‹ n / m › row under a paged list (empty when it has one page): `to_page(p)` is the
    button that shows page p (counted from 0); the middle one presses `counter`, by default the
    page itself again."""
    if pages <= 1:
        return []
    row = []
    if page > 0:
        row.append(button("‹", to_page(page - 1)))
    row.append(button(f"{page + 1} / {pages}", counter or to_page(page)))
    if page < pages - 1:
        row.append(button("›", to_page(page + 1)))
    return row


def menu_button() -> InlineKeyboardButton:
    return button("🏠 " + _("Menu"), Navigate(to=Screen.MENU))


def notice(text: str, back: CallbackData | None = None) -> View:
    """A short explanation with one way out, e.g. when a button has gone stale."""
    builder = InlineKeyboardBuilder()
    builder.row(_back(back) if back else menu_button())
    return View(text, builder.as_markup())


async def show(event: Message | CallbackQuery, view: View) -> None:
    """Navigation edits one message in place; a command or a stale message gets a new one."""
    # Every screen's text is measured as Telegram measures it, and fitted, here.
    view = View(fit_message(view.text), view.markup)
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
