"""The survey "What would you like to learn?": topics as buttons, plus the resident's words.

Found under the menu (and /survey) at any time; offered once, a week after joining, by a
message the outbox sends (catalogue/learners/survey.py). Each press saves the answer at once.
"""

from __future__ import annotations

from aiogram import F
from aiogram import Router
from aiogram.filters import Command
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks.learners import SurveyAction
from bot.callbacks.learners import SurveyButton
from bot.filters import NOT_TEXT
from bot.filters import TYPED
from bot.screens.checkin_volunteer import stale_button
from bot.screens.learners import survey as screens
from bot.screens.view import View
from bot.screens.view import notice
from bot.screens.view import show
from bot.states import LearnerStates
from catalogue.learners.survey import answer_of
from catalogue.learners.survey import set_wish
from catalogue.learners.survey import toggle_topic
from catalogue.models import utc_now
from handlers.learners.common import LearnerDesk

router = Router(name=__name__)


async def _survey(desk: LearnerDesk) -> View:
    answer = await answer_of(desk.session, desk.resident.id)
    return screens.survey_view(
        desk.settings.survey_topics,
        answer.topics if answer else [],
        answer.wish if answer else None,
    )


@router.message(Command("survey"))
@router.callback_query(SurveyButton.filter(F.action == SurveyAction.OPEN))
async def survey(event: Message | CallbackQuery, desk: LearnerDesk) -> None:
    await show(event, await _survey(desk))


@router.callback_query(SurveyButton.filter(F.action == SurveyAction.TOPIC))
async def topic(
    callback: CallbackQuery,
    callback_data: SurveyButton,
    callback_answer: CallbackAnswer,
    desk: LearnerDesk,
) -> None:
    topics = desk.settings.survey_topics
    if not 0 <= callback_data.value < len(topics):
        callback_answer.text = stale_button()
        return
    await toggle_topic(desk.session, desk.resident.id, topics[callback_data.value], utc_now())
    await show(callback, await _survey(desk))


@router.callback_query(SurveyButton.filter(F.action == SurveyAction.WRITE))
async def write(callback: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(LearnerStates.survey_wish)
    await show(callback, notice(screens.ask_wish()))


@router.message(StateFilter(LearnerStates.survey_wish), TYPED)
async def wish(message: Message, desk: LearnerDesk) -> None:
    await set_wish(desk.session, desk.resident.id, message.text, utc_now())
    await desk.state.clear()
    await show(message, await _survey(desk))


@router.message(StateFilter(LearnerStates.survey_wish), NOT_TEXT)
async def not_a_wish(message: Message) -> None:
    await message.answer(screens.wish_expected())


@router.callback_query(SurveyButton.filter(F.action == SurveyAction.DONE))
async def done(callback: CallbackQuery) -> None:
    await show(callback, notice(screens.thanks()))
