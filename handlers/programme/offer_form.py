"""The offer form: a new offer step by step, or one field of an offer changed; each answer is
checked, then a preview as residents will see the offer, then Save.

The draft is a record of the exchange format kept in the FSM data, saved by the importer's own
upsert (`catalogue.programme.save_offer`), so the form obeys exactly the rules of a file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import F
from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks.programme import EditOffer
from bot.callbacks.programme import FormPick
from bot.callbacks.programme import NewOffer
from bot.callbacks.programme import OfferField
from bot.filters import TYPED
from bot.screens import programme as ui
from bot.screens.view import View
from bot.screens.view import show
from bot.settings import SUPPORTED_LOCALES
from bot.states import OfferForm
from catalogue.exchange.rows import CatalogueImportError
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import OfferKind
from catalogue.models import Provider
from catalogue.models import utc_now
from catalogue.programme import external_id_of
from catalogue.programme import festival_choices
from catalogue.programme import new_external_id
from catalogue.programme import offer_preview_card
from catalogue.programme import offer_record
from catalogue.programme import parse_ages
from catalogue.programme import parse_price
from catalogue.programme import provider_choices
from catalogue.programme import save_offer
from catalogue.programme import usual_currency
from catalogue.programme import validated_offer
from catalogue.text_policy import bounded_id
from catalogue.text_policy import limits
from catalogue.text_policy import multi_line
from catalogue.text_policy import one_line
from handlers.programme.common import PICKED_NUMBER
from handlers.programme.common import Desk
from handlers.programme.common import Event
from handlers.programme.common import Press
from handlers.programme.common import offer_button

router = Router(name=__name__)

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
# The questions that need nothing from the database.
PLAIN_QUESTIONS = {
    OfferForm.title.state: ui.ask_title,
    OfferForm.kind.state: ui.ask_kind,
    OfferForm.format.state: ui.ask_format,
    OfferForm.language.state: ui.ask_language,
    OfferForm.description.state: ui.ask_description,
    OfferForm.price.state: ui.ask_price,
    OfferForm.ages.state: ui.ask_ages,
}


def is_offer_step(step: str | None) -> bool:
    return step in {offer_step.state for offer_step in OFFER_STEPS}


# ---------------------------------------------------------------- opening the form


@router.callback_query(NewOffer.filter())
async def new_offer(callback: CallbackQuery, desk: Desk) -> None:
    draft: dict[str, Any] = {
        "id": None,
        "title": {},
        "description": {},
        "format": OfferFormat.IN_PERSON.value,
        "language": desk.viewer.locale,
        "currency": await usual_currency(desk.session),
        "price": 0,
    }
    await desk.state.set_state(OfferForm.title)
    await desk.state.set_data({"mode": "new", "draft": draft})
    await show(callback, ui.ask_title())


@offer_button(router, EditOffer)
async def edit_offer(press: Press[EditOffer, Offer]) -> None:
    desk, offer = press.desk, press.found
    if press.data.field is None:
        await show(press.callback, ui.choose_field(offer))
        return
    step = FIELD_STEPS[press.data.field]
    await desk.state.set_state(step)
    draft = await offer_record(desk.session, offer)
    await desk.state.set_data({"mode": "edit", "offer_id": offer.id, "draft": draft})
    await ask(press.callback, desk, step.state)


# ---------------------------------------------------------------- asking and moving on


async def ask(event: Event, desk: Desk, step: str | None, text_filter: str = "") -> None:
    """Put the question of `step` in front of the organiser (the preview after the last)."""
    view: View
    locale = desk.viewer.locale
    if step in PLAIN_QUESTIONS:
        view = PLAIN_QUESTIONS[step]()
    elif step == OfferForm.provider.state:
        view = ui.ask_provider(await provider_choices(desk.session, locale, text_filter))
    elif step == OfferForm.festival.state:
        today = datetime.now(desk.settings.city_zone).date()
        view = ui.ask_festival(await festival_choices(desk.session, locale, today))
    else:
        await _preview_offer(event, desk)
        return
    await show(event, view)


async def _keep(event: Event, desk: Desk, **values: Any) -> None:
    """Keep answers in the draft and ask the next step of a new offer; an edit goes straight
    to the preview."""
    data = await desk.state.get_data()
    data["draft"].update(values)
    await desk.state.update_data(draft=data["draft"])
    if data.get("mode") == "edit":
        step = OfferForm.confirm
    else:
        index = [step.state for step in OFFER_STEPS].index(await desk.state.get_state())
        step = OFFER_STEPS[index + 1]
    await desk.state.set_state(step)
    await ask(event, desk, step.state)


async def _preview_offer(event: Event, desk: Desk) -> None:
    data = await desk.state.get_data()
    draft = data["draft"]
    if not draft.get("id"):
        draft["id"] = new_external_id(next(iter(draft["title"].values()), ""))
        await desk.state.update_data(draft=draft)
    try:
        record = validated_offer(draft)
    except CatalogueImportError as error:  # shown with a Cancel button: the form stays open
        await show(event, ui.with_cancel(ui.form_problems(error.errors)))
        return
    card = await offer_preview_card(desk.session, record, data.get("offer_id"), utc_now())
    if card is None:
        await show(event, ui.with_cancel(_("The provider no longer exists. Please start again.")))
        return
    await show(event, ui.offer_preview(desk.viewer, card, is_new=data.get("mode") != "edit"))


# ---------------------------------------------------------------- the answers


@router.message(StateFilter(OfferForm.title), TYPED)
async def got_title(message: Message, desk: Desk) -> None:
    title = one_line(message.text or "")
    if not 3 <= len(title) <= limits().title_length:
        await message.answer(ui.form_error("title"))
        return
    data = await desk.state.get_data()
    titles = dict(data["draft"]["title"])
    titles[desk.viewer.locale] = title
    await _keep(message, desk, title=titles)


@router.callback_query(
    StateFilter(OfferForm.kind), FormPick.filter(F.value.in_([k.value for k in OfferKind]))
)
@router.callback_query(
    StateFilter(OfferForm.format), FormPick.filter(F.value.in_([f.value for f in OfferFormat]))
)
@router.callback_query(
    StateFilter(OfferForm.language), FormPick.filter(F.value.in_(SUPPORTED_LOCALES))
)
async def picked_choice(callback: CallbackQuery, callback_data: FormPick, desk: Desk) -> None:
    field = {
        OfferForm.kind.state: "kind",
        OfferForm.format.state: "format",
        OfferForm.language.state: "language",
    }[await desk.state.get_state()]
    await _keep(callback, desk, **{field: callback_data.value})


@router.message(StateFilter(OfferForm.provider), TYPED)
async def narrow_providers(message: Message, desk: Desk) -> None:
    await ask(message, desk, OfferForm.provider.state, message.text or "")


@router.callback_query(StateFilter(OfferForm.provider), PICKED_NUMBER)
@router.callback_query(StateFilter(OfferForm.festival), PICKED_NUMBER)
async def picked_row(
    callback: CallbackQuery, callback_data: FormPick, callback_answer: CallbackAnswer, desk: Desk
) -> None:
    step = await desk.state.get_state()
    model, field = (
        (Provider, "provider") if step == OfferForm.provider.state else (Festival, "festival")
    )
    external_id = await external_id_of(desk.session, model, bounded_id(callback_data.value))
    if external_id is None:
        callback_answer.text = _("This choice no longer exists.")
        await ask(callback, desk, step)
        return
    await _keep(callback, desk, **{field: external_id})


@router.callback_query(StateFilter(OfferForm.festival), FormPick.filter(F.value == ui.NONE))
async def no_festival(callback: CallbackQuery, desk: Desk) -> None:
    await _keep(callback, desk, festival=None)


@router.message(StateFilter(OfferForm.description), TYPED)
@router.callback_query(StateFilter(OfferForm.description), FormPick.filter(F.value == ui.SKIP))
async def got_description(event: Event, desk: Desk) -> None:
    data = await desk.state.get_data()
    descriptions = dict(data["draft"].get("description") or {})
    if isinstance(event, Message):
        description = multi_line(event.text or "")
        if len(description) > limits().text_length:
            await event.answer(ui.form_error("description"))
            return
        descriptions[desk.viewer.locale] = description
    else:
        descriptions.pop(desk.viewer.locale, None)
    await _keep(event, desk, description=descriptions)


@router.message(StateFilter(OfferForm.price), TYPED)
@router.callback_query(StateFilter(OfferForm.price), FormPick.filter(F.value == "0"))
async def got_price(event: Event, desk: Desk) -> None:
    # A price that cannot be read raises FormError: the error router explains it.
    price = parse_price(event.text or "") if isinstance(event, Message) else 0.0
    await _keep(event, desk, price=price)


@router.message(StateFilter(OfferForm.ages), TYPED)
@router.callback_query(StateFilter(OfferForm.ages), FormPick.filter(F.value == "all"))
async def got_ages(event: Event, desk: Desk) -> None:
    # Ages that cannot be read raise FormError: the error router explains them.
    low, high = parse_ages(event.text or "") if isinstance(event, Message) else (None, None)
    await _keep(event, desk, age_min=low, age_max=high)


@router.callback_query(StateFilter(OfferForm.confirm), FormPick.filter(F.value == ui.SAVE))
async def save_offer_form(
    callback: CallbackQuery, callback_answer: CallbackAnswer, desk: Desk
) -> None:
    data = await desk.state.get_data()
    try:
        offer = await save_offer(desk.session, data["draft"])
    except CatalogueImportError as error:  # shown with a Cancel button: the form stays open
        await show(callback, ui.with_cancel(ui.form_problems(error.errors)))
        return
    await desk.back_to_finding()
    callback_answer.text = _("Saved.")
    await desk.show_offer(callback, offer)
