"""What the programme's dialogues share: the `Desk` every one of their handlers works at, the
programme's start screen, one offer's screen, the buttons about something that may have gone
meanwhile (`button_about`; `offer_button` for an offer), and the steps that ask when a session
starts and ends (the session form and a reschedule ask the same way)."""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Generic
from typing import TypeVar

from aiogram import F
from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks import OfferButton
from bot.callbacks.programme import FormPick
from bot.filters import TYPED
from bot.middlewares.desks import WorkDesk
from bot.screens import programme as ui
from bot.screens.view import show
from bot.states import ProgrammeStates
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import utc_now
from catalogue.programme import offer_by_id
from catalogue.programme import page_of_session
from catalogue.programme import parse_end
from catalogue.programme import parse_start
from catalogue.programme import programme_counts
from catalogue.programme import upcoming_sessions
from catalogue.text_policy import bounded_id

Event = Message | CallbackQuery
# A pressed choice that names a row or a number: only one a database column holds (a forged
# "²" or a 20-digit number matches no handler and meets the stale-button answer).
PICKED_NUMBER = FormPick.filter(F.value.func(bounded_id))


class Desk(WorkDesk):
    """What an organiser's programme work goes through: their form (FSM state and data), the
    database session, the city's settings and how they read (language, time zone). Handed to
    every handler of the programme's routers as `desk` (a `HandOver` middleware, see
    handlers/programme/__init__.py), so the dialogues pass one thing around instead of four."""

    async def back_to_finding(self) -> None:
        """Leave any form: what the organiser types next looks an offer up."""
        await self.state.set_state(ProgrammeStates.find)
        await self.state.set_data({})

    async def show_home(self, event: Event) -> None:
        offers, sessions = await programme_counts(self.session, utc_now())
        await show(event, ui.programme_home(offers, sessions))

    async def show_offer(self, event: Event, offer: Offer, page: int = 0) -> None:
        sessions = await upcoming_sessions(self.session, offer.id, utc_now(), page)
        await show(event, ui.offer_manage(self.viewer, offer, sessions))

    async def page_of(self, offer_session: OfferSession) -> int:
        """The page of its offer's screen that lists the session."""
        return await page_of_session(
            self.session, offer_session.offer_id, offer_session.id, utc_now()
        )

    async def subject_gone(self, event: Event, why: str) -> None:
        """What the open form was about has left the programme: say so, with Cancel; what the
        organiser types next looks an offer up."""
        await self.state.set_state(ProgrammeStates.find)
        await show(event, ui.with_cancel(why))

    async def offer_gone(self, callback: CallbackQuery, answer: CallbackAnswer) -> None:
        answer.text = _("This offer is no longer in the programme.")
        await self.show_home(callback)

    async def offer_or_gone(
        self, callback: CallbackQuery, answer: CallbackAnswer, offer_id: int | None
    ) -> Offer | None:
        """The offer a button names; None, and the programme's start screen with a word why,
        when it is no longer in the programme."""
        offer = await offer_by_id(self.session, offer_id)
        if offer is None:
            await self.offer_gone(callback, answer)
        return offer


Pressed = TypeVar("Pressed", bound=CallbackData)
OfferButtonPressed = TypeVar("OfferButtonPressed", bound=OfferButton)
Found = TypeVar("Found")


@dataclass(frozen=True)
class Press(Generic[Pressed, Found]):
    """A press on a button about something still there to work on, with what it names."""

    callback: CallbackQuery
    data: Pressed
    answer: CallbackAnswer
    desk: Desk
    found: Found


Find = Callable[[CallbackQuery, Pressed, CallbackAnswer, Desk], Awaitable[Found | None]]
PressHandler = Callable[[Press[Pressed, Found]], Awaitable[None]]


def button_about(
    router: Router, button: type[Pressed], find: Find[Pressed, Found]
) -> Callable[[PressHandler[Pressed, Found]], PressHandler[Pressed, Found]]:
    """Register on `router` the decorated handler of `button`, called with what `find` finds
    for the press. When it finds nothing it has told the organiser why, and that is all."""

    def register(handler: PressHandler[Pressed, Found]) -> PressHandler[Pressed, Found]:
        async def pressed(
            callback: CallbackQuery,
            callback_data: Pressed,
            callback_answer: CallbackAnswer,
            desk: Desk,
        ) -> None:
            found = await find(callback, callback_data, callback_answer, desk)
            if found is not None:
                await handler(Press(callback, callback_data, callback_answer, desk, found))

        pressed.__name__ = handler.__name__
        router.callback_query.register(pressed, button.filter())
        return handler

    return register


async def _offer_still_there(
    callback: CallbackQuery, data: OfferButton, answer: CallbackAnswer, desk: Desk
) -> Offer | None:
    return await desk.offer_or_gone(callback, answer, data.offer_id)


def offer_button(
    router: Router, button: type[OfferButtonPressed]
) -> Callable[[PressHandler[OfferButtonPressed, Offer]], PressHandler[OfferButtonPressed, Offer]]:
    """`button_about` the offer the button names. A press on an offer no longer in the
    programme gets the programme's start screen with a word why (`Desk.offer_or_gone`)."""
    return button_about(router, button, _offer_still_there)


# ---------------------------------------------------------------- when a session starts and ends

NextStep = Callable[[Event, Desk], Awaitable[None]]


def ask_when(router: Router, starts: State, ends: State, then: NextStep) -> None:
    """Register on `router` the steps that ask when a session starts (`starts`) and ends
    (`ends`: a time or a length typed, or a length button); `then` follows once both are kept.
    A start or end that cannot be read, or a start that has passed, raises FormError, which the
    error router explains (handlers/errors.py)."""

    async def got_start(message: Message, desk: Desk) -> None:
        start = parse_start(message.text or "", desk.viewer.zone, utc_now())
        await desk.state.update_data(starts_at=start.isoformat())
        await desk.state.set_state(ends)
        data = await desk.state.get_data()
        await show(message, ui.ask_ends(data.get("length_minutes")))

    async def got_end(message: Message, desk: Desk) -> None:
        data = await desk.state.get_data()
        start = datetime.fromisoformat(data["starts_at"])
        end = parse_end(message.text or "", start, desk.viewer.zone)
        await desk.state.update_data(ends_at=end.isoformat())
        await then(message, desk)

    async def picked_length(callback: CallbackQuery, callback_data: FormPick, desk: Desk) -> None:
        minutes = bounded_id(callback_data.value) or 0
        if not 0 < minutes <= 24 * 60:  # no button offers it
            await callback.answer(ui.form_error("end"))
            return
        data = await desk.state.get_data()
        end = datetime.fromisoformat(data["starts_at"]) + timedelta(minutes=minutes)
        await desk.state.update_data(ends_at=end.isoformat())
        await then(callback, desk)

    router.message.register(got_start, StateFilter(starts), TYPED)
    router.message.register(got_end, StateFilter(ends), TYPED)
    router.callback_query.register(picked_length, StateFilter(ends), PICKED_NUMBER)
