"""/programme: the programme's start screen, finding an offer by typing, and opening it."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.programme import OpenOffer
from bot.callbacks.programme import ProgrammeHome
from bot.filters import TYPED
from bot.screens import programme as ui
from bot.screens.view import Viewer
from bot.screens.view import show
from bot.states import ProgrammeStates
from catalogue.programme import clean_typed
from catalogue.programme import find_offers
from catalogue.programme import offer_by_id
from handlers.programme.common import Event
from handlers.programme.common import back_to_finding
from handlers.programme.common import offer_gone
from handlers.programme.common import show_offer
from handlers.programme.common import show_programme_home

router = Router(name=__name__)


@router.message(Command("programme"))
@router.callback_query(ProgrammeHome.filter())
async def programme_home(event: Event, state: FSMContext, session: AsyncSession) -> None:
    await back_to_finding(state)
    await show_programme_home(event, session)


@router.message(StateFilter(ProgrammeStates.find), TYPED)
async def find(message: Message, session: AsyncSession, viewer: Viewer) -> None:
    query = clean_typed(message.text or "")[:100]
    await show(message, ui.found_offers(query, await find_offers(session, query, viewer.locale)))


@router.callback_query(OpenOffer.filter())
async def open_offer(
    callback: CallbackQuery,
    callback_data: OpenOffer,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
) -> None:
    await back_to_finding(state)
    offer = await offer_by_id(session, callback_data.offer_id)
    if offer is None:
        await offer_gone(callback, callback_answer, session)
        return
    await show_offer(callback, session, viewer, offer)
