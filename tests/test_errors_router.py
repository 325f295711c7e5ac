"""The error router: a refusal a handler lets rise (a `DomainError`) is explained in the person's
language, as a reply to a message or as the one alert of a button press, and nothing the
update wrote is kept.

Updates go through the real dispatcher; a report nobody can make (`ScopeError`) is the
refusal, asked for by an organiser.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.callbacks.reports import ReportFor
from catalogue.models import Resident
from catalogue.team import Role
from catalogue.team import TeamMember
from tests.resident_chat import ResidentChat

ORGANISER = 990_001

NOT_UNDERSTOOD = {"en": "I did not understand", "ru": "Не понял запрос"}
NOTHING_CALLED = {"en": "Nothing is called “999999”", "ru": "Ничего не называется «999999»"}


async def organiser(app, language: str) -> ResidentChat:
    async with app.session_maker.begin() as session:
        session.add(TeamMember(telegram_id=ORGANISER, role=Role.ORGANISER, display_name="Olga"))
    return ResidentChat(app, ORGANISER, language_code=language)


async def registered(app, telegram_id: int) -> bool:
    async with app.session_maker() as session:
        found = await session.scalar(select(Resident.id).where(Resident.telegram_id == telegram_id))
    return found is not None


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_a_refused_message_is_answered_in_the_persons_language_and_nothing_is_kept(
    app, language: str
) -> None:
    chat = await organiser(app, language)
    try:
        # Their first update: handling it registers them, a write the refusal takes back.
        answer = await chat.send("/report nonsense")
        assert NOT_UNDERSTOOD[language] in answer.text
        assert answer.buttons() == []
        assert not await registered(app, ORGANISER)
        # The next update registers them for good.
        await chat.send("/report")
        assert await registered(app, ORGANISER)
    finally:
        await chat.close()


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_a_refused_button_press_gets_one_answer_an_alert_in_the_persons_language(
    app, language: str
) -> None:
    chat = await organiser(app, language)
    try:
        picker = await chat.send("/report")
        answers_before = len(chat.calls("answerCallbackQuery"))
        await chat.press_data(ReportFor(kind="festival", target=999_999).pack())
        answers = chat.calls("answerCallbackQuery")[answers_before:]
        # Telegram takes one answer per press: the alert must be that one.
        assert len(answers) == 1
        assert answers[0].params["show_alert"] == "true"  # as the Bot API receives it
        assert NOTHING_CALLED[language] in answers[0].params["text"]
        assert chat.screen.message_id == picker.message_id  # no message besides the alert
    finally:
        await chat.close()
