"""/privacy: what is kept and why; /export_me: all of it as a file; /forget_me: delete it."""

from __future__ import annotations

import logging

from aiogram import F
from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile
from aiogram.types import CallbackQuery
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.privacy import Privacy
from bot.callbacks.privacy import PrivacyAction
from bot.screens import privacy as privacy_screens
from bot.screens.view import show
from catalogue.models import Resident
from catalogue.privacy import export_json
from catalogue.privacy import export_resident
from catalogue.privacy import forget_resident

router = Router(name=__name__)
logger = logging.getLogger(__name__)


@router.message(Command("privacy"))
async def privacy(message: Message) -> None:
    await show(message, privacy_screens.privacy_notice())


@router.message(Command("export_me"))
@router.callback_query(Privacy.filter(F.action == PrivacyAction.EXPORT))
async def export_me(
    event: Message | CallbackQuery, session: AsyncSession, resident: Resident
) -> None:
    document = await export_resident(session, resident)
    file = BufferedInputFile(export_json(document), filename=privacy_screens.EXPORT_FILE_NAME)
    if event.bot is not None:
        await event.bot.send_document(
            event.from_user.id, file, caption=privacy_screens.export_caption()
        )


@router.message(Command("forget_me"))
@router.callback_query(Privacy.filter(F.action == PrivacyAction.FORGET))
async def ask_to_forget(event: Message | CallbackQuery) -> None:
    await show(event, privacy_screens.confirm_forget())


@router.callback_query(Privacy.filter(F.action == PrivacyAction.CONFIRM))
async def forget_me(
    callback: CallbackQuery, session: AsyncSession, resident: Resident, state: FSMContext
) -> None:
    report = await forget_resident(session, resident)
    await state.clear()
    logger.info("A resident's data was deleted: %d rows", report.total)
    await show(callback, privacy_screens.forgotten())


@router.callback_query(Privacy.filter(F.action == PrivacyAction.KEEP))
async def keep_my_data(callback: CallbackQuery) -> None:
    await show(callback, privacy_screens.kept())
