"""Volunteers at the door: /checkin, /attend, /count, /undo and the self check-in QR.

The whole router needs the check-in permission (volunteers, organisers, administrators).
After /checkin and a session, what the volunteer types are pass codes (`CheckInStates.codes`)
until they press Finish or /cancel; every message of codes gets one answer per code. The
dialogue is drawn in docs/check-in.md.

A session that is not open for check-in, or input the door refuses, raises `CheckInError`; the
error router (handlers/errors.py) tells the volunteer why, and nothing of the update is kept.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot
from aiogram import Router
from aiogram.filters import Command
from aiogram.filters import CommandObject
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.deep_linking import create_start_link
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.checkin_volunteer import CheckInSession
from bot.callbacks.checkin_volunteer import CheckInSessions
from bot.callbacks.checkin_volunteer import CheckInVenue
from bot.callbacks.checkin_volunteer import SelfCheckInQr
from bot.callbacks.checkin_volunteer import StopCheckIn
from bot.filters import NOT_TEXT
from bot.filters import TYPED
from bot.middlewares.desks import WorkDesk
from bot.permissions import protect
from bot.screens import checkin_volunteer as checkin_volunteer_screens
from bot.screens.checkin_resident import qr_png
from bot.screens.checkin_volunteer import answers_messages
from bot.screens.checkin_volunteer import attend_usage
from bot.screens.checkin_volunteer import check_in_finished
from bot.screens.checkin_volunteer import check_in_mode
from bot.screens.checkin_volunteer import codes_expected
from bot.screens.checkin_volunteer import count_usage
from bot.screens.checkin_volunteer import headcount_recorded
from bot.screens.checkin_volunteer import self_check_in_caption
from bot.screens.checkin_volunteer import undone_text
from bot.screens.view import notice
from bot.screens.view import show
from bot.states import CheckInStates
from catalogue.checkin.door import CheckInError
from catalogue.checkin.door import Problem
from catalogue.checkin.door import check_in_codes
from catalogue.checkin.door import record_headcount
from catalogue.checkin.door import undo_last
from catalogue.checkin.passes import split_codes
from catalogue.checkin.self_checkin import open_self_check_in
from catalogue.checkin.today import TodaySession
from catalogue.checkin.today import counts
from catalogue.checkin.today import matching
from catalogue.checkin.today import open_session
from catalogue.checkin.today import session_facts
from catalogue.checkin.today import sessions_today
from catalogue.learners.follow_up import follow_up_check_ins
from catalogue.models import OfferSession
from catalogue.models import utc_now
from catalogue.team import Permission
from handlers.checkin_resident import CHECK_IN_SESSION

router = protect(Router(name=__name__), Permission.CHECK_IN)
QR_FILE = "self-check-in.png"


class DoorDesk(WorkDesk):
    """What a volunteer at the door works through: their form (FSM state: the session being
    checked in), the database session, the city's settings (its time zone) and how they read.
    Handed to every handler below as `desk` by a `HandOver` middleware."""

    async def open(self, reference: str | int, now: datetime) -> OfferSession:
        """The session a volunteer named (its number or `#number`) if it is open for check-in
        now, in the city's time zone; a `CheckInError` says why not."""
        return await open_session(self.session, reference, now, self.settings.city_zone)

    async def today(self, venue_id: int | None = None) -> list[TodaySession]:
        return await sessions_today(
            self.session, utc_now(), self.settings.city_zone, venue_id=venue_id
        )

    async def begin(self, event: Message | CallbackQuery, offer_session: OfferSession) -> None:
        """Start checking in at `offer_session`: what the volunteer types next is codes."""
        await self.state.set_state(CheckInStates.codes)
        await self.state.update_data({CHECK_IN_SESSION: offer_session.id})
        facts = await session_facts(self.session, offer_session.id)
        assert facts is not None
        view = check_in_mode(self.viewer, facts, await counts(self.session, offer_session.id))
        await show(event, view)


DoorDesk.hand_over(router)


@router.message(Command("checkin"))
async def choose_session(message: Message, command: CommandObject, desk: DoorDesk) -> None:
    words = (command.args or "").strip()
    number = words.removeprefix("#")
    if number.isascii() and number.isdigit():
        await desk.begin(message, await desk.open(words, utc_now()))
        return
    items = await desk.today()
    if words:
        items = matching(items, words[:100])
        if len(items) == 1:
            await desk.begin(message, items[0].session)
            return
    await show(
        message,
        checkin_volunteer_screens.choose_session(desk.viewer, items, words[:100], not words),
    )


@router.callback_query(CheckInSessions.filter())
async def all_sessions(callback: CallbackQuery, desk: DoorDesk) -> None:
    items = await desk.today()
    await show(callback, checkin_volunteer_screens.choose_session(desk.viewer, items))


@router.callback_query(CheckInVenue.filter())
async def sessions_at_venue(
    callback: CallbackQuery, callback_data: CheckInVenue, desk: DoorDesk
) -> None:
    items = await desk.today(venue_id=callback_data.venue_id)
    view = checkin_volunteer_screens.choose_session(desk.viewer, items, by_venue=False)
    await show(callback, view)


@router.callback_query(CheckInSession.filter())
async def start_session(
    callback: CallbackQuery, callback_data: CheckInSession, desk: DoorDesk
) -> None:
    await desk.begin(callback, await desk.open(callback_data.session_id, utc_now()))


@router.callback_query(StopCheckIn.filter())
async def finish(callback: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() == CheckInStates.codes.state:
        await state.set_state(None)
    await show(callback, notice(check_in_finished()))


@router.callback_query(SelfCheckInQr.filter())
async def self_check_in_qr(
    callback: CallbackQuery,
    callback_data: SelfCheckInQr,
    bot: Bot,
    desk: DoorDesk,
) -> None:
    now = utc_now()
    offer_session = await desk.open(callback_data.session_id, now)
    opened = await open_self_check_in(desk.session, offer_session, callback.from_user.id, now)
    facts = await session_facts(desk.session, offer_session.id)
    assert facts is not None
    link = await create_start_link(bot, opened.payload)
    view = self_check_in_caption(desk.viewer, facts, opened.expires_at)
    picture = BufferedInputFile(qr_png(link), filename=QR_FILE)
    await bot.send_photo(
        callback.from_user.id, picture, caption=view.text, reply_markup=view.markup
    )


async def _check_codes(
    message: Message, session: AsyncSession, offer_session: OfferSession, typed: list[str]
) -> None:
    """Check the codes in, and answer each of them."""
    now = utc_now()
    batch = await check_in_codes(session, offer_session, typed, message.from_user.id, now)
    await follow_up_check_ins(session, batch.newcomers, now, offer_id=offer_session.offer_id)
    for text in answers_messages(batch, offer_session.id):
        await message.answer(text)


@router.message(Command("attend"))
async def attend(message: Message, command: CommandObject, desk: DoorDesk) -> None:
    parts = (command.args or "").split(maxsplit=1)
    if len(parts) < 2:
        await message.answer(attend_usage())
        return
    offer_session = await desk.open(parts[0], utc_now())
    await _check_codes(message, desk.session, offer_session, split_codes(parts[1]))


@router.message(Command("count"))
async def headcount(message: Message, command: CommandObject, desk: DoorDesk) -> None:
    parts = (command.args or "").split()
    current = (await desk.state.get_data()).get(CHECK_IN_SESSION)
    checking_in = await desk.state.get_state() == CheckInStates.codes.state and current
    if len(parts) == 2:
        reference, number = parts
    elif len(parts) == 1 and checking_in:
        reference, number = int(current), parts[0]
    else:
        await message.answer(count_usage())
        return
    now = utc_now()
    offer_session = await desk.open(reference, now)
    if not (number.isascii() and number.isdigit()) or len(number) > 6:
        raise CheckInError(Problem.BAD_NUMBER, offer_session)
    by = message.from_user.id
    total = await record_headcount(desk.session, offer_session, int(number), by, now)
    facts = await session_facts(desk.session, offer_session.id)
    assert facts is not None
    await message.answer(headcount_recorded(facts, desk.viewer, int(number), total))


@router.message(Command("undo"))
async def undo(message: Message, desk: DoorDesk) -> None:
    undone = await undo_last(desk.session, message.from_user.id, utc_now())
    await message.answer(undone_text(undone, desk.viewer))


@router.message(StateFilter(CheckInStates.codes), TYPED)
async def codes(message: Message, desk: DoorDesk) -> None:
    current = (await desk.state.get_data()).get(CHECK_IN_SESSION)
    try:
        offer_session = await desk.open(int(current or 0), utc_now())
    except CheckInError:
        await desk.state.set_state(None)  # no longer open: what they type next is not codes
        raise  # the error router says why
    await _check_codes(message, desk.session, offer_session, split_codes(message.text or ""))


@router.message(StateFilter(CheckInStates.codes), NOT_TEXT)
async def not_codes(message: Message) -> None:
    await message.answer(codes_expected())
