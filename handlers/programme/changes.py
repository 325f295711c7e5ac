"""One session of an offer: its screen, a reschedule (new start and end, a preview, then Move)
and a cancellation (asked first). Followers are told through the reminders engine
(`catalogue.session_changes`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import F
from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks import SessionButton
from bot.callbacks.programme import CancelSession
from bot.callbacks.programme import FormPick
from bot.callbacks.programme import OpenSession
from bot.callbacks.programme import RescheduleSession
from bot.screens import programme as ui
from bot.screens.view import show
from bot.states import ProgrammeStates
from bot.states import RescheduleForm
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.queries import session_by_id
from catalogue.session_changes import cancel_session
from catalogue.session_changes import changeable_session
from catalogue.session_changes import reschedule_session
from catalogue.session_changes import subscriber_count
from handlers.programme.common import Desk
from handlers.programme.common import Event
from handlers.programme.common import Press
from handlers.programme.common import ask_when
from handlers.programme.common import button_about

router = Router(name=__name__)


async def _changeable(
    desk: Desk, session_id: int, answer: CallbackAnswer
) -> tuple[OfferSession, Offer] | None:
    """The session and its offer while it can still be changed; None, and the organiser told,
    once it cannot (it has begun, was cancelled or left the programme)."""
    found = await changeable_session(desk.session, session_id)
    if found is None:
        answer.text = _("This session can no longer be changed.")
        return None
    offer_session, offer, _venue = found
    return offer_session, offer


async def _session_still_changeable(
    callback: CallbackQuery, data: SessionButton, answer: CallbackAnswer, desk: Desk
) -> tuple[OfferSession, Offer] | None:
    return await _changeable(desk, data.session_id, answer)


@router.callback_query(OpenSession.filter())
async def open_session(
    callback: CallbackQuery, callback_data: OpenSession, callback_answer: CallbackAnswer, desk: Desk
) -> None:
    await desk.state.set_state(ProgrammeStates.find)
    found = await session_by_id(desk.session, callback_data.session_id)
    if found is None:
        await desk.offer_gone(callback, callback_answer)
        return
    offer_session, offer, venue = found
    page = await desk.page_of(offer_session)
    await show(callback, ui.session_manage(desk.viewer, offer, offer_session, venue, page))


# ---------------------------------------------------------------- reschedule


@button_about(router, RescheduleSession, _session_still_changeable)
async def reschedule(press: Press[RescheduleSession, tuple[OfferSession, Offer]]) -> None:
    desk, (offer_session, offer) = press.desk, press.found
    length = int((offer_session.ends_at - offer_session.starts_at).total_seconds() // 60)
    await desk.state.set_state(RescheduleForm.starts)
    await desk.state.set_data(
        {"session_id": offer_session.id, "offer_id": offer.id, "length_minutes": length}
    )
    await show(press.callback, ui.ask_starts(offer, desk.viewer))


async def _preview_reschedule(event: Event, desk: Desk) -> None:
    await desk.state.set_state(RescheduleForm.confirm)
    data = await desk.state.get_data()
    found = await session_by_id(desk.session, data["session_id"])
    if found is None:
        await desk.subject_gone(event, _("This session is no longer in the programme."))
        return
    offer_session, offer, _venue = found
    followers = await subscriber_count(desk.session, offer_session.id)
    start, end = _new_times(data)
    await show(
        event, ui.reschedule_preview(desk.viewer, offer, offer_session, start, end, followers)
    )


def _new_times(data: dict[str, Any]) -> tuple[datetime, datetime]:
    """The start and end the reschedule form has kept."""
    return datetime.fromisoformat(data["starts_at"]), datetime.fromisoformat(data["ends_at"])


ask_when(router, RescheduleForm.starts, RescheduleForm.ends, then=_preview_reschedule)


@router.callback_query(StateFilter(RescheduleForm.confirm), FormPick.filter(F.value == ui.SAVE))
async def confirm_reschedule(
    callback: CallbackQuery, callback_answer: CallbackAnswer, desk: Desk
) -> None:
    data = await desk.state.get_data()
    await desk.back_to_finding()
    found = await _changeable(desk, data["session_id"], callback_answer)
    if found is None:
        return
    offer_session, offer = found
    start, end = _new_times(data)
    city_zone = desk.settings.city_zone
    await reschedule_session(desk.session, offer_session.id, start, end, city_zone=city_zone)
    callback_answer.text = _("Moved. Residents who follow it will be told.")
    await desk.show_offer(callback, offer, await desk.page_of(offer_session))


# ---------------------------------------------------------------- cancel


@button_about(router, CancelSession, _session_still_changeable)
async def cancel_session_button(press: Press[CancelSession, tuple[OfferSession, Offer]]) -> None:
    desk, (offer_session, offer) = press.desk, press.found
    if not press.data.confirmed:
        followers = await subscriber_count(desk.session, offer_session.id)
        view = ui.confirm_cancel_session(desk.viewer, offer, offer_session, followers)
        await show(press.callback, view)
        return
    await cancel_session(desk.session, offer_session.id, city_zone=desk.settings.city_zone)
    press.answer.text = _("Cancelled. Residents who follow it will be told.")
    await desk.show_offer(press.callback, offer, await desk.page_of(offer_session))
