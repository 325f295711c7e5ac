"""Last in line: whatever no feature understood gets a friendly hint, never silence."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.filters import COMMAND
from bot.filters import TEXT
from bot.screens.browse import escape
from bot.screens.view import notice
from bot.screens.view import show

router = Router(name=__name__)


@router.message(COMMAND)
async def unknown_command(message: Message) -> None:
    command = (message.text or "").split(maxsplit=1)[0][:32]
    text = _("I don't know the command {command}.").format(command=escape(command))
    await show(message, notice(text + "\n" + _("See /help for what I can do.")))


@router.message(TEXT)
async def free_text(message: Message) -> None:
    await show(message, notice(_("Please use the buttons, or open the /menu.")))


@router.message()
async def other_content(message: Message) -> None:
    await show(message, notice(_("I can only read text and buttons. Open the /menu.")))


@router.callback_query()
async def stale_button(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    # Forged data, or a button from an older version of the bot.
    callback_answer.text = _("This button is out of date.")
    await show(callback, notice(_("This button is out of date. Here is the menu.")))
