"""Putting a screen in front of the resident: edit the message they pressed, or send one."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message

from bot.screens import View


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
