"""One session of an offer: its screen, a reschedule (new start and end, a preview, then Move)
and a cancellation (asked first). Followers are told through the reminders engine
(`catalogue.session_changes`)."""

from __future__ import annotations

from datetime import datetime

from aiogram import F
from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.programme import CancelSession
from bot.callbacks.programme import FormPick
from bot.callbacks.programme import OpenSession
from bot.callbacks.programme import RescheduleSession
from bot.filters import TYPED
from bot.screens import programme as ui
from bot.screens.view import Viewer
from bot.screens.view import show
from bot.settings import Settings
from bot.states import ProgrammeStates
from bot.states import RescheduleForm
from catalogue.queries import session_by_id
from catalogue.session_changes import cancel_session
from catalogue.session_changes import changeable_session
from catalogue.session_changes import reschedule_session
from catalogue.session_changes import subscriber_count
from handlers.programme.common import Event
from handlers.programme.common import back_to_finding
from handlers.programme.common import keep_picked_end
from handlers.programme.common import keep_typed_end
from handlers.programme.common import offer_gone
from handlers.programme.common import show_offer
from handlers.programme.common import take_start

router = Router(name=__name__)


def _cannot_change(answer: CallbackAnswer) -> None:
    answer.text = _("This session can no longer be changed.")


@router.callback_query(OpenSession.filter())
async def open_session(
    callback: CallbackQuery,
    callback_data: OpenSession,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
) -> None:
    await state.set_state(ProgrammeStates.find)
    found = await session_by_id(session, callback_data.session_id)
    if found is None:
        await offer_gone(callback, callback_answer, session)
        return
    offer_session, offer, venue = found
    await show(callback, ui.session_manage(viewer, offer, offer_session, venue))


# ---------------------------------------------------------------- reschedule


@router.callback_query(RescheduleSession.filter())
async def reschedule(
    callback: CallbackQuery,
    callback_data: RescheduleSession,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
) -> None:
    found = await changeable_session(session, callback_data.session_id)
    if found is None:
        _cannot_change(callback_answer)
        return
    offer_session, offer, _venue = found
    length = int((offer_session.ends_at - offer_session.starts_at).total_seconds() // 60)
    await state.set_state(RescheduleForm.starts)
    await state.set_data(
        {"session_id": offer_session.id, "offer_id": offer.id, "length_minutes": length}
    )
    await show(callback, ui.ask_starts(offer, viewer))


@router.message(StateFilter(RescheduleForm.starts), TYPED)
async def got_start(message: Message, state: FSMContext, viewer: Viewer) -> None:
    await take_start(message, state, viewer, ends=RescheduleForm.ends)


@router.message(StateFilter(RescheduleForm.ends), TYPED)
async def got_end(
    message: Message, state: FSMContext, session: AsyncSession, viewer: Viewer
) -> None:
    await keep_typed_end(message, state, viewer)
    await _preview_reschedule(message, state, session, viewer)


@router.callback_query(StateFilter(RescheduleForm.ends), FormPick.filter(F.value.isdigit()))
async def picked_length(
    callback: CallbackQuery,
    callback_data: FormPick,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
) -> None:
    if await keep_picked_end(callback, state, int(callback_data.value)):
        await _preview_reschedule(callback, state, session, viewer)


async def _preview_reschedule(
    event: Event, state: FSMContext, session: AsyncSession, viewer: Viewer
) -> None:
    await state.set_state(RescheduleForm.confirm)
    data = await state.get_data()
    found = await session_by_id(session, data["session_id"])
    if found is None:
        await state.set_state(ProgrammeStates.find)
        await show(event, ui.with_cancel(_("This session is no longer in the programme.")))
        return
    offer_session, offer, _venue = found
    followers = await subscriber_count(session, offer_session.id)
    start = datetime.fromisoformat(data["starts_at"])
    end = datetime.fromisoformat(data["ends_at"])
    await show(event, ui.reschedule_preview(viewer, offer, offer_session, start, end, followers))


@router.callback_query(StateFilter(RescheduleForm.confirm), FormPick.filter(F.value == ui.SAVE))
async def confirm_reschedule(
    callback: CallbackQuery,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    data = await state.get_data()
    await back_to_finding(state)
    found = await changeable_session(session, data["session_id"])
    if found is None:
        _cannot_change(callback_answer)
        return
    offer_session, offer, _venue = found
    start = datetime.fromisoformat(data["starts_at"])
    end = datetime.fromisoformat(data["ends_at"])
    await reschedule_session(session, offer_session.id, start, end, city_zone=settings.city_zone)
    callback_answer.text = _("Moved. Residents who follow it will be told.")
    await show_offer(callback, session, viewer, offer)


# ---------------------------------------------------------------- cancel


@router.callback_query(CancelSession.filter())
async def cancel_session_button(
    callback: CallbackQuery,
    callback_data: CancelSession,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    found = await changeable_session(session, callback_data.session_id)
    if found is None:
        _cannot_change(callback_answer)
        return
    offer_session, offer, _venue = found
    if not callback_data.confirmed:
        followers = await subscriber_count(session, offer_session.id)
        await show(callback, ui.confirm_cancel_session(viewer, offer, offer_session, followers))
        return
    await cancel_session(session, offer_session.id, city_zone=settings.city_zone)
    callback_answer.text = _("Cancelled. Residents who follow it will be told.")
    await show_offer(callback, session, viewer, offer)
