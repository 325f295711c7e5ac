"""Feedback after an attended session: the rating buttons of the prompt, then a comment.

The prompt itself is sent by the scheduler (scheduler/feedback.py) once the session has ended.
After a rating, what the resident types is their comment (`FeedbackStates.comment`), until
they press Skip; a command there ends the form and goes on to its own handler. Included early
(handlers/__init__.py), so the comment is read before any other text handler sees it.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.feedback import RateSession
from bot.callbacks.feedback import SkipComment
from bot.filters import COMMAND
from bot.filters import NOT_TEXT
from bot.filters import TYPED
from bot.screens.feedback import comment_expected
from bot.screens.feedback import comment_saved
from bot.screens.feedback import comment_skipped
from bot.screens.feedback import feedback_not_allowed
from bot.screens.feedback import feedback_thanks
from bot.screens.view import notice
from bot.screens.view import show
from bot.settings import Settings
from bot.states import FeedbackStates
from catalogue.checkin.feedback import comment_on_session
from catalogue.checkin.feedback import rate_session
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.programme import clean_typed

router = Router(name=__name__)

FEEDBACK_SESSION = "feedback_session"  # FSM data: the session a comment is about


@router.callback_query(RateSession.filter())
async def rate(
    callback: CallbackQuery,
    callback_data: RateSession,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
) -> None:
    rated = await rate_session(
        session, resident, callback_data.session_id, callback_data.score, utc_now()
    )
    if not rated:
        callback_answer.text = feedback_not_allowed()
        return
    await state.set_state(FeedbackStates.comment)
    await state.update_data({FEEDBACK_SESSION: callback_data.session_id})
    await show(callback, feedback_thanks(callback_data.session_id, callback_data.score))


@router.callback_query(SkipComment.filter())
async def skip_comment(callback: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() == FeedbackStates.comment.state:
        await state.set_state(None)
    await show(callback, notice(comment_skipped()))


# ---------------------------------------------------------------- the comment (a form)


@router.message(StateFilter(FeedbackStates.comment), COMMAND)
async def command_instead_of_comment(message: Message, state: FSMContext) -> None:
    if not (message.text or "").startswith("/cancel"):
        await state.set_state(None)
    raise SkipHandler  # the command goes on to its own handler


@router.message(StateFilter(FeedbackStates.comment), TYPED)
async def comment(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    settings: Settings,
) -> None:
    session_id = (await state.get_data()).get(FEEDBACK_SESSION)
    await state.set_state(None)
    saved = isinstance(session_id, int) and await comment_on_session(
        session,
        resident,
        session_id,
        clean_typed(message.text or ""),
        utc_now(),
        settings.city_zone,
        settings.admin_ids,
    )
    text = comment_saved() if saved else feedback_not_allowed()
    await show(message, notice(text))


@router.message(StateFilter(FeedbackStates.comment), NOT_TEXT)
async def comment_not_text(message: Message) -> None:
    await message.answer(comment_expected())
