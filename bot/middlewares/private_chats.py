"""Personal screens only in a private chat (issue 14, item 9).

A resident's pass code and QR, their subscriptions, settings and privacy pages are theirs: typed
in a group, the bot does not post them for everyone, but answers with a deep link that opens
the private chat and shows the screen there (`/start go_<command>`). A pass or self check-in
link (`/start pass_…`, `/start ci_…`) typed in a group is answered the same way.

An outer middleware on messages, so every feature's personal command is covered in one place,
before any router: a command added to `PERSONAL_COMMANDS` needs nothing else.
"""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware
from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.types import InlineKeyboardButton
from aiogram.types import InlineKeyboardMarkup
from aiogram.types import Message
from aiogram.types import TelegramObject
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import gettext as _

from bot.middlewares.database import Handler

PERSONAL_COMMANDS = frozenset(
    {"pass", "my", "settings", "privacy", "export_me", "forget_me", "passport", "about_me"}
)
PERSONAL_LINKS = ("pass_", "ci_")  # deep links that show or change someone's own things
OPEN_PREFIX = "go_"  # /start go_pass: the deep link from a group to the private chat


def personal_command(text: str | None) -> tuple[str, str] | None:
    """(command, its arguments) of a personal command or link; None for anything else."""
    if not text or not text.startswith("/"):
        return None
    head, _space, arguments = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if name in PERSONAL_COMMANDS or (name == "start" and arguments.startswith(PERSONAL_LINKS)):
        return name, arguments
    return None


class PersonalInPrivate(BaseMiddleware):
    """In a group, a personal command is answered with a link to the private chat; in the
    private chat, that link (`/start go_<command>`) runs the command."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Message):
            return await handler(event, data)
        if event.chat.type == ChatType.PRIVATE:
            return await handler(opened_from_link(event), data)
        found = personal_command(event.text)
        if found is None:
            return await handler(event, data)
        bot: Bot = data["bot"]
        command, _arguments = found
        payload = OPEN_PREFIX + command if command in PERSONAL_COMMANDS else ""
        link = await create_start_link(bot, payload) if payload else await private_chat(bot)
        button = InlineKeyboardButton(text="🔒 " + _("Open in a private chat"), url=link)
        await event.reply(
            _(
                "Your pass and other personal things are shown only in a private chat with me, "
                "never in a group. Open it with the button below."
            ),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
        )
        return None


async def private_chat(bot: Bot) -> str:
    me = await bot.me()
    return f"https://t.me/{me.username}"


def opened_from_link(message: Message) -> Message:
    """`/start go_pass` from a group's link, as if the person had typed `/pass` here."""
    text = message.text or ""
    if not text.startswith("/start " + OPEN_PREFIX):
        return message
    command = text.removeprefix("/start " + OPEN_PREFIX).strip()
    if command not in PERSONAL_COMMANDS:
        return message
    return message.model_copy(update={"text": "/" + command, "entities": None})
