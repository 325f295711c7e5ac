"""Pass codes, concurrent volunteers, the feedback prompt and tracks that come alive."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.settings import load_settings
from catalogue.checkin.door import NEW
from catalogue.checkin.door import Answer
from catalogue.checkin.door import check_in_codes
from catalogue.checkin.passes import CODE_BODY
from catalogue.checkin.passes import PASS_ALPHABET
from catalogue.checkin.passes import _check_character
from catalogue.checkin.passes import new_pass_code
from catalogue.checkin.passes import normalise_code
from catalogue.checkin.passes import pass_of
from catalogue.checkin.passes import show_code
from catalogue.checkin.passes import split_codes
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import SessionFeedback
from catalogue.checkin.today import open_session
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.outbox.messages import OutboxState
from tests.checkin_world import check_ins
from tests.checkin_world import pass_code
from tests.checkin_world import session_now
from tests.checkin_world import team_member
from tests.reminder_world import english_resident
from tests.reminder_world import make_offer
from tests.reminder_world import outbox_rows
from tests.reminder_world import worker_for
from tests.resident_chat import ResidentChat

VOLUNTEER = 940_001


@pytest.fixture
def settings(database_url: str):
    return load_settings(
        database_url=database_url,
        bot_token=None,
        default_locale="en",
        admin_ids="",
        load_demo=False,
        flood_limit=0,
        _env_file=None,
    )


# ---------------------------------------------------------------- codes


def test_codes_use_an_alphabet_without_look_alikes() -> None:
    assert not set("01OIL") & set(PASS_ALPHABET)
    for _ in range(200):
        code = new_pass_code()
        assert len(code) == CODE_BODY + 1
        assert set(code) <= set(PASS_ALPHABET)
        assert normalise_code(code) == code


def test_one_mistyped_character_or_two_swapped_neighbours_never_pass() -> None:
    for _ in range(50):
        code = new_pass_code()
        for position, wrong in itertools.product(range(len(code)), PASS_ALPHABET):
            if wrong != code[position]:
                typo = code[:position] + wrong + code[position + 1 :]
                assert normalise_code(typo) is None, (code, typo)
        for position in range(CODE_BODY - 1):
            swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
            if swapped != code:
                assert normalise_code(swapped) is None, (code, swapped)


def test_how_volunteers_type_codes() -> None:
    body = "K7QM4XP"
    code = body + _check_character(body)
    shown = show_code(code)
    assert normalise_code(shown.lower()) == code
    assert normalise_code(f"https://t.me/learncity_bot?start=pass_{code}") == code
    assert normalise_code("K7QM-4XP0") is None  # a zero never appears in codes
    assert normalise_code("") is None
    assert split_codes(f"{shown}, {code.lower()}\n{shown[:4]} {shown[5:]};hello") == [
        shown,
        code.lower(),
        shown,
        "hello",
    ]


# ---------------------------------------------------------------- many volunteers at once


async def test_ten_volunteers_typing_overlapping_codes_count_each_resident_once(app) -> None:
    made = await session_now(app)
    async with app.session_maker.begin() as session:
        residents = [Resident(telegram_id=950_000 + n, language="en") for n in range(60)]
        session.add_all(residents)
        await session.flush()
        codes = [show_code((await pass_of(session, resident)).code) for resident in residents]

    # Each volunteer types a third of the codes, overlapping the others', some twice.
    async def volunteer(number: int) -> list[Answer]:
        mine = [codes[(number * 7 + k) % len(codes)] for k in range(20)]
        answers: list[Answer] = []
        for start in range(0, len(mine), 5):
            async with app.session_maker.begin() as session:
                now = utc_now()
                offer_session = await open_session(
                    session, made.session_ids[0], now, app.settings.city_zone
                )
                batch = await check_in_codes(
                    session, offer_session, mine[start : start + 5] * 2, 960_000 + number, now
                )
            answers += [item.answer for item in batch.answers]
        return answers

    results = await asyncio.gather(*(volunteer(number) for number in range(10)))
    answers = [answer for result in results for answer in result]
    typed = {codes[(number * 7 + k) % len(codes)] for number in range(10) for k in range(20)}
    new = sum(answer in NEW for answer in answers)
    assert await check_ins(app, made.session_ids[0]) == len(typed)
    assert new == len(typed), "every resident answered 'checked in' exactly once"
    assert answers.count(Answer.ALREADY) == len(answers) - new


async def test_an_undone_first_visit_makes_the_next_one_the_first(app) -> None:
    from catalogue.checkin.door import undo_last

    made = await make_offer(app, [utc_now() - timedelta(days=1), utc_now() - timedelta(minutes=10)])
    async with app.session_maker.begin() as session:
        resident = Resident(telegram_id=955_001, language="en")
        session.add(resident)
        await session.flush()
        code = (await pass_of(session, resident)).code
        earlier = await session.get(OfferSession, made.session_ids[0])
        later = await session.get(OfferSession, made.session_ids[1])
        await check_in_codes(session, earlier, [code], 1, utc_now() - timedelta(minutes=2))
        await check_in_codes(session, later, [code], 2, utc_now() - timedelta(minutes=1))
    async with app.session_maker() as session:
        firsts = list(await session.scalars(select(CheckIn.first_visit).order_by(CheckIn.id)))
    assert firsts == [True, False]
    async with app.session_maker.begin() as session:
        undone = await undo_last(session, 1, utc_now())
    assert undone is not None
    async with app.session_maker() as session:
        assert list(await session.scalars(select(CheckIn.first_visit))) == [True]


# ---------------------------------------------------------------- feedback


async def test_one_feedback_prompt_after_the_session_then_a_rating_and_a_comment(
    app, resident
) -> None:
    made = await session_now(app, title="Robotics club")
    volunteer = await team_member(app, VOLUNTEER)
    await english_resident(resident)
    code = await pass_code(resident)
    await volunteer.send(f"/attend {made.session_ids[0]} {code}")
    await volunteer.send(f"/attend {made.session_ids[0]} {code}")  # counted once, one prompt

    prompts = await outbox_rows(app, "feedback")
    assert len(prompts) == 1
    async with app.session_maker() as session:
        offer_session = await session.get(OfferSession, made.session_ids[0])
    assert prompts[0].due_at == offer_session.ends_at

    # Not before the session ends…
    worker = worker_for(app, resident.telegram, offer_session.ends_at - timedelta(minutes=5))
    await worker.drain()
    assert not [m for m in resident.telegram.chat_messages(resident.user.id) if "How was" in m.text]
    # …then once.
    worker = worker_for(app, resident.telegram, offer_session.ends_at + timedelta(minutes=1))
    await worker.drain()
    await worker.drain()
    prompt = resident.screen
    assert prompt.text.startswith("💬 How was Robotics club")
    assert (
        len([m for m in resident.telegram.chat_messages(resident.user.id) if "How was" in m.text])
        == 1
    )

    screen = await resident.press("4 ⭐")
    assert "Your rating: ⭐⭐⭐⭐" in screen.text
    screen = await resident.send("The robots were <great>, more please")
    assert "the organisers will read it" in screen.text
    async with app.session_maker() as session:
        feedback = await session.scalar(select(SessionFeedback))
    assert (feedback.score, feedback.comment) == (4, "The robots were <great>, more please")
    # Out of the form again: typed text is a search, not a second comment.
    await resident.send("pottery")
    async with app.session_maker() as session:
        feedback = await session.scalar(select(SessionFeedback))
    assert feedback.comment == "The robots were <great>, more please"
    await volunteer.close()


async def test_no_prompt_after_an_undone_check_in_and_no_rating_without_attending(
    app, resident
) -> None:
    made = await session_now(app)
    volunteer = await team_member(app, VOLUNTEER)
    await english_resident(resident)
    code = await pass_code(resident)
    await volunteer.send(f"/attend {made.session_ids[0]} {code}")
    await volunteer.send("/undo")
    assert [row.state for row in await outbox_rows(app, "feedback")] == [OutboxState.SKIPPED]

    # A forged rating for a session the resident did not attend changes nothing.
    from bot.callbacks.feedback import RateSession

    await resident.send("/menu")
    await resident.press_data(RateSession(session_id=made.session_ids[0], score=5).pack())
    async with app.session_maker() as session:
        assert await session.scalar(select(SessionFeedback)) is None
    await volunteer.close()


async def test_a_command_ends_the_comment_form_and_is_answered(app, resident) -> None:
    made = await session_now(app)
    volunteer = await team_member(app, VOLUNTEER)
    await english_resident(resident)
    code = await pass_code(resident)
    await volunteer.send(f"/attend {made.session_ids[0]} {code}")
    async with app.session_maker() as session:
        offer_session = await session.get(OfferSession, made.session_ids[0])
    await worker_for(app, resident.telegram, offer_session.ends_at + timedelta(minutes=1)).drain()
    await resident.press("5 ⭐")
    screen = await resident.send("/help")
    assert "What I can do" in screen.text
    async with app.session_maker() as session:
        assert (await session.scalar(select(SessionFeedback))).comment is None
    await volunteer.close()


# ---------------------------------------------------------------- tracks


async def test_attendance_marks_the_track_step_done_and_my_suggests_the_next(app, resident) -> None:
    first = await session_now(app, title="Clay basics")
    second = await make_offer(
        app, [utc_now() + timedelta(days=3)], title="Glazing", track_id=first.track_id
    )
    volunteer = await team_member(app, VOLUNTEER)
    await english_resident(resident)
    async with app.session_maker.begin() as session:
        row = await session.scalar(select(Resident).where(Resident.telegram_id == resident.user.id))
        row.track_id = first.track_id
    screen = await resident.send("/my")
    assert "0 of 2 steps done" in screen.text
    assert "👉 Next step: Clay basics" not in screen.text  # its only session has begun

    code = await pass_code(resident)
    await volunteer.send(f"/attend {first.session_ids[0]} {code}")
    screen = await resident.send("/my")
    assert f"Your track: {first.track_title}</b> — 1 of 2 steps done" in screen.text
    assert "✅ Clay basics" in screen.text
    assert "▫️ Glazing" in screen.text
    assert "👉 Next step: Glazing," in screen.text
    card = await resident.press("Next step: Glazing")
    assert "<b>Glazing</b>" in card.text
    assert second.session_ids
    async with app.session_maker() as session:
        assert await session.scalar(select(CheckIn.resident_id)) == row.id
    await volunteer.close()


async def test_self_check_in_shows_the_track_progress(app, resident) -> None:
    first = await session_now(app, title="Clay basics")
    await make_offer(app, [utc_now() + timedelta(days=3)], title="Glazing", track_id=first.track_id)
    volunteer = await team_member(app, VOLUNTEER)
    await volunteer.send(f"/checkin {first.session_ids[0]}")
    await volunteer.press("QR for self check-in")
    from tests.checkin_world import scanned

    payload = scanned(volunteer, "self-check-in.png").split("start=", 1)[1]
    await english_resident(resident)
    async with app.session_maker.begin() as session:
        row = await session.scalar(select(Resident).where(Resident.telegram_id == resident.user.id))
        row.track_id = first.track_id
    screen = await resident.send(f"/start {payload}")
    assert "You are checked in: Clay basics." in screen.text
    assert "1 of 2 steps done" in screen.text
    assert "Next step: Glazing" in screen.text
    await volunteer.close()


async def test_volunteer_menus_list_the_check_in_commands(app) -> None:
    volunteer = await team_member(app, VOLUNTEER)
    from bot.command_menus import commands_for
    from catalogue.team import Role

    names = [command.command for command in commands_for(Role.VOLUNTEER, app.i18n, "en")]
    assert {"checkin", "attend", "count", "undo", "pass"} <= set(names)
    assert "report" not in names
    organiser = [command.command for command in commands_for(Role.ORGANISER, app.i18n, "en")]
    assert "report" in organiser
    await volunteer.close()


_ = ResidentChat  # imported for type readers of the helpers
