"""The residents' side of attendance: /pass, scanned passes, self check-in.

Included before `handlers.start`, whose plain /start would otherwise answer the deep links
(`/start pass_…` from a scanned pass, `/start ci_…` from a session's self check-in QR).
The feedback after a session is handlers/feedback.py.
"""

from __future__ import annotations

import contextlib

from aiogram import Bot
from aiogram import F
from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters import CommandObject
from aiogram.filters import CommandStart
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.deep_linking import create_start_link
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.checkin_resident import ChooseAgeBand
from bot.permissions import HasPermission
from bot.screens.checkin_resident import age_band_saved
from bot.screens.checkin_resident import pass_link_broken
from bot.screens.checkin_resident import pass_view
from bot.screens.checkin_resident import qr_png
from bot.screens.checkin_resident import self_checked_in
from bot.screens.checkin_resident import someone_elses_pass
from bot.screens.checkin_volunteer import answers_messages
from bot.screens.checkin_volunteer import stale_button
from bot.screens.errors import refusal_notice
from bot.screens.view import Viewer
from bot.screens.view import notice
from bot.screens.view import show
from bot.settings import Settings
from bot.states import CheckInStates
from catalogue.checkin.door import CheckInError
from catalogue.checkin.door import check_in_codes
from catalogue.checkin.passes import PASS_PREFIX
from catalogue.checkin.passes import holder_of
from catalogue.checkin.passes import normalise_code
from catalogue.checkin.passes import pass_of
from catalogue.checkin.passes import set_age_band
from catalogue.checkin.progress import track_progress
from catalogue.checkin.self_checkin import SELF_PREFIX
from catalogue.checkin.self_checkin import self_check_in
from catalogue.checkin.tables import AgeBand
from catalogue.checkin.tables import CheckInMethod
from catalogue.checkin.today import open_session
from catalogue.checkin.today import session_facts
from catalogue.learners.follow_up import follow_up_check_ins
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.team import Permission
from catalogue.team import Role
from catalogue.team import may
from handlers.learners.about_me import invite_once
from handlers.learners.passport import after_self_check_in

router = Router(name=__name__)

CHECK_IN_SESSION = "check_in_session"  # FSM data: the session a volunteer checks in to
QR_FILE = "learning-pass.png"


async def send_pass(
    bot: Bot, chat_id: int, session: AsyncSession, resident: Resident, viewer: Viewer
) -> None:
    own = await pass_of(session, resident)
    link = await create_start_link(bot, PASS_PREFIX + own.code)
    view = pass_view(viewer, own.code, own.age_band)
    picture = BufferedInputFile(qr_png(link), filename=QR_FILE)
    await bot.send_photo(chat_id, picture, caption=view.text, reply_markup=view.markup)


@router.message(Command("pass"))
async def my_pass(
    message: Message, bot: Bot, session: AsyncSession, resident: Resident, viewer: Viewer
) -> None:
    await invite_once(message, session, resident)  # the optional questions, asked once
    await send_pass(bot, message.chat.id, session, resident, viewer)


@router.callback_query(ChooseAgeBand.filter())
async def choose_age_band(
    callback: CallbackQuery,
    callback_data: ChooseAgeBand,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
) -> None:
    if callback_data.band == "-":
        band = None
    elif callback_data.band in {item.value for item in AgeBand}:
        band = AgeBand(callback_data.band)
    else:
        callback_answer.text = stale_button()
        return
    await set_age_band(session, resident, band)
    callback_answer.text = age_band_saved(band)
    own = await pass_of(session, resident)
    view = pass_view(viewer, own.code, own.age_band)
    if isinstance(callback.message, Message):
        # Unchanged, or too old to edit: the answer above says it was noted.
        with contextlib.suppress(TelegramBadRequest):
            await callback.message.edit_reply_markup(reply_markup=view.markup)


# ---------------------------------------------------------------- deep links


@router.message(
    CommandStart(deep_link=True, magic=F.args.startswith(PASS_PREFIX)),
    StateFilter(CheckInStates.codes),
    HasPermission(Permission.CHECK_IN),
)
async def volunteer_scans_pass(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """A volunteer checking people in opened a resident's pass with the phone camera.

    A session no longer open raises `CheckInError`, which the error router explains.
    """
    now = utc_now()
    session_id = (await state.get_data()).get(CHECK_IN_SESSION)
    offer_session = await open_session(session, int(session_id or 0), now, settings.city_zone)
    batch = await check_in_codes(
        session,
        offer_session,
        [command.args or ""],
        message.from_user.id,
        now,
        method=CheckInMethod.SCAN,
    )
    await follow_up_check_ins(session, batch.newcomers, now, offer_id=offer_session.offer_id)
    for text in answers_messages(batch, offer_session.id):
        await message.answer(text)


@router.message(CommandStart(deep_link=True, magic=F.args.startswith(PASS_PREFIX)))
async def open_pass_link(
    message: Message,
    command: CommandObject,
    bot: Bot,
    session: AsyncSession,
    role: Role,
    resident: Resident,
    viewer: Viewer,
) -> None:
    """Someone opened a pass's link: their own pass is shown; someone else's is for the
    volunteers at the door."""
    code = normalise_code(command.args or "")
    holder = await holder_of(session, code) if code else None
    if holder is None:
        await show(message, notice(pass_link_broken()))
        return
    if holder == resident.id:
        await send_pass(bot, message.chat.id, session, resident, viewer)
        return
    text = someone_elses_pass(may(role, Permission.CHECK_IN))
    await show(message, notice(text))


@router.message(CommandStart(deep_link=True, magic=F.args.startswith(SELF_PREFIX)))
async def self_check_in_link(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
) -> None:
    now = utc_now()
    token = (command.args or "").removeprefix(SELF_PREFIX)
    try:
        answer, offer_session = await self_check_in(session, token, resident, now)
    except CheckInError as error:
        # A resident who scanned a stale QR gets a way on (the menu), not just the reason.
        await show(message, refusal_notice(error, viewer))
        return
    facts = await session_facts(session, offer_session.id)
    assert facts is not None
    progress = await track_progress(session, resident, now)
    await after_self_check_in(message, session, resident, viewer, offer_session.offer_id)
    await show(message, self_checked_in(viewer, answer, facts, progress))
