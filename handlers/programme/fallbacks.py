"""Leaving a programme form (its Cancel button), a button of an earlier step, and input no step
expected. Tried after every dialogue of the programme, so only what they left gets here."""

from __future__ import annotations

from aiogram import F
from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks.programme import FormPick
from bot.filters import Magic
from bot.screens import programme as ui
from bot.states import ImportStates
from bot.states import OfferForm
from bot.states import RescheduleForm
from bot.states import SessionForm
from handlers.programme.common import Desk
from handlers.programme.offer_form import ask
from handlers.programme.offer_form import is_offer_step

router = Router(name=__name__)


@router.callback_query(
    StateFilter(OfferForm, SessionForm, RescheduleForm, ImportStates),
    FormPick.filter(F.value == ui.DISCARD),
)
async def discard(callback: CallbackQuery, desk: Desk) -> None:
    await desk.back_to_finding()
    await desk.show_home(callback)


# In a form only: after /cancel there is no question to point to, and the catch-all says the
# button is out of date (issue 15, item 5).
@router.callback_query(
    StateFilter(OfferForm, SessionForm, RescheduleForm, ImportStates), FormPick.filter()
)
async def stale_pick(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = _(
        "This button belongs to an earlier step. Please answer the last question."
    )


@router.message(
    StateFilter(OfferForm, SessionForm, RescheduleForm, ImportStates),
    Magic(~F.text.startswith("/")),
)
async def unexpected(message: Message, desk: Desk) -> None:
    """Anything a step did not expect (a sticker for a date, a photo for a file…)."""
    step = await desk.state.get_state()
    if step == ImportStates.file.state:
        await message.answer(_("Please send the file as a document (📎), or /cancel."))
        return
    await message.answer(ui.form_error("text"))
    if is_offer_step(step):
        await ask(message, desk, step)
