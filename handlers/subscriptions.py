"""Subscribing from the offer card, /my, and the buttons under a reminder.

Callback data is never trusted: every press looks the session, offer, track or festival up
again and checks the resident's own subscription before changing anything. Every handler
works at the resident's `SubscriberDesk`, handed over by a `HandOver` middleware.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

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
from bot.callbacks.subscriptions import MyPage
from bot.callbacks.subscriptions import Rsvp
from bot.callbacks.subscriptions import Subscribe
from bot.callbacks.subscriptions import Unsubscribe
from bot.middlewares.hand_over import HandOver
from bot.middlewares.hand_over import from_parts
from bot.screens import subscriptions as subscriptions_screens
from bot.screens.offer_cards import OfferCards
from bot.screens.subscriptions import result_text
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import show
from bot.settings import Settings
from catalogue.checkin.progress import track_progress
from catalogue.models import Resident
from catalogue.models import SubscriptionKind
from catalogue.models import utc_now
from catalogue.queries import session_by_id
from catalogue.seats import Outcome
from catalogue.seats import confirm_going
from catalogue.seats import leave_session
from catalogue.subscriptions import SESSION
from catalogue.subscriptions import my_subscriptions
from catalogue.subscriptions import toggle
from handlers.browse import back_to_list
from handlers.browse import card_or_gone

KINDS = {
    "s": SESSION,
    "o": SubscriptionKind.OFFER,
    "t": SubscriptionKind.TRACK,
    "f": SubscriptionKind.FESTIVAL,
}


@dataclass(frozen=True)
class SubscriberDesk:
    """What a resident's subscribing goes through: the database session, the resident and how
    they read, and the city's settings; handed to every handler below as `desk`."""

    session: AsyncSession
    resident: Resident
    viewer: Viewer
    settings: Settings

    @classmethod
    def of(cls, data: dict[str, Any]) -> SubscriberDesk | None:
        return from_parts(cls, data, "session", "resident", "viewer", "settings")

    async def change(self, what: str, target: int, *, leave_only: bool = False) -> str:
        """Subscribe or unsubscribe (`leave_only`: only that); what to answer the press."""
        kind, resident = KINDS[what], self.resident
        result = await toggle(
            self.session,
            resident,
            kind,
            target,
            utc_now(),
            self.settings.city_zone,
            leave_only=leave_only,
        )
        return result_text(kind, result, resident, self.viewer.locale)

    async def my_subscriptions(self, page: int = 0) -> View:
        now, session, resident = utc_now(), self.session, self.resident
        mine = await my_subscriptions(session, resident, now, page)
        progress = await track_progress(session, resident, now)
        return subscriptions_screens.my_subscriptions(self.viewer, resident, mine, progress)


router = Router(name=__name__)
router.message.middleware(HandOver("desk", SubscriberDesk.of))
router.callback_query.middleware(HandOver("desk", SubscriberDesk.of))


@router.callback_query(Subscribe.filter(F.what.in_(KINDS)))
async def toggle_from_card(
    callback: CallbackQuery,
    callback_data: Subscribe,
    callback_answer: CallbackAnswer,
    desk: SubscriberDesk,
    offer_cards: OfferCards,
) -> None:
    callback_answer.text = await desk.change(callback_data.what, callback_data.target)
    back = back_to_list(callback_data.track_id, callback_data.page)
    card = await offer_cards.view(
        desk.session, desk.resident, desk.viewer, callback_data.offer_id, back
    )
    await show(callback, card_or_gone(card, back))


@router.message(Command("my"))
@router.callback_query(Navigate.filter(F.to == Screen.MY_SUBSCRIPTIONS))
async def show_my_subscriptions(event: Message | CallbackQuery, desk: SubscriberDesk) -> None:
    await show(event, await desk.my_subscriptions())


@router.callback_query(MyPage.filter())
async def my_subscriptions_page(
    callback: CallbackQuery, callback_data: MyPage, desk: SubscriberDesk
) -> None:
    await show(callback, await desk.my_subscriptions(callback_data.page))


@router.callback_query(Unsubscribe.filter(F.what.in_(KINDS)))
async def unsubscribe_from_my(
    callback: CallbackQuery,
    callback_data: Unsubscribe,
    callback_answer: CallbackAnswer,
    desk: SubscriberDesk,
) -> None:
    answer = await desk.change(callback_data.what, callback_data.target, leave_only=True)
    callback_answer.text = answer
    await show(callback, await desk.my_subscriptions(callback_data.page))


@router.callback_query(Rsvp.filter(F.going == 1))
async def going(
    callback: CallbackQuery,
    callback_data: Rsvp,
    callback_answer: CallbackAnswer,
    desk: SubscriberDesk,
) -> None:
    attendance = await confirm_going(
        desk.session, desk.resident, callback_data.session_id, utc_now()
    )
    if attendance is None:
        callback_answer.text = _("You have no seat for this session any more.")
        return
    callback_answer.text = _("Great, see you there!")


@router.callback_query(Rsvp.filter(F.going == 0))
async def cannot_come(
    callback: CallbackQuery,
    callback_data: Rsvp,
    callback_answer: CallbackAnswer,
    desk: SubscriberDesk,
) -> None:
    city_zone = desk.settings.city_zone
    result = await leave_session(
        desk.session, desk.resident, callback_data.session_id, utc_now(), city_zone
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
    desk: SubscriberDesk,
) -> None:
    viewer = desk.viewer
    details = await session_by_id(desk.session, callback_data.session_id)
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
