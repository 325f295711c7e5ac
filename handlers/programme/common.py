"""What the programme's dialogues share: the programme's start screen, one offer's screen, and
reading the start and end of a session (the session form and a reschedule ask the same way)."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.screens import programme as ui
from bot.screens.view import Viewer
from bot.screens.view import show
from bot.states import ProgrammeStates
from catalogue.models import Offer
from catalogue.models import utc_now
from catalogue.programme import parse_end
from catalogue.programme import parse_start
from catalogue.programme import programme_counts
from catalogue.programme import upcoming_sessions

Event = Message | CallbackQuery


async def back_to_finding(state: FSMContext) -> None:
    """Leave any form: what the organiser types next looks an offer up."""
    await state.set_state(ProgrammeStates.find)
    await state.set_data({})


async def show_programme_home(event: Event, session: AsyncSession) -> None:
    offers, sessions = await programme_counts(session, utc_now())
    await show(event, ui.programme_home(offers, sessions))


async def show_offer(event: Event, session: AsyncSession, viewer: Viewer, offer: Offer) -> None:
    sessions = await upcoming_sessions(session, offer.id, utc_now())
    await show(event, ui.offer_manage(viewer, offer, sessions))


async def offer_gone(
    callback: CallbackQuery, answer: CallbackAnswer, session: AsyncSession
) -> None:
    answer.text = _("This offer is no longer in the programme.")
    await show_programme_home(callback, session)


# ---------------------------------------------------------------- when a session starts and ends


async def take_start(message: Message, state: FSMContext, viewer: Viewer, ends: State) -> None:
    """Keep the typed start and ask for the end; a start that cannot be read or has passed
    raises FormError, which the error router explains (handlers/errors.py)."""
    start = parse_start(message.text or "", viewer.zone, utc_now())
    await state.update_data(starts_at=start.isoformat())
    await state.set_state(ends)
    data = await state.get_data()
    await show(message, ui.ask_ends(data.get("length_minutes")))


async def keep_typed_end(message: Message, state: FSMContext, viewer: Viewer) -> None:
    """Keep the end typed as a time or a length (FormError rises if it cannot be read)."""
    data = await state.get_data()
    end = parse_end(message.text or "", datetime.fromisoformat(data["starts_at"]), viewer.zone)
    await state.update_data(ends_at=end.isoformat())


async def keep_picked_end(callback: CallbackQuery, state: FSMContext, minutes: int) -> bool:
    """Keep the end a length button gives; False (and the organiser told) for a length no
    button offers."""
    if not 0 < minutes <= 24 * 60:
        await callback.answer(ui.form_error("end"))
        return False
    data = await state.get_data()
    end = datetime.fromisoformat(data["starts_at"]) + timedelta(minutes=minutes)
    await state.update_data(ends_at=end.isoformat())
    return True
