"""/broadcast: compose → audience (with its count) → preview as residents see it → now or at a
date and time → confirm; then Pause, Resume and Cancel under the progress message.

Drawn in docs/broadcast.md. Sending itself is `scheduler.broadcast_runner` and the outbox.
Content or a time the catalogue refuses (`BroadcastError`, `FormError`) is explained by the
error router (handlers/errors.py), and the form stays at its step.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from aiogram import Bot
from aiogram import F
from aiogram import Router
from aiogram.filters import Command
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.types import LinkPreviewOptions
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot import formatting
from bot.callbacks.broadcast import BroadcastAction
from bot.callbacks.broadcast import BroadcastControl
from bot.callbacks.broadcast import BroadcastPage
from bot.callbacks.broadcast import BroadcastPick
from bot.filters import TYPED
from bot.filters import Magic
from bot.middlewares.desks import WorkDesk
from bot.permissions import protect
from bot.screens import broadcast as ui
from bot.screens.view import notice
from bot.screens.view import show
from bot.settings import SUPPORTED_LOCALES
from bot.states import BroadcastForm
from catalogue.models import translated
from catalogue.models import utc_now
from catalogue.outbox.broadcasts import SESSION_AUDIENCES
from catalogue.outbox.broadcasts import Audience
from catalogue.outbox.broadcasts import AudienceKind
from catalogue.outbox.broadcasts import BroadcastState
from catalogue.outbox.broadcasts import audience_target
from catalogue.outbox.broadcasts import broadcast_by_id
from catalogue.outbox.broadcasts import cancel
from catalogue.outbox.broadcasts import check_content
from catalogue.outbox.broadcasts import check_may_change
from catalogue.outbox.broadcasts import count_recipients
from catalogue.outbox.broadcasts import create_broadcast
from catalogue.outbox.broadcasts import pause
from catalogue.outbox.broadcasts import progress
from catalogue.outbox.broadcasts import resume
from catalogue.outbox.broadcasts import sessions_for_audience
from catalogue.programme import Choice
from catalogue.programme import ChoicesPage
from catalogue.programme import category_choices
from catalogue.programme import clean_typed
from catalogue.programme import festival_choices_page
from catalogue.programme import find_offers
from catalogue.programme import parse_start
from catalogue.programme import track_choices
from catalogue.team import Permission
from catalogue.team import Role
from scheduler.broadcast_gate import BroadcastGate

router = protect(Router(name=__name__), Permission.BROADCAST)
# Every handler below may take the organiser's `desk`: their form, the database session, the
# city's settings and how they read.
WorkDesk.hand_over(router)

FORM = StateFilter(BroadcastForm)
Event = Message | CallbackQuery


def pick(value: str):
    return BroadcastPick.filter(F.value == value)


@router.message(Command("broadcast"))
async def start_broadcast(message: Message, state: FSMContext) -> None:
    await state.set_state(BroadcastForm.compose)
    # One key per form: a double press of Confirm cannot make two broadcasts.
    await state.set_data({"request_key": uuid.uuid4().hex})
    await show(message, ui.ask_compose())


# ---------------------------------------------------------------- compose


@router.message(
    StateFilter(BroadcastForm.compose), Magic(F.text & ~F.text.startswith("/") | F.photo)
)
async def composed(message: Message, desk: WorkDesk) -> None:
    photo = message.photo[-1].file_id if message.photo else None
    text = clean_typed(message.html_text) if (message.text or message.caption) else ""
    check_content(text, photo)
    await desk.state.update_data(text=text, photo=photo)
    data = await desk.state.get_data()
    if data.get("audience"):
        await _summary(message, desk)
        return
    await desk.state.set_state(BroadcastForm.audience)
    await show(message, ui.ask_audience())


@router.callback_query(FORM, pick(ui.REWRITE))
async def rewrite(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(BroadcastForm.compose)
    await show(callback, ui.ask_compose())


# ---------------------------------------------------------------- audience


@router.callback_query(FORM, pick(ui.AUDIENCE))
async def change_audience(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(BroadcastForm.audience)
    await state.update_data(audience=None)
    await show(callback, ui.ask_audience())


@router.callback_query(
    StateFilter(BroadcastForm.audience),
    BroadcastPick.filter(F.value.in_([kind.value for kind in AudienceKind])),
)
async def audience_kind(
    callback: CallbackQuery, callback_data: BroadcastPick, desk: WorkDesk
) -> None:
    kind = AudienceKind(callback_data.value)
    if kind is AudienceKind.EVERYONE:
        await _chosen(callback, desk, Audience(kind), _("everyone"))
        return
    await desk.state.set_state(BroadcastForm.audience_value)
    await desk.state.update_data(kind=kind.value, offer_id=None)
    listed = await _choices(desk, kind, 0)
    await show(callback, ui.ask_audience_value(kind, listed.choices, page=0, pages=listed.pages))


async def _choices(desk: WorkDesk, kind: AudienceKind, page: int) -> ChoicesPage:
    """Page `page` of what the organiser chooses from for `kind` (tracks and festivals can be
    many; categories and languages are few: one page)."""
    locale = desk.viewer.locale
    if kind is AudienceKind.CATEGORY:
        return ChoicesPage(await category_choices(desk.session, locale))
    if kind is AudienceKind.TRACK:
        return await track_choices(desk.session, locale, page)
    if kind is AudienceKind.FESTIVAL:
        today = datetime.now(desk.settings.city_zone).date()
        return await festival_choices_page(desk.session, locale, today, page)
    if kind is AudienceKind.LANGUAGE:
        return ChoicesPage(
            [
                Choice(index, formatting.language_name(code))
                for index, code in enumerate(SUPPORTED_LOCALES)
            ]
        )
    return ChoicesPage([])


async def _offer_sessions(
    event: Event, desk: WorkDesk, kind: AudienceKind, offer_id: int, page: int
) -> None:
    """Page `page` of the sessions of the chosen offer whose seat holders or people checked in
    the organiser may address."""
    sessions, window = await sessions_for_audience(desk.session, kind, offer_id, utc_now(), page)
    viewer = desk.viewer
    choices = [
        Choice(item.id, formatting.short_when(item.starts_at, viewer.zone, viewer.locale))
        for item in sessions
    ]
    view = ui.ask_audience_value(
        kind, choices, offer_chosen=True, page=window.page, pages=window.pages
    )
    await show(event, view)


@router.callback_query(StateFilter(BroadcastForm.audience_value), BroadcastPage.filter())
async def audience_page(
    callback: CallbackQuery,
    callback_data: BroadcastPage,
    callback_answer: CallbackAnswer,
    desk: WorkDesk,
) -> None:
    """‹ n / m › under the tracks, the festivals or the sessions of the chosen offer."""
    data = await desk.state.get_data()
    # Once an audience is chosen its summary replaced the list: a page of it is out of date.
    kind = AudienceKind(data["kind"]) if data.get("kind") and not data.get("audience") else None
    page = callback_data.page
    if kind in SESSION_AUDIENCES and data.get("offer_id") is not None:
        await _offer_sessions(callback, desk, kind, data["offer_id"], page)
    elif kind in (AudienceKind.TRACK, AudienceKind.FESTIVAL):
        listed = await _choices(desk, kind, page)
        view = ui.ask_audience_value(kind, listed.choices, page=listed.page, pages=listed.pages)
        await show(callback, view)
    else:  # the list this button paged is no longer on the screen
        callback_answer.text = _("This button is out of date.")


@router.message(StateFilter(BroadcastForm.audience_value), TYPED)
async def find_offer_for_audience(message: Message, desk: WorkDesk) -> None:
    data = await desk.state.get_data()
    kind = AudienceKind(data["kind"])
    if kind not in (AudienceKind.OFFER, *SESSION_AUDIENCES):
        await message.answer(_("Please choose with the buttons, or /cancel."))
        return
    await desk.state.update_data(offer_id=None)
    choices = await find_offers(desk.session, (message.text or "")[:100], desk.viewer.locale)
    await show(message, ui.ask_audience_value(kind, choices))


@router.callback_query(
    StateFilter(BroadcastForm.audience_value), BroadcastPick.filter(F.value.isdigit())
)
async def audience_value(
    callback: CallbackQuery,
    callback_data: BroadcastPick,
    callback_answer: CallbackAnswer,
    desk: WorkDesk,
) -> None:
    data = await desk.state.get_data()
    kind = AudienceKind(data["kind"])
    chosen = int(callback_data.value)
    if kind in SESSION_AUDIENCES and data.get("offer_id") is None:
        # Seat holders or people checked in: first the offer, then one of its sessions.
        if await audience_target(desk.session, AudienceKind.OFFER, chosen) is not None:
            await desk.state.update_data(offer_id=chosen)
            await _offer_sessions(callback, desk, kind, chosen, 0)
            return
        named = None
    else:
        named = await _named_audience(desk, kind, chosen)
    if named is None:
        callback_answer.text = _("This choice no longer exists.")
        await desk.state.set_state(BroadcastForm.audience)
        await show(callback, ui.ask_audience())
        return
    audience, label = named
    await _chosen(callback, desk, audience, label)


async def _named_audience(
    desk: WorkDesk, kind: AudienceKind, chosen: int
) -> tuple[Audience, str] | None:
    """The audience the organiser chose and the words that name it; None if it is gone."""
    if kind is AudienceKind.LANGUAGE:
        if chosen >= len(SUPPORTED_LOCALES):
            return None
        code = SUPPORTED_LOCALES[chosen]
        return Audience(kind, language=code), formatting.language_name(code)
    target = await audience_target(desk.session, kind, chosen)
    if target is None:
        return None
    viewer = desk.viewer
    title = translated(target.title, viewer.locale)
    if kind in (AudienceKind.CATEGORY, AudienceKind.TRACK):
        label = title
    elif kind in (AudienceKind.FESTIVAL, AudienceKind.OFFER):
        label = _("followers of {title}").format(title=title)
    else:
        assert target.starts_at is not None  # a session's
        when = formatting.short_when(target.starts_at, viewer.zone, viewer.locale)
        if kind is AudienceKind.CHECKED_IN:
            label = _("people checked in at {title}, {when}").format(title=title, when=when)
        else:
            label = _("seat holders of {title}, {when}").format(title=title, when=when)
    return Audience(kind, chosen), label


async def _chosen(event: Event, desk: WorkDesk, audience: Audience, label: str) -> None:
    await desk.state.update_data(audience=audience.as_json(), label=label)
    await _summary(event, desk)


async def _summary(event: Event, desk: WorkDesk) -> None:
    data = await desk.state.get_data()
    count = await count_recipients(desk.session, Audience.from_json(data["audience"]))
    await desk.state.set_state(BroadcastForm.audience_value)
    await show(event, ui.audience_summary(data["label"], count, desk.viewer.locale))


# ---------------------------------------------------------------- preview, when, confirm


@router.callback_query(FORM, pick(ui.PREVIEW))
async def preview(callback: CallbackQuery, bot: Bot, state: FSMContext) -> None:
    data = await state.get_data()
    if not data.get("audience") or not (data.get("text") or data.get("photo")):
        await state.set_state(BroadcastForm.compose)
        await show(callback, ui.ask_compose())
        return
    # Exactly what residents will get: same text, same photo, same parse mode, no buttons.
    chat_id = callback.from_user.id
    if data.get("photo"):
        await bot.send_photo(chat_id, data["photo"], caption=data["text"] or None)
    else:  # residents get it without a link preview (scheduler/delivery.py): so does this
        no_preview = LinkPreviewOptions(is_disabled=True)
        await bot.send_message(chat_id, data["text"], link_preview_options=no_preview)
    await state.set_state(BroadcastForm.when)
    view = ui.after_preview()
    await bot.send_message(chat_id, view.text, reply_markup=view.markup)


@router.callback_query(StateFilter(BroadcastForm.when), pick(ui.NOW))
async def send_now(callback: CallbackQuery, desk: WorkDesk) -> None:
    await desk.state.update_data(at=None)
    await _confirm(callback, desk, None)


@router.callback_query(StateFilter(BroadcastForm.when), pick(ui.SCHEDULE))
async def ask_when(callback: CallbackQuery, desk: WorkDesk) -> None:
    await desk.state.set_state(BroadcastForm.schedule_at)
    await show(callback, ui.ask_schedule(desk.viewer))


@router.message(StateFilter(BroadcastForm.schedule_at), TYPED)
async def got_time(message: Message, desk: WorkDesk) -> None:
    at = parse_start(message.text or "", desk.viewer.zone, utc_now())
    await desk.state.update_data(at=at.isoformat())
    await _confirm(message, desk, at)


async def _confirm(event: Event, desk: WorkDesk, at: datetime | None) -> None:
    data = await desk.state.get_data()
    count = await count_recipients(desk.session, Audience.from_json(data["audience"]))
    await desk.state.set_state(BroadcastForm.confirm)
    paid = desk.settings.allow_paid_broadcast
    await show(event, ui.confirm(desk.viewer, data["label"], count, at, paid))


@router.callback_query(StateFilter(BroadcastForm.confirm), pick(ui.CONFIRM))
async def confirmed(
    callback: CallbackQuery, callback_answer: CallbackAnswer, desk: WorkDesk
) -> None:
    data = await desk.state.get_data()
    await desk.state.clear()
    at = datetime.fromisoformat(data["at"]) if data.get("at") else None
    message_id = callback.message.message_id if isinstance(callback.message, Message) else None
    broadcast = await create_broadcast(
        desk.session,
        created_by=callback.from_user.id,
        text=data.get("text") or "",
        photo_file_id=data.get("photo"),
        audience=Audience.from_json(data["audience"]),
        due_at=at,
        paid=desk.settings.allow_paid_broadcast,
        progress_chat_id=callback.from_user.id,
        progress_message_id=message_id,
        request_key=data.get("request_key"),
    )
    if broadcast.state is BroadcastState.SCHEDULED:
        count = await count_recipients(desk.session, broadcast.audience)
        callback_answer.text = _("Scheduled.")
        await show(callback, ui.scheduled(desk.viewer, broadcast, count))
        return
    callback_answer.text = _("Sending has started.")
    figures = await progress(desk.session, broadcast)
    await show(callback, ui.progress(broadcast, figures, None, desk.viewer.locale))


# ---------------------------------------------------------------- pause, resume, cancel


@router.callback_query(BroadcastControl.filter())
async def control(
    callback: CallbackQuery,
    callback_data: BroadcastControl,
    callback_answer: CallbackAnswer,
    desk: WorkDesk,
    role: Role,
    broadcast_gate: BroadcastGate,
) -> None:
    """Pause, Resume or Cancel. Pause and Cancel hold before the press is answered: nothing
    more of the broadcast reaches Telegram, and what was in flight is counted as sent."""
    session = desk.session
    broadcast = await broadcast_by_id(session, callback_data.broadcast_id)
    if broadcast is None:
        callback_answer.text = _("This broadcast no longer exists.")
        return
    check_may_change(broadcast, callback.from_user.id, administrator=role is Role.ADMIN)
    action = callback_data.action
    closing = action is not BroadcastAction.RESUME
    async with broadcast_gate.control(broadcast.id, closing=closing):
        if action is BroadcastAction.PAUSE:
            changed = await pause(session, broadcast.id)
            done = _("Paused: nothing more goes out until you press Resume.")
        elif action is BroadcastAction.RESUME:
            changed = await resume(session, broadcast.id)
            if changed:
                broadcast_gate.open(broadcast.id)
            done = _("Sending again.")
        else:
            changed = await cancel(session, broadcast.id)
            done = _("Cancelled: nothing more goes out.")
        callback_answer.text = done if changed else _("This broadcast has already moved on.")
        if broadcast.started_at is None:  # scheduled: only Cancel is offered
            if broadcast.state is BroadcastState.CANCELLED:
                await show(callback, notice(_("The scheduled broadcast is cancelled.")))
            return
        figures = await progress(session, broadcast)
        await show(callback, ui.progress(broadcast, figures, None, desk.viewer.locale))


# ---------------------------------------------------------------- leaving and the unexpected


@router.callback_query(FORM, pick(ui.DISCARD))
async def discard(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await show(callback, notice(_("The announcement was not sent.")))


# In the form only: after /cancel there is no question to point to (issue 15, item 5).
@router.callback_query(FORM, BroadcastPick.filter())
async def stale_pick(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = _(
        "This button belongs to an earlier step. Please answer the last question."
    )


@router.message(FORM, Magic(~F.text.startswith("/")))  # another command leaves the form
async def unexpected(message: Message, state: FSMContext) -> None:
    step = await state.get_state()
    hints: dict[str | None, str] = {
        BroadcastForm.compose.state: _("Please send text or a photo, or /cancel."),
        BroadcastForm.schedule_at.state: _(
            "Send the date and time, like 2026-06-01 09:00, or /cancel."
        ),
    }
    await message.answer(hints.get(step, _("Please use the buttons, or /cancel.")))
