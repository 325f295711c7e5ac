"""Subscribing from the offer card, /my, and the buttons under a reminder.

Callback data is never trusted: every press looks the session, offer, track or festival up
again and checks the resident's own subscription before changing anything.
"""

from __future__ import annotations

import contextlib

from aiogram import F
from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import BufferedInputFile
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar_file import file_name
from bot.calendar_file import session_calendar
from bot.callbacks.browse import Navigate
from bot.callbacks.browse import Screen
from bot.callbacks.subscriptions import CalendarFile
from bot.callbacks.subscriptions import Rsvp
from bot.callbacks.subscriptions import Subscribe
from bot.callbacks.subscriptions import Unsubscribe
from bot.screens import subscriptions as subscriptions_screens
from bot.screens.offer_cards import OfferCards
from bot.screens.preferences import offsets_text
from bot.screens.view import Viewer
from bot.screens.view import show
from bot.settings import Settings
from catalogue.checkin.progress import track_progress
from catalogue.models import Resident
from catalogue.models import SubscriptionKind
from catalogue.models import utc_now
from catalogue.queries import session_by_id
from catalogue.seats import Outcome
from catalogue.seats import Result
from catalogue.seats import confirm_going
from catalogue.seats import leave_session
from catalogue.subscriptions import SESSION
from catalogue.subscriptions import my_subscriptions
from catalogue.subscriptions import toggle
from catalogue.subscriptions import unsubscribe
from handlers.browse import back_to_list
from handlers.browse import card_or_gone

router = Router(name=__name__)

KINDS = {
    "s": SESSION,
    "o": SubscriptionKind.OFFER,
    "t": SubscriptionKind.TRACK,
    "f": SubscriptionKind.FESTIVAL,
}


def result_text(kind: str, result: Result, resident: Resident, locale: str) -> str:
    outcome = result.outcome
    if outcome == Outcome.GOING:
        if not resident.reminders_on:
            return _("Subscribed. Reminders are off: turn them on in /settings.")
        offsets = offsets_text(resident.reminder_offsets, locale)
        return _("Subscribed: I will remind you {offsets} before.").format(offsets=offsets)
    if outcome == Outcome.WAITLISTED:
        return _("The session is full: you are number {position} on the waitlist.").format(
            position=result.position
        )
    if outcome == Outcome.FOLLOWING:
        if kind == SubscriptionKind.OFFER:
            return _(
                "Following every session: {going} with a seat, {waitlisted} on a waitlist."
            ).format(going=result.going, waitlisted=result.waitlisted)
        return _("Following: I will tell you about new offers in it.")
    return {
        Outcome.ALREADY: _("You are already subscribed."),
        Outcome.STARTED: _("This session has already begun."),
        Outcome.CANCELLED: _("This session has been cancelled."),
        Outcome.GONE: _("This is no longer in the programme."),
        Outcome.LEFT: _("Unsubscribed."),
        Outcome.NOT_SUBSCRIBED: _("You were not subscribed."),
    }[outcome]


@router.callback_query(Subscribe.filter(F.what.in_(KINDS)))
async def toggle_from_card(
    callback: CallbackQuery,
    callback_data: Subscribe,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    offer_cards: OfferCards,
    resident: Resident,
    viewer: Viewer,
    settings: Settings,
) -> None:
    kind = KINDS[callback_data.what]
    result = await toggle(
        session, resident, kind, callback_data.target, utc_now(), settings.city_zone
    )
    callback_answer.text = result_text(kind, result, resident, viewer.locale)
    back = back_to_list(callback_data.track_id, callback_data.page)
    card = await offer_cards.view(session, resident, viewer, callback_data.offer_id, back)
    await show(callback, card_or_gone(card, back))


@router.message(Command("my"))
@router.callback_query(Navigate.filter(F.to == Screen.MY_SUBSCRIPTIONS))
async def show_my_subscriptions(
    event: Message | CallbackQuery, session: AsyncSession, resident: Resident, viewer: Viewer
) -> None:
    now = utc_now()
    mine = await my_subscriptions(session, resident, now)
    progress = await track_progress(session, resident, now)
    await show(event, subscriptions_screens.my_subscriptions(viewer, resident, mine, progress))


@router.callback_query(Unsubscribe.filter(F.what.in_(KINDS)))
async def unsubscribe_from_my(
    callback: CallbackQuery,
    callback_data: Unsubscribe,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
    settings: Settings,
) -> None:
    kind = KINDS[callback_data.what]
    now = utc_now()
    result = await unsubscribe(
        session, resident, kind, callback_data.target, now, settings.city_zone
    )
    callback_answer.text = result_text(kind, result, resident, viewer.locale)
    mine = await my_subscriptions(session, resident, now)
    progress = await track_progress(session, resident, now)
    await show(callback, subscriptions_screens.my_subscriptions(viewer, resident, mine, progress))


@router.callback_query(Rsvp.filter(F.going == 1))
async def going(
    callback: CallbackQuery,
    callback_data: Rsvp,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    resident: Resident,
) -> None:
    attendance = await confirm_going(session, resident, callback_data.session_id, utc_now())
    if attendance is None:
        callback_answer.text = _("You have no seat for this session any more.")
        return
    callback_answer.text = _("Great, see you there!")


@router.callback_query(Rsvp.filter(F.going == 0))
async def cannot_come(
    callback: CallbackQuery,
    callback_data: Rsvp,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    resident: Resident,
    settings: Settings,
) -> None:
    result = await leave_session(
        session, resident, callback_data.session_id, utc_now(), settings.city_zone
    )
    if result.outcome != Outcome.LEFT:
        callback_answer.text = _("You have no seat for this session any more.")
        return
    callback_answer.text = _("Noted: your seat goes to the next in line. No more reminders.")
    if isinstance(callback.message, Message):
        # A message too old to edit keeps its buttons: the answer above says it all.
        with contextlib.suppress(TelegramBadRequest):
            await callback.message.edit_reply_markup(reply_markup=None)


@router.callback_query(CalendarFile.filter())
async def calendar_file(
    callback: CallbackQuery,
    callback_data: CalendarFile,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    viewer: Viewer,
) -> None:
    details = await session_by_id(session, callback_data.session_id)
    if details is None:
        callback_answer.text = _("This session is no longer in the programme.")
        return
    offer_session, offer, venue = details
    data = session_calendar(offer, offer_session, venue, viewer.locale)
    caption = "📅 " + _("{title}: open the file to add it to your calendar.").format(
        title=viewer.t(offer.title)
    )
    if callback.bot is not None:
        await callback.bot.send_document(
            callback.from_user.id,
            BufferedInputFile(data, filename=file_name(offer)),
            caption=caption,
        )
    callback_answer.text = _("Calendar file sent.")
