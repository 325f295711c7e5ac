"""The main menu, help and /cancel."""

from __future__ import annotations

from aiogram import F
from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.browse import Navigate
from bot.callbacks.browse import PageCounter
from bot.callbacks.browse import Screen
from bot.screens import browse as browse_screens
from bot.screens.view import Viewer
from bot.screens.view import show
from bot.settings import Settings
from catalogue.models import Resident
from handlers.start import menu_view

router = Router(name=__name__)


@router.message(Command("menu"))
@router.callback_query(Navigate.filter(F.to == Screen.MENU))
async def main_menu(
    event: Message | CallbackQuery,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
    settings: Settings,
) -> None:
    await show(event, await menu_view(session, resident, viewer, settings))


@router.message(Command("help"))
@router.callback_query(Navigate.filter(F.to == Screen.HELP))
async def help_screen(event: Message | CallbackQuery) -> None:
    await show(event, browse_screens.help_screen())


@router.message(Command("cancel"))
async def cancel(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
    settings: Settings,
) -> None:
    had_state = await state.get_state() is not None
    await state.clear()
    await message.answer(_("Cancelled.") if had_state else _("Nothing to cancel."))
    await show(message, await menu_view(session, resident, viewer, settings))


@router.callback_query(PageCounter.filter())
async def page_counter(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = _("Use ‹ and › to turn the pages.")
