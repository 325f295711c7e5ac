"""/programme: the programme's start screen, finding an offer by typing, and opening it."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks.programme import OpenOffer
from bot.callbacks.programme import ProgrammeHome
from bot.filters import TYPED
from bot.screens import programme as ui
from bot.screens.view import show
from bot.states import ProgrammeStates
from catalogue.programme import clean_typed
from catalogue.programme import find_offers
from handlers.programme.common import Desk
from handlers.programme.common import Event

router = Router(name=__name__)


@router.message(Command("programme"))
@router.callback_query(ProgrammeHome.filter())
async def programme_home(event: Event, desk: Desk) -> None:
    await desk.back_to_finding()
    await desk.show_home(event)


@router.message(StateFilter(ProgrammeStates.find), TYPED)
async def find(message: Message, desk: Desk) -> None:
    query = clean_typed(message.text or "")[:100]
    found = await find_offers(desk.session, query, desk.viewer.locale)
    await show(message, ui.found_offers(query, found))


@router.callback_query(OpenOffer.filter())
async def open_offer(
    callback: CallbackQuery, callback_data: OpenOffer, callback_answer: CallbackAnswer, desk: Desk
) -> None:
    await desk.back_to_finding()
    offer = await desk.offer_or_gone(callback, callback_answer, callback_data.offer_id)
    if offer is not None:
        await desk.show_offer(callback, offer, callback_data.page)
