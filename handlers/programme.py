"""/programme and /import: organisers keep the programme current from their phones.

Find an offer by typing, open it, edit a field or add a session through a guided form (each
answer checked, a preview as residents will see it, then Save), reschedule or cancel a session
(followers are told through the reminders engine), or send a CSV, JSON or ICS file, imported by
the same all-or-nothing importer as `learncity catalogue import`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.programme import (
    AddSession,
    CancelSession,
    EditOffer,
    FormPick,
    ImportFile,
    NewOffer,
    OfferField,
    OpenOffer,
    OpenSession,
    ProgrammeHome,
    RescheduleSession,
)
from bot.filters import TYPED, Magic
from bot.permissions import HasPermission, protect
from bot.screens import programme as ui
from bot.screens.view import Viewer, show
from bot.settings import SUPPORTED_LOCALES, Settings
from bot.states import ImportStates, OfferForm, ProgrammeStates, RescheduleForm, SessionForm
from catalogue.exchange.importer import TABLES, CatalogueImportError, import_bytes
from catalogue.models import (
    Festival,
    Offer,
    OfferFormat,
    OfferKind,
    OfferSession,
    Provider,
    SessionStatus,
    Venue,
    utc_now,
)
from catalogue.programme import (
    FormError,
    by_external_id,
    clean_typed,
    external_id_of,
    festival_choices,
    find_offers,
    new_external_id,
    offer_record,
    parse_ages,
    parse_end,
    parse_price,
    parse_start,
    preview_offer,
    programme_counts,
    provider_choices,
    save_offer,
    save_session,
    upcoming_sessions,
    usual_currency,
    validated_offer,
    validated_session,
    venue_choices,
)
from catalogue.queries import OfferCard, offer_card
from catalogue.session_changes import cancel_session, reschedule_session, subscriber_count
from catalogue.team import Permission

router = protect(Router(name=__name__), Permission.MANAGE_PROGRAMME)

MAX_UPLOAD_BYTES = 5 * 2**20
OFFER_STEPS: list[State] = [
    OfferForm.title,
    OfferForm.kind,
    OfferForm.format,
    OfferForm.language,
    OfferForm.provider,
    OfferForm.festival,
    OfferForm.description,
    OfferForm.price,
    OfferForm.ages,
    OfferForm.confirm,
]
FIELD_STEPS = {
    OfferField.TITLE: OfferForm.title,
    OfferField.KIND: OfferForm.kind,
    OfferField.FORMAT: OfferForm.format,
    OfferField.LANGUAGE: OfferForm.language,
    OfferField.PROVIDER: OfferForm.provider,
    OfferField.FESTIVAL: OfferForm.festival,
    OfferField.DESCRIPTION: OfferForm.description,
    OfferField.PRICE: OfferForm.price,
    OfferField.AGES: OfferForm.ages,
}
Event = Message | CallbackQuery


# ---------------------------------------------------------------- finding and opening


@router.message(Command("programme"))
@router.callback_query(ProgrammeHome.filter())
async def programme_home(event: Event, state: FSMContext, session: AsyncSession) -> None:
    await state.set_state(ProgrammeStates.find)
    await state.set_data({})
    offers, sessions = await programme_counts(session, utc_now())
    await show(event, ui.programme_home(offers, sessions))


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
    await state.set_state(ProgrammeStates.find)
    await state.set_data({})
    offer = await session.get(Offer, callback_data.offer_id)
    if offer is None:
        await _gone(callback, callback_answer, session)
        return
    await _show_offer(callback, session, viewer, offer)


async def _show_offer(event: Event, session: AsyncSession, viewer: Viewer, offer: Offer) -> None:
    sessions = await upcoming_sessions(session, offer.id, utc_now())
    await show(event, ui.offer_manage(viewer, offer, sessions))


async def _gone(callback: CallbackQuery, answer: CallbackAnswer, session: AsyncSession) -> None:
    answer.text = _("This offer is no longer in the programme.")
    offers, sessions = await programme_counts(session, utc_now())
    await show(callback, ui.programme_home(offers, sessions))


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
    found = await _session_and_offer(session, callback_data.session_id)
    if found is None:
        await _gone(callback, callback_answer, session)
        return
    offer_session, offer = found
    venue = await session.get(Venue, offer_session.venue_id) if offer_session.venue_id else None
    await show(callback, ui.session_manage(viewer, offer, offer_session, venue))


async def _session_and_offer(
    session: AsyncSession, session_id: int
) -> tuple[OfferSession, Offer] | None:
    offer_session = await session.get(OfferSession, session_id)
    if offer_session is None:
        return None
    offer = await session.get(Offer, offer_session.offer_id)
    return (offer_session, offer) if offer is not None else None


# ---------------------------------------------------------------- the offer form


@router.callback_query(NewOffer.filter())
async def new_offer(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, viewer: Viewer
) -> None:
    draft: dict[str, Any] = {
        "id": None,
        "title": {},
        "description": {},
        "format": OfferFormat.IN_PERSON.value,
        "language": viewer.locale,
        "currency": await usual_currency(session),
        "price": 0,
    }
    await state.set_state(OfferForm.title)
    await state.set_data({"mode": "new", "draft": draft})
    await show(callback, ui.ask_title())


@router.callback_query(EditOffer.filter())
async def edit_offer(
    callback: CallbackQuery,
    callback_data: EditOffer,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    offer = await session.get(Offer, callback_data.offer_id)
    if offer is None:
        await _gone(callback, callback_answer, session)
        return
    if callback_data.field is None:
        await show(callback, ui.choose_field(offer))
        return
    step = FIELD_STEPS[callback_data.field]
    await state.set_state(step)
    await state.set_data(
        {"mode": "edit", "offer_id": offer.id, "draft": await offer_record(session, offer)}
    )
    await _ask(callback, step.state, state, session, settings, viewer)


async def _ask(
    event: Event,
    step: str | None,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
    text_filter: str = "",
) -> None:
    """Put the question of `step` in front of the organiser."""
    today = datetime.now(settings.city_zone).date()
    if step == OfferForm.title.state:
        view = ui.ask_title()
    elif step == OfferForm.kind.state:
        view = ui.ask_kind()
    elif step == OfferForm.format.state:
        view = ui.ask_format()
    elif step == OfferForm.language.state:
        view = ui.ask_language()
    elif step == OfferForm.provider.state:
        view = ui.ask_provider(await provider_choices(session, viewer.locale, text_filter))
    elif step == OfferForm.festival.state:
        view = ui.ask_festival(await festival_choices(session, viewer.locale, today))
    elif step == OfferForm.description.state:
        view = ui.ask_description()
    elif step == OfferForm.price.state:
        view = ui.ask_price()
    elif step == OfferForm.ages.state:
        view = ui.ask_ages()
    else:
        await _preview_offer(event, state, session, viewer)
        return
    await show(event, view)


async def _advance(
    event: Event, state: FSMContext, session: AsyncSession, settings: Settings, viewer: Viewer
) -> None:
    """The next step of a new offer; an edit goes straight to the preview."""
    data = await state.get_data()
    current = await state.get_state()
    if data.get("mode") == "edit":
        step = OfferForm.confirm
    else:
        index = [step.state for step in OFFER_STEPS].index(current)
        step = OFFER_STEPS[index + 1]
    await state.set_state(step)
    await _ask(event, step.state, state, session, settings, viewer)


async def _set(state: FSMContext, **values: Any) -> None:
    data = await state.get_data()
    data["draft"].update(values)
    await state.update_data(draft=data["draft"])


async def _preview_offer(
    event: Event, state: FSMContext, session: AsyncSession, viewer: Viewer
) -> None:
    data = await state.get_data()
    draft = data["draft"]
    if not draft.get("id"):
        draft["id"] = new_external_id(next(iter(draft["title"].values()), ""))
        await state.update_data(draft=draft)
    try:
        record = validated_offer(draft)
    except CatalogueImportError as error:
        await show(event, ui.with_cancel(ui.form_problems(error.errors)))
        return
    provider = await by_external_id(session, Provider, record.provider)
    festival = await by_external_id(session, Festival, record.festival)
    if provider is None:
        await show(event, ui.with_cancel(_("The provider no longer exists. Please start again.")))
        return
    offer_id = data.get("offer_id")
    existing = await offer_card(session, offer_id, utc_now()) if offer_id else None
    sessions, total = (existing.sessions, existing.upcoming_total) if existing else ([], 0)
    preview = preview_offer(record, provider, festival, offer_id)
    card = OfferCard(preview, provider, festival, sessions, total)
    await show(event, ui.offer_preview(viewer, card, is_new=data.get("mode") != "edit"))


@router.message(StateFilter(OfferForm.title), TYPED)
async def got_title(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    title = " ".join(clean_typed(message.text or "").split())
    if not 3 <= len(title) <= 200:
        await message.answer(ui.form_error("title"))
        return
    data = await state.get_data()
    titles = dict(data["draft"]["title"])
    titles[viewer.locale] = title
    await _set(state, title=titles)
    await _advance(message, state, session, settings, viewer)


@router.callback_query(
    StateFilter(OfferForm.kind), FormPick.filter(F.value.in_([k.value for k in OfferKind]))
)
@router.callback_query(
    StateFilter(OfferForm.format), FormPick.filter(F.value.in_([f.value for f in OfferFormat]))
)
@router.callback_query(
    StateFilter(OfferForm.language), FormPick.filter(F.value.in_(SUPPORTED_LOCALES))
)
async def picked_choice(
    callback: CallbackQuery,
    callback_data: FormPick,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    field = {
        OfferForm.kind.state: "kind",
        OfferForm.format.state: "format",
        OfferForm.language.state: "language",
    }[await state.get_state()]
    await _set(state, **{field: callback_data.value})
    await _advance(callback, state, session, settings, viewer)


@router.message(StateFilter(OfferForm.provider), TYPED)
async def narrow_providers(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    await _ask(
        message, OfferForm.provider.state, state, session, settings, viewer, message.text or ""
    )


@router.callback_query(StateFilter(OfferForm.provider), FormPick.filter(F.value.isdigit()))
@router.callback_query(StateFilter(OfferForm.festival), FormPick.filter(F.value.isdigit()))
async def picked_row(
    callback: CallbackQuery,
    callback_data: FormPick,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    step = await state.get_state()
    model, field = (
        (Provider, "provider") if step == OfferForm.provider.state else (Festival, "festival")
    )
    external_id = await external_id_of(session, model, int(callback_data.value))
    if external_id is None:
        callback_answer.text = _("This choice no longer exists.")
        await _ask(callback, step, state, session, settings, viewer)
        return
    await _set(state, **{field: external_id})
    await _advance(callback, state, session, settings, viewer)


@router.callback_query(StateFilter(OfferForm.festival), FormPick.filter(F.value == ui.NONE))
async def no_festival(
    callback: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    await _set(state, festival=None)
    await _advance(callback, state, session, settings, viewer)


@router.message(StateFilter(OfferForm.description), TYPED)
@router.callback_query(StateFilter(OfferForm.description), FormPick.filter(F.value == ui.SKIP))
async def got_description(
    event: Event,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    data = await state.get_data()
    descriptions = dict(data["draft"].get("description") or {})
    if isinstance(event, Message):
        descriptions[viewer.locale] = clean_typed(event.text or "").strip()[:3000]
    else:
        descriptions.pop(viewer.locale, None)
    await _set(state, description=descriptions)
    await _advance(event, state, session, settings, viewer)


@router.message(StateFilter(OfferForm.price), TYPED)
@router.callback_query(StateFilter(OfferForm.price), FormPick.filter(F.value == "0"))
async def got_price(
    event: Event,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    try:
        price = parse_price(event.text or "") if isinstance(event, Message) else 0.0
    except FormError as error:
        await event.answer(ui.form_error(str(error)))
        return
    await _set(state, price=price)
    await _advance(event, state, session, settings, viewer)


@router.message(StateFilter(OfferForm.ages), TYPED)
@router.callback_query(StateFilter(OfferForm.ages), FormPick.filter(F.value == "all"))
async def got_ages(
    event: Event,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    try:
        low, high = parse_ages(event.text or "") if isinstance(event, Message) else (None, None)
    except FormError as error:
        await event.answer(ui.form_error(str(error)))
        return
    await _set(state, age_min=low, age_max=high)
    await _advance(event, state, session, settings, viewer)


@router.callback_query(StateFilter(OfferForm.confirm), FormPick.filter(F.value == ui.SAVE))
async def save_offer_form(
    callback: CallbackQuery,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
) -> None:
    data = await state.get_data()
    try:
        offer = await save_offer(session, data["draft"])
    except CatalogueImportError as error:
        await show(callback, ui.with_cancel(ui.form_problems(error.errors)))
        return
    await state.set_state(ProgrammeStates.find)
    await state.set_data({})
    callback_answer.text = _("Saved.")
    await _show_offer(callback, session, viewer, offer)


# ---------------------------------------------------------------- sessions


@router.callback_query(AddSession.filter())
async def add_session(
    callback: CallbackQuery,
    callback_data: AddSession,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
) -> None:
    offer = await session.get(Offer, callback_data.offer_id)
    if offer is None:
        await _gone(callback, callback_answer, session)
        return
    draft = {"id": new_external_id(offer.external_id[:40]), "offer": offer.external_id}
    await state.set_state(SessionForm.starts)
    await state.set_data({"offer_id": offer.id, "draft": draft})
    await show(callback, ui.ask_starts(offer, viewer))


@router.message(StateFilter(SessionForm.starts), TYPED)
@router.message(StateFilter(RescheduleForm.starts), TYPED)
async def got_start(message: Message, state: FSMContext, viewer: Viewer) -> None:
    try:
        start = parse_start(message.text or "", viewer.zone, utc_now())
    except FormError as error:
        await message.answer(ui.form_error(str(error)))
        return
    await state.update_data(starts_at=start.isoformat())
    rescheduling = await state.get_state() == RescheduleForm.starts.state
    await state.set_state(RescheduleForm.ends if rescheduling else SessionForm.ends)
    data = await state.get_data()
    await show(message, ui.ask_ends(data.get("length_minutes")))


@router.message(StateFilter(SessionForm.ends), TYPED)
@router.message(StateFilter(RescheduleForm.ends), TYPED)
@router.callback_query(StateFilter(SessionForm.ends), FormPick.filter(F.value.isdigit()))
@router.callback_query(StateFilter(RescheduleForm.ends), FormPick.filter(F.value.isdigit()))
async def got_end(
    event: Event,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    callback_data: FormPick | None = None,
) -> None:
    data = await state.get_data()
    start = datetime.fromisoformat(data["starts_at"])
    try:
        if isinstance(event, Message) or callback_data is None:
            end = parse_end(event.text or "", start, viewer.zone)
        else:
            minutes = int(callback_data.value)
            if not 0 < minutes <= 24 * 60:
                raise FormError("end")
            end = start + timedelta(minutes=minutes)
    except FormError as error:
        await event.answer(ui.form_error(str(error)))
        return
    await state.update_data(ends_at=end.isoformat())
    if await state.get_state() == RescheduleForm.ends.state:
        await state.set_state(RescheduleForm.confirm)
        await _preview_reschedule(event, state, session, viewer)
        return
    await state.set_state(SessionForm.venue)
    await show(event, ui.ask_venue(await venue_choices(session, viewer.locale)))


@router.callback_query(StateFilter(SessionForm.venue), FormPick.filter(F.value.isdigit()))
@router.callback_query(StateFilter(SessionForm.venue), FormPick.filter(F.value == ui.NONE))
async def got_venue(
    callback: CallbackQuery,
    callback_data: FormPick,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
) -> None:
    venue_id = None if callback_data.value == ui.NONE else int(callback_data.value)
    if venue_id is not None and await session.get(Venue, venue_id) is None:
        callback_answer.text = _("This choice no longer exists.")
        await show(callback, ui.ask_venue(await venue_choices(session, viewer.locale)))
        return
    await state.update_data(venue_id=venue_id)
    data = await state.get_data()
    offer = await session.get(Offer, data["offer_id"])
    online = offer is not None and offer.format != OfferFormat.IN_PERSON
    if online or venue_id is None:
        await state.set_state(SessionForm.link)
        await show(callback, ui.ask_link())
        return
    await state.set_state(SessionForm.capacity)
    await show(callback, ui.ask_capacity())


@router.message(StateFilter(SessionForm.link), TYPED)
@router.callback_query(StateFilter(SessionForm.link), FormPick.filter(F.value == ui.SKIP))
async def got_link(event: Event, state: FSMContext) -> None:
    link = None
    if isinstance(event, Message):
        link = clean_typed(event.text or "").strip()
        if not link.startswith(("https://", "http://")) or len(link) > 300 or " " in link:
            await event.answer(ui.form_error("link"))
            return
    await state.update_data(online_url=link)
    await state.set_state(SessionForm.capacity)
    await show(event, ui.ask_capacity())


@router.message(StateFilter(SessionForm.capacity), TYPED)
@router.callback_query(StateFilter(SessionForm.capacity), FormPick.filter(F.value == ui.SKIP))
async def got_capacity(
    event: Event, state: FSMContext, session: AsyncSession, viewer: Viewer
) -> None:
    capacity = None
    if isinstance(event, Message):
        text = (event.text or "").strip()
        if not text.isdigit() or not 0 < int(text) <= 100_000:
            await event.answer(ui.form_error("capacity"))
            return
        capacity = int(text)
    await state.update_data(capacity=capacity)
    await state.set_state(SessionForm.confirm)
    await _preview_session(event, state, session, viewer)


def _session_record(data: dict[str, Any]) -> dict[str, Any]:
    record = dict(data["draft"])
    record.update(
        starts_at=data["starts_at"],
        ends_at=data["ends_at"],
        capacity=data.get("capacity"),
        online_url=data.get("online_url"),
    )
    return record


async def _preview_session(
    event: Event, state: FSMContext, session: AsyncSession, viewer: Viewer
) -> None:
    data = await state.get_data()
    offer = await session.get(Offer, data["offer_id"])
    if offer is None:
        await state.set_state(ProgrammeStates.find)
        await show(event, ui.with_cancel(_("This offer is no longer in the programme.")))
        return
    venue = await session.get(Venue, data["venue_id"]) if data.get("venue_id") else None
    record = _session_record(data)
    try:
        validated_session(record)
    except CatalogueImportError as error:
        await show(event, ui.with_cancel(ui.form_problems(error.errors)))
        return
    preview = OfferSession(
        external_id=record["id"],
        offer_id=offer.id,
        venue_id=venue.id if venue else None,
        starts_at=datetime.fromisoformat(record["starts_at"]),
        ends_at=datetime.fromisoformat(record["ends_at"]),
        capacity=record["capacity"],
        online_url=record["online_url"],
    )
    heading = _("The new session, as residents will see it:")
    await show(event, ui.session_preview(viewer, offer, preview, venue, heading))


@router.callback_query(StateFilter(SessionForm.confirm), FormPick.filter(F.value == ui.SAVE))
async def save_session_form(
    callback: CallbackQuery,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
) -> None:
    data = await state.get_data()
    record = _session_record(data)
    record["venue"] = await external_id_of(session, Venue, data.get("venue_id"))
    try:
        await save_session(session, record)
    except CatalogueImportError as error:
        await show(callback, ui.with_cancel(ui.form_problems(error.errors)))
        return
    await state.set_state(ProgrammeStates.find)
    await state.set_data({})
    callback_answer.text = _("Saved.")
    offer = await session.get(Offer, data["offer_id"])
    if offer is None:
        await _gone(callback, callback_answer, session)
        return
    await _show_offer(callback, session, viewer, offer)


# ---------------------------------------------------------------- reschedule and cancel


@router.callback_query(RescheduleSession.filter())
async def reschedule(
    callback: CallbackQuery,
    callback_data: RescheduleSession,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
) -> None:
    found = await _session_and_offer(session, callback_data.session_id)
    if found is None or found[0].status == SessionStatus.CANCELLED:
        callback_answer.text = _("This session can no longer be changed.")
        return
    offer_session, offer = found
    length = int((offer_session.ends_at - offer_session.starts_at).total_seconds() // 60)
    await state.set_state(RescheduleForm.starts)
    await state.set_data(
        {"session_id": offer_session.id, "offer_id": offer.id, "length_minutes": length}
    )
    await show(callback, ui.ask_starts(offer, viewer))


async def _preview_reschedule(
    event: Event, state: FSMContext, session: AsyncSession, viewer: Viewer
) -> None:
    data = await state.get_data()
    found = await _session_and_offer(session, data["session_id"])
    if found is None:
        await state.set_state(ProgrammeStates.find)
        await show(event, ui.with_cancel(_("This session is no longer in the programme.")))
        return
    offer_session, offer = found
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
    await state.set_state(ProgrammeStates.find)
    await state.set_data({})
    found = await _session_and_offer(session, data["session_id"])
    if found is None or found[0].status == SessionStatus.CANCELLED:
        callback_answer.text = _("This session can no longer be changed.")
        return
    offer_session, offer = found
    start = datetime.fromisoformat(data["starts_at"])
    end = datetime.fromisoformat(data["ends_at"])
    await reschedule_session(session, offer_session.id, start, end, city_zone=settings.city_zone)
    callback_answer.text = _("Moved. Residents who follow it will be told.")
    await _show_offer(callback, session, viewer, offer)


@router.callback_query(CancelSession.filter())
async def cancel_session_button(
    callback: CallbackQuery,
    callback_data: CancelSession,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    found = await _session_and_offer(session, callback_data.session_id)
    if found is None or found[0].status == SessionStatus.CANCELLED:
        callback_answer.text = _("This session can no longer be changed.")
        return
    offer_session, offer = found
    if not callback_data.confirmed:
        followers = await subscriber_count(session, offer_session.id)
        await show(callback, ui.confirm_cancel_session(viewer, offer, offer_session, followers))
        return
    await cancel_session(session, offer_session.id, city_zone=settings.city_zone)
    callback_answer.text = _("Cancelled. Residents who follow it will be told.")
    await _show_offer(callback, session, viewer, offer)


# ---------------------------------------------------------------- import


@router.message(Command("import"))
@router.callback_query(ImportFile.filter())
async def ask_for_file(
    event: Event,
    state: FSMContext,
    session: AsyncSession,
    viewer: Viewer,
    callback_data: ImportFile | None = None,
) -> None:
    offer = None
    if callback_data is not None and callback_data.offer_id:
        offer = await session.get(Offer, callback_data.offer_id)
    await state.set_state(ImportStates.file)
    await state.set_data({"offer_id": offer.id if offer else None})
    await show(event, ui.ask_file(offer, viewer))


@router.message(StateFilter(ImportStates.file), Magic(F.document))
@router.message(
    StateFilter(None, ProgrammeStates.find),
    Magic(F.document),
    HasPermission(Permission.MANAGE_PROGRAMME),
)
async def import_upload(
    message: Message,
    bot: Bot,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
) -> None:
    document = message.document
    assert document is not None
    if document.file_size and document.file_size > MAX_UPLOAD_BYTES:
        await message.answer(
            _("The file is too big: up to {megabytes} MB, please.").format(
                megabytes=MAX_UPLOAD_BYTES // 2**20
            )
        )
        return
    data = await state.get_data()
    offer = await session.get(Offer, data["offer_id"]) if data.get("offer_id") else None
    caption = (message.caption or "").strip().lower()
    content = await bot.download(document)
    assert content is not None
    try:
        report = await import_bytes(
            session,
            document.file_name or "upload",
            content.read(),
            caption if caption in TABLES else None,
            offer=offer.external_id if offer else None,
            zone=settings.city_zone,
        )
    except CatalogueImportError as error:
        await message.answer(ui.import_failed(error.errors))
        if len(error.errors) > ui.REPORT_LINES:
            report_file = BufferedInputFile(ui.error_report_file(error.errors), "import-errors.txt")
            await message.answer_document(report_file)
        return
    await state.set_state(ProgrammeStates.find)
    await state.set_data({})
    await message.answer(ui.import_done(report))


# ---------------------------------------------------------------- leaving and the unexpected


@router.callback_query(
    StateFilter(OfferForm, SessionForm, RescheduleForm, ImportStates),
    FormPick.filter(F.value == ui.DISCARD),
)
async def discard(callback: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    await state.set_state(ProgrammeStates.find)
    await state.set_data({})
    offers, sessions = await programme_counts(session, utc_now())
    await show(callback, ui.programme_home(offers, sessions))


@router.callback_query(FormPick.filter())
async def stale_pick(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = _(
        "This button belongs to an earlier step. Please answer the last question."
    )


@router.message(
    StateFilter(OfferForm, SessionForm, RescheduleForm, ImportStates),
    Magic(~F.text.startswith("/")),
)
async def unexpected(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    """Anything a step did not expect (a sticker for a date, a photo for a file…)."""
    step = await state.get_state()
    if step == ImportStates.file.state:
        await message.answer(_("Please send the file as a document (📎), or /cancel."))
        return
    await message.answer(ui.form_error("text"))
    if step in {s.state for s in OFFER_STEPS}:
        await _ask(message, step, state, session, settings, viewer)
