"""At the door: residents show their pass, volunteers check them in by command, code or scan.

Through the real dispatcher on SQLite and PostgreSQL; the database is checked afterwards.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from bot.settings import load_settings
from catalogue.checkin.passes import normalise_code
from catalogue.checkin.tables import AgeBand
from catalogue.checkin.tables import AttendanceEntry
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import CheckInMethod
from catalogue.checkin.tables import ResidentPass
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.team import Role
from tests.checkin_world import check_ins
from tests.checkin_world import pass_code
from tests.checkin_world import register
from tests.checkin_world import scanned
from tests.checkin_world import session_now
from tests.checkin_world import team_member
from tests.reminder_world import english_resident
from tests.reminder_world import last_answer
from tests.reminder_world import make_offer
from tests.resident_chat import ResidentChat

VOLUNTEER = 920_001
ORGANISER = 920_002


@pytest.fixture
def settings(database_url: str):
    """No demo catalogue: each test makes the sessions it checks people in to."""
    return load_settings(
        database_url=database_url,
        bot_token=None,
        default_locale="en",
        admin_ids="",
        load_demo=False,
        flood_limit=0,
        _env_file=None,
    )


@pytest.fixture
async def volunteer(app):
    chat = await team_member(app, VOLUNTEER)
    yield chat
    await chat.close()


async def test_the_pass_shows_a_code_and_a_qr_of_its_deep_link(app, resident) -> None:
    await english_resident(resident)
    code = await pass_code(resident)
    assert normalise_code(code) is not None
    assert "learning pass" in resident.screen.text
    link = scanned(resident, "learning-pass.png")
    assert link == f"https://t.me/learncity_bot?start=pass_{code.replace('-', '')}"
    # The same pass every time: a code is the resident's, not a new one per visit.
    assert await pass_code(resident) == code

    await resident.press("30–44")
    assert last_answer(resident) == "Noted: 30–44. Thank you!"
    assert any(label.startswith("✅ 30–44") for label in resident.labels())
    async with app.session_maker() as session:
        stored = await session.scalar(select(ResidentPass))
    assert stored.age_band is AgeBand.FROM_30
    assert stored.code == code.replace("-", "")


async def test_passes_are_random_and_never_sequential(app) -> None:
    chats = [await english_resident(ResidentChat(app, 930_000 + n)) for n in range(6)]
    codes = [await pass_code(chat) for chat in chats]
    assert len(set(codes)) == len(codes)
    # Neighbouring residents share no prefix pattern: the codes are drawn, not counted.
    assert len({code[:3] for code in codes}) > 3
    for chat in chats:
        await chat.close()


async def test_a_volunteer_picks_todays_session_and_checks_codes_in(
    app, resident, volunteer
) -> None:
    made = await session_now(app, title="Robotics club")
    later = await make_offer(app, [utc_now() + timedelta(days=2)], title="Chess club")
    await english_resident(resident)
    code = await pass_code(resident)
    await register(app, resident, made.session_ids[0])
    walk_in = await english_resident(ResidentChat(app, 930_101))
    walk_in_code = await pass_code(walk_in)

    screen = await volunteer.send("/checkin")
    assert "Check-in: which session?" in screen.text
    assert f"#{made.session_ids[0]}" in screen.text
    assert "Chess club" not in screen.text  # not today
    screen = await volunteer.press("Robotics club")
    assert "Checking in: Robotics club" in screen.text
    assert "Registered: 1 · checked in: 0" in screen.text

    answer = await volunteer.send(code)
    assert f"✅ <code>{code}</code> — checked in" in answer.text
    assert f"#{made.session_ids[0]}: 1 checked in." in answer.text

    # Typed again, lower case and without the hyphen: counted once.
    answer = await volunteer.send(code.lower().replace("-", ""))
    assert f"☑️ <code>{code}</code> — already checked in" in answer.text

    # Several in one message, each answered in the order typed.
    answer = await volunteer.send(f"{walk_in_code}, ZZZZ-ZZZZ hello {walk_in_code}")
    lines = answer.text.splitlines()
    assert lines[0] == f"🚶 <code>{walk_in_code}</code> — not registered: checked in as a walk-in"
    assert lines[1] == "⚠️ <code>ZZZZ-ZZZZ</code> — not a pass code (check for a typo)"
    assert lines[2] == "⚠️ <code>hello</code> — not a pass code (check for a typo)"
    assert lines[3] == f"☑️ <code>{walk_in_code}</code> — already checked in"
    assert await check_ins(app, made.session_ids[0]) == 2

    async with app.session_maker() as session:
        rows = list(await session.scalars(select(CheckIn).order_by(CheckIn.id)))
        methods = list(await session.scalars(select(AttendanceEntry.method)))
    assert [row.registered for row in rows] == [True, False]
    assert methods == [CheckInMethod.CODE, CheckInMethod.CODE]
    assert later.session_ids  # the other session exists, only not today


async def test_an_unknown_code_reveals_nothing_about_anyone(app, resident, volunteer) -> None:
    made = await session_now(app)
    await english_resident(resident)
    code = await pass_code(resident)
    # A well-formed code that nobody holds: one character changed, the check fixed up.
    from catalogue.checkin.passes import PASS_ALPHABET
    from catalogue.checkin.passes import _check_character

    body = code.replace("-", "")[:7]
    other = PASS_ALPHABET[(PASS_ALPHABET.index(body[0]) + 1) % len(PASS_ALPHABET)] + body[1:]
    stranger = other + _check_character(other)
    answer = await volunteer.send(f"/attend {made.session_ids[0]} {stranger}")
    assert (
        answer.text.splitlines()[0]
        == f"❓ <code>{stranger[:4]}-{stranger[4:]}</code> — unknown code"
    )
    assert "Resident" not in answer.text
    assert await check_ins(app, made.session_ids[0]) == 0
    # A typo in a real code is caught by the check character, not taken for someone else.
    typo = code[:-1] + ("2" if code[-1] != "2" else "3")
    answer = await volunteer.send(f"/attend {made.session_ids[0]} {typo}")
    assert "not a pass code (check for a typo)" in answer.text


async def test_attend_in_one_line_and_its_bad_input(app, resident, volunteer) -> None:
    made = await session_now(app)
    tomorrow = await make_offer(app, [utc_now() + timedelta(days=1, hours=2)])
    await english_resident(resident)
    code = await pass_code(resident)
    session_id = made.session_ids[0]

    answer = await volunteer.send(f"/attend {session_id} {code}")
    assert "— not registered: checked in as a walk-in" in answer.text
    assert (await volunteer.send("/attend")).text.startswith("Usage: /attend")
    assert "no such session" in (await volunteer.send(f"/attend 999999 {code}")).text
    answer = await volunteer.send(f"/attend {tomorrow.session_ids[0]} {code}")
    assert f"Session #{tomorrow.session_ids[0]} is not today" in answer.text
    # A session's external id works as well as its number.
    answer = await volunteer.send(f"/attend {made.external_id}-1 {code}")
    assert "already checked in" in answer.text

    # 500 codes in one message: nothing is recorded, and the volunteer is told why.
    other = await english_resident(ResidentChat(app, 930_201))
    other_code = await pass_code(other)
    many = " ".join([other_code] + ["ZZZZ-ZZZZ"] * 499)
    answer = await volunteer.send(f"/attend {session_id} {many}")
    assert "more than 50 codes in one message: nothing was recorded" in answer.text
    assert await check_ins(app, session_id) == 1


async def test_a_cancelled_session_takes_no_check_ins(app, resident, volunteer) -> None:
    from catalogue.models import OfferSession
    from catalogue.models import SessionStatus

    made = await session_now(app)
    async with app.session_maker.begin() as session:
        offer_session = await session.get(OfferSession, made.session_ids[0])
        offer_session.status = SessionStatus.CANCELLED
    await english_resident(resident)
    code = await pass_code(resident)
    answer = await volunteer.send(f"/attend {made.session_ids[0]} {code}")
    assert "has been cancelled" in answer.text
    assert await check_ins(app, made.session_ids[0]) == 0


async def test_headcount_and_undo(app, resident, volunteer) -> None:
    made = await session_now(app, title="Open-air concert")
    session_id = made.session_ids[0]
    await english_resident(resident)
    code = await pass_code(resident)

    answer = await volunteer.send(f"/count {session_id} 25")
    assert "Recorded a headcount of 25" in answer.text
    assert "Headcount so far: 25" in answer.text
    await volunteer.send(f"/checkin {session_id}")
    answer = await volunteer.send("/count 10")  # the session being checked in to
    assert "Headcount so far: 35" in answer.text
    for bad in ("/count 0", "/count many", f"/count {session_id} -3", "/count 12 99999999"):
        answer = await volunteer.send(bad)
        assert "whole number from 1 to 10000" in answer.text or "no such session" in answer.text
    await volunteer.send(code)
    assert await check_ins(app, session_id) == 1

    answer = await volunteer.send("/undo")
    assert answer.text == f"↩️ Undone: 1 check-in(s) at #{session_id} Open-air concert."
    assert await check_ins(app, session_id) == 0
    answer = await volunteer.send("/undo")
    assert answer.text == f"↩️ Undone: the headcount of 10 at #{session_id} Open-air concert."
    await volunteer.send("/undo")
    answer = await volunteer.send("/undo")
    assert answer.text.startswith("Nothing to undo")

    # Checked in again after the undo: counted, once.
    answer = await volunteer.send(code)
    assert "checked in" in answer.text
    assert await check_ins(app, session_id) == 1
    async with app.session_maker() as session:
        headcount = await session.scalar(
            select(func.coalesce(func.sum(AttendanceEntry.people), 0)).where(
                AttendanceEntry.method == CheckInMethod.HEADCOUNT
            )
        )
    assert headcount == 0


async def test_another_volunteers_undo_leaves_mine_alone(app, resident, volunteer) -> None:
    made = await session_now(app)
    await english_resident(resident)
    code = await pass_code(resident)
    await volunteer.send(f"/attend {made.session_ids[0]} {code}")
    organiser = await team_member(app, ORGANISER, Role.ORGANISER)
    assert (await organiser.send("/undo")).text.startswith("Nothing to undo")
    assert await check_ins(app, made.session_ids[0]) == 1
    await organiser.close()


async def test_a_volunteer_scans_a_pass_with_the_phone_camera(app, resident, volunteer) -> None:
    made = await session_now(app, title="Robotics club")
    await english_resident(resident)
    code = await pass_code(resident)
    link = scanned(resident, "learning-pass.png")
    payload = link.split("start=", 1)[1]

    # Not checking in yet: the volunteer is told what to do, nobody is checked in.
    screen = await volunteer.send(f"/start {payload}")
    assert "choose the session first with /checkin" in screen.text
    await volunteer.send(f"/checkin {made.session_ids[0]}")
    screen = await volunteer.send(f"/start {payload}")
    assert f"🚶 <code>{code}</code> — not registered: checked in as a walk-in" in screen.text
    async with app.session_maker() as session:
        method = await session.scalar(select(AttendanceEntry.method))
    assert method is CheckInMethod.SCAN

    # Another resident opening the pass learns nothing and checks nobody in.
    stranger = await english_resident(ResidentChat(app, 930_301))
    screen = await stranger.send(f"/start {payload}")
    assert "someone's learning pass" in screen.text
    assert code not in screen.text
    # The holder opening their own link sees their pass.
    screen = await resident.send(f"/start {payload}")
    assert code in screen.text
    assert await check_ins(app, made.session_ids[0]) == 1
    await stranger.close()


async def test_checking_in_by_venue_and_by_search(app, volunteer) -> None:
    for number in range(11):
        await session_now(app, title=f"Drop-in table {number}")
    screen = await volunteer.send("/checkin")
    assert "11 sessions today. Choose the venue" in screen.text
    screen = await volunteer.press("Old Factory")
    assert "Drop-in table" in screen.text
    screen = await volunteer.send("/checkin table 7")
    assert "Checking in: Drop-in table 7" in screen.text
    screen = await volunteer.send("/checkin juggling")
    assert "No session today matches “juggling”." in screen.text


async def test_code_entry_is_a_form_with_a_way_out(app, volunteer, resident) -> None:
    made = await session_now(app)
    await volunteer.send(f"/checkin {made.session_ids[0]}")
    reply = await volunteer.send_location(56.5, 60.8)
    assert "Send pass codes as text" in reply.text
    await volunteer.press("Finish")  # on the check-in screen, edited in place
    shown = [message.text for message in volunteer.telegram.chat_messages(VOLUNTEER)]
    assert any("Check-in finished" in text for text in shown)
    # Out of the form, typed words are a search again, not codes.
    screen = await volunteer.send("pottery")
    assert "checked in" not in screen.text
    await english_resident(resident)
    assert (await resident.send("/checkin")).text.startswith("Sorry, this is only for the festival")


async def test_the_self_check_in_qr(app, resident, volunteer) -> None:
    made = await session_now(app, title="Robotics club")
    await volunteer.send(f"/checkin {made.session_ids[0]}")
    since = len(volunteer.telegram.calls)
    await volunteer.press("QR for self check-in")
    photo = [call for call in volunteer.telegram.calls[since:] if call.method == "sendPhoto"]
    assert photo
    assert "Self check-in: Robotics club" in photo[0].params["caption"]
    link = scanned(volunteer, "self-check-in.png")
    payload = link.split("start=", 1)[1]
    assert payload.startswith("ci_")

    await english_resident(resident)
    screen = await resident.send(f"/start {payload}")
    assert "You are checked in: Robotics club." in screen.text
    screen = await resident.send(f"/start {payload}")
    assert "You are already checked in" in screen.text
    assert await check_ins(app, made.session_ids[0]) == 1
    # Made-up tokens are refused.
    screen = await resident.send("/start ci_made-up")
    assert "not valid" in screen.text


async def test_a_self_check_in_qr_expires(app, resident, volunteer) -> None:
    from catalogue.checkin.tables import CheckInToken

    made = await session_now(app)
    await volunteer.send(f"/checkin {made.session_ids[0]}")
    await volunteer.press("QR for self check-in")
    payload = scanned(volunteer, "self-check-in.png").split("start=", 1)[1]
    async with app.session_maker.begin() as session:
        token = await session.scalar(select(CheckInToken))
        # It never outlives the session, and lasts at most a quarter of an hour.
        assert token.expires_at <= token.created_at + timedelta(minutes=15)
        token.expires_at = utc_now() - timedelta(seconds=1)
    await english_resident(resident)
    screen = await resident.send(f"/start {payload}")
    assert "This check-in QR has expired" in screen.text
    assert await check_ins(app, made.session_ids[0]) == 0


async def test_forget_me_keeps_check_ins_anonymous(app, resident, volunteer) -> None:
    from catalogue.privacy import forget_resident

    made = await session_now(app)
    await english_resident(resident)
    code = await pass_code(resident)
    await volunteer.send(f"/attend {made.session_ids[0]} {code}")
    await volunteer.send(f"/count {made.session_ids[0]} 40")
    async with app.session_maker.begin() as session:
        row = await session.scalar(select(Resident).where(Resident.telegram_id == resident.user.id))
        report = await forget_resident(session, row)
    # The check-in still counts, under an anonymous stand-in (catalogue/privacy.py).
    assert "check_in" not in report.deleted
    assert report.deleted["resident_pass"] == 1
    async with app.session_maker() as session:
        entries = list(await session.scalars(select(AttendanceEntry.people)))
        holders = list(await session.scalars(select(CheckIn.resident_id)))
    assert 40 in entries
    assert await check_ins(app, made.session_ids[0]) == 1
    assert row.id not in holders
