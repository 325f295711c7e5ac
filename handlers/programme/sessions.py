"""The session form: a new session of an offer (start, end, venue or link, places), checked
as an imported file would be, previewed, then saved."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks.programme import AddSession
from bot.callbacks.programme import FormPick
from bot.filters import TYPED
from bot.screens import programme as ui
from bot.screens.view import show
from bot.states import SessionForm
from catalogue.exchange.rows import CatalogueImportError
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import Venue
from catalogue.programme import clean_typed
from catalogue.programme import external_id_of
from catalogue.programme import new_external_id
from catalogue.programme import offer_by_id
from catalogue.programme import preview_session
from catalogue.programme import save_session
from catalogue.programme import validated_session
from catalogue.programme import venue_by_id
from catalogue.programme import venue_choices
from catalogue.text_policy import bounded_id
from handlers.programme.common import PICKED_NUMBER
from handlers.programme.common import Desk
from handlers.programme.common import Event
from handlers.programme.common import Press
from handlers.programme.common import ask_when
from handlers.programme.common import offer_button

router = Router(name=__name__)


@offer_button(router, AddSession)
async def add_session(press: Press[AddSession, Offer]) -> None:
    desk, offer = press.desk, press.found
    draft = {"id": new_external_id(offer.external_id[:40]), "offer": offer.external_id}
    await desk.state.set_state(SessionForm.starts)
    await desk.state.set_data({"offer_id": offer.id, "draft": draft})
    await show(press.callback, ui.ask_starts(offer, desk.viewer))


async def _ask_venue(event: Event, desk: Desk, text_filter: str = "") -> None:
    await desk.state.set_state(SessionForm.venue)
    choices = await venue_choices(desk.session, desk.viewer.locale, text_filter)
    await show(event, ui.ask_venue(choices))


ask_when(router, SessionForm.starts, SessionForm.ends, then=_ask_venue)


@router.message(StateFilter(SessionForm.venue), TYPED)
async def narrow_venues(message: Message, desk: Desk) -> None:
    await _ask_venue(message, desk, clean_typed(message.text or "")[:100])


@router.callback_query(StateFilter(SessionForm.venue), PICKED_NUMBER)
@router.callback_query(StateFilter(SessionForm.venue), FormPick.filter(F.value == ui.NONE))
async def got_venue(
    callback: CallbackQuery, callback_data: FormPick, callback_answer: CallbackAnswer, desk: Desk
) -> None:
    venue_id = None if callback_data.value == ui.NONE else bounded_id(callback_data.value)
    if venue_id is not None and await venue_by_id(desk.session, venue_id) is None:
        callback_answer.text = _("This choice no longer exists.")
        await _ask_venue(callback, desk)
        return
    await desk.state.update_data(venue_id=venue_id)
    data = await desk.state.get_data()
    offer = await offer_by_id(desk.session, data["offer_id"])
    online = offer is not None and offer.format != OfferFormat.IN_PERSON
    if online or venue_id is None:
        await desk.state.set_state(SessionForm.link)
        await show(callback, ui.ask_link())
        return
    await _ask_capacity(callback, desk)


@router.message(StateFilter(SessionForm.link), TYPED)
@router.callback_query(StateFilter(SessionForm.link), FormPick.filter(F.value == ui.SKIP))
async def got_link(event: Event, desk: Desk) -> None:
    link = None
    if isinstance(event, Message):
        link = clean_typed(event.text or "").strip()
        if not link.startswith(("https://", "http://")) or len(link) > 300 or " " in link:
            await event.answer(ui.form_error("link"))
            return
    await desk.state.update_data(online_url=link)
    await _ask_capacity(event, desk)


async def _ask_capacity(event: Event, desk: Desk) -> None:
    await desk.state.set_state(SessionForm.capacity)
    await show(event, ui.ask_capacity())


@router.message(StateFilter(SessionForm.capacity), TYPED)
@router.callback_query(StateFilter(SessionForm.capacity), FormPick.filter(F.value == ui.SKIP))
async def got_capacity(event: Event, desk: Desk) -> None:
    capacity = None
    if isinstance(event, Message):
        capacity = bounded_id(event.text or "")
        if capacity is None or capacity > 100_000:
            await event.answer(ui.form_error("capacity"))
            return
    await desk.state.update_data(capacity=capacity)
    await desk.state.set_state(SessionForm.confirm)
    await _preview_session(event, desk)


def _session_record(data: dict[str, Any]) -> dict[str, Any]:
    """The form's answers as a session record of the exchange format."""
    record = dict(data["draft"])
    record.update(
        starts_at=data["starts_at"],
        ends_at=data["ends_at"],
        capacity=data.get("capacity"),
        online_url=data.get("online_url"),
    )
    return record


async def _preview_session(event: Event, desk: Desk) -> None:
    data = await desk.state.get_data()
    offer = await offer_by_id(desk.session, data["offer_id"])
    if offer is None:
        await desk.subject_gone(event, _("This offer is no longer in the programme."))
        return
    venue = await venue_by_id(desk.session, data.get("venue_id"))
    record = _session_record(data)
    try:
        validated_session(record)
    except CatalogueImportError as error:  # shown with a Cancel button: the form stays open
        await show(event, ui.with_cancel(ui.form_problems(error.errors)))
        return
    preview = preview_session(record, offer, venue)
    heading = _("The new session, as residents will see it:")
    await show(event, ui.session_preview(desk.viewer, offer, preview, venue, heading))


@router.callback_query(StateFilter(SessionForm.confirm), FormPick.filter(F.value == ui.SAVE))
async def save_session_form(
    callback: CallbackQuery, callback_answer: CallbackAnswer, desk: Desk
) -> None:
    data = await desk.state.get_data()
    record = _session_record(data)
    record["venue"] = await external_id_of(desk.session, Venue, data.get("venue_id"))
    try:
        await save_session(desk.session, record)
    except CatalogueImportError as error:  # shown with a Cancel button: the form stays open
        await show(callback, ui.with_cancel(ui.form_problems(error.errors)))
        return
    await desk.back_to_finding()
    callback_answer.text = _("Saved.")
    offer = await desk.offer_or_gone(callback, callback_answer, data["offer_id"])
    if offer is not None:
        await desk.show_offer(callback, offer)
