"""About me: the optional facts a resident tells about themselves (/about_me, the menu).

Every answer is a button; pressing one in the overview's sub-screens saves it at once. The
invitation (`invite_once`) is shown once, after a resident's first /pass or self check-in
(handlers/checkin_resident.py); residents checked in by a volunteer get it through the outbox
(catalogue/learners/follow_up.py).
"""

from __future__ import annotations

from aiogram import F
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.learners import AboutMe
from bot.callbacks.learners import AboutMeAction
from bot.screens.checkin_volunteer import stale_button
from bot.screens.learners import about_me as screens
from bot.screens.learners.about_me import AGE_BANDS
from bot.screens.learners.about_me import GENDERS
from bot.screens.learners.about_me import Question
from bot.screens.view import View
from bot.screens.view import notice
from bot.screens.view import show
from catalogue.checkin.passes import set_age_band
from catalogue.learners import facts
from catalogue.models import Resident
from catalogue.models import utc_now
from handlers.learners.common import LearnerDesk

router = Router(name=__name__)


async def invite_once(message: Message, session: AsyncSession, resident: Resident) -> None:
    """The invitation, if the resident was never asked."""
    if await facts.mark_asked(session, resident, utc_now()):
        await show(message, screens.invitation())


async def _screen(desk: LearnerDesk, question: int) -> View:
    answers = await facts.answers_of(desk.session, desk.resident)
    if not answers.consented:
        return screens.invitation()
    if question == Question.AGE:
        return screens.age_question(answers)
    if question == Question.GENDER:
        return screens.gender_question(answers)
    if question == Question.DISTRICT:
        return screens.district_question(answers, desk.settings.home_districts)
    if question == Question.GROUPS:
        return screens.groups_question(answers, desk.settings.learner_groups)
    return screens.overview(answers, desk.settings.learner_groups)


@router.message(Command("about_me"))
@router.callback_query(AboutMe.filter(F.action == AboutMeAction.OPEN))
async def about_me(
    event: Message | CallbackQuery, desk: LearnerDesk, callback_data: AboutMe | None = None
) -> None:
    """The overview (/about_me, the menu), or one question's screen (its button)."""
    await facts.mark_asked(desk.session, desk.resident, utc_now())
    question = callback_data.value if callback_data else Question.OVERVIEW
    await show(event, await _screen(desk, question))


@router.callback_query(AboutMe.filter(F.action == AboutMeAction.CONSENT))
async def agree(callback: CallbackQuery, desk: LearnerDesk) -> None:
    await facts.consent(desk.session, desk.resident, utc_now())
    await show(callback, await _screen(desk, Question.OVERVIEW))


@router.callback_query(AboutMe.filter(F.action == AboutMeAction.LATER))
async def not_now(callback: CallbackQuery, desk: LearnerDesk) -> None:
    await facts.mark_asked(desk.session, desk.resident, utc_now())
    await show(callback, notice(screens.declined()))


def _pick(items: tuple | list, index: int) -> object | None:
    """The item a button's index points at; None for "none"; raises IndexError when stale."""
    if index == -1:
        return None
    if not 0 <= index < len(items):
        raise IndexError(index)
    return items[index]


@router.callback_query(
    AboutMe.filter(
        F.action.in_(
            {
                AboutMeAction.AGE,
                AboutMeAction.GENDER,
                AboutMeAction.DISTRICT,
                AboutMeAction.GROUP,
            }
        )
    )
)
async def answer(
    callback: CallbackQuery,
    callback_data: AboutMe,
    callback_answer: CallbackAnswer,
    desk: LearnerDesk,
) -> None:
    now, action, index = utc_now(), callback_data.action, callback_data.value
    session, resident, settings = desk.session, desk.resident, desk.settings
    try:
        if action is AboutMeAction.AGE:
            await set_age_band(session, resident, _pick(AGE_BANDS, index))  # type: ignore[arg-type]
            await facts.consent(session, resident, now)
            question = Question.AGE
        elif action is AboutMeAction.GENDER:
            await facts.set_gender(session, resident, _pick(GENDERS, index), now)  # type: ignore[arg-type]
            question = Question.GENDER
        elif action is AboutMeAction.DISTRICT:
            district = _pick(settings.home_districts, index)
            await facts.set_home_district(session, resident, district, now)  # type: ignore[arg-type]
            question = Question.DISTRICT
        else:
            group = _pick(settings.learner_groups, index)
            if group is None:
                await facts.clear_groups(session, resident, now)
            else:
                await facts.toggle_group(session, resident, str(group), now)
            question = Question.GROUPS
    except IndexError:
        callback_answer.text = stale_button()
        return
    callback_answer.text = screens.saved()
    await show(callback, await _screen(desk, question))


@router.callback_query(AboutMe.filter(F.action == AboutMeAction.WITHDRAW))
async def ask_to_withdraw(callback: CallbackQuery) -> None:
    await show(callback, screens.withdraw_question())


@router.callback_query(AboutMe.filter(F.action == AboutMeAction.WITHDRAW_SURE))
async def withdraw(
    callback: CallbackQuery, callback_answer: CallbackAnswer, desk: LearnerDesk
) -> None:
    await facts.withdraw_consent(desk.session, desk.resident, utc_now())
    callback_answer.text = screens.erased()
    await show(callback, await _screen(desk, Question.OVERVIEW))
