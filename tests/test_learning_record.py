"""The learning record as residents, organisers and administrators use it
(docs/learning-record.md): the optional facts (consent, erasure, /forget_me, /export_me),
completion rules, the passport, certificates (the PDF read back, its QR scanned, verification
valid / revoked / forged) and the survey.
"""

from __future__ import annotations

import io
import json
import secrets
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from bot.settings import load_settings
from catalogue.checkin.tables import AgeBand
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import ResidentPass
from catalogue.learners.tables import Certificate
from catalogue.learners.tables import Completion
from catalogue.learners.tables import Gender
from catalogue.learners.tables import LearnerFacts
from catalogue.learners.tables import LearnerGroup
from catalogue.learners.tables import SurveyAnswer
from catalogue.models import Resident
from catalogue.team import Role
from tests.checkin_world import pass_code
from tests.checkin_world import session_now
from tests.checkin_world import team_member
from tests.reminder_world import english_resident
from tests.reminder_world import outbox_rows
from tests.reminder_world import resident_row
from tests.resident_chat import ResidentChat

ADMIN = 930_001
ORGANISER = 930_002
VOLUNTEER = 930_003


@pytest.fixture
def settings(database_url: str):
    """No demo catalogue (each test makes its sessions); one administrator."""
    return load_settings(
        database_url=database_url,
        bot_token=None,
        default_locale="en",
        admin_ids=str(ADMIN),
        load_demo=False,
        flood_limit=0,
        home_districts="Centre, Riverside",
        _env_file=None,
    )


@pytest.fixture
async def volunteer(app):
    chat = await team_member(app, VOLUNTEER)
    yield chat
    await chat.close()


@pytest.fixture
async def organiser(app):
    chat = await team_member(app, ORGANISER, Role.ORGANISER)
    yield chat
    await chat.close()


@pytest.fixture
async def admin(app):
    chat = await english_resident(ResidentChat(app, ADMIN))
    yield chat
    await chat.close()


async def count(app, model, *conditions) -> int:
    async with app.session_maker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*conditions))


def texts(chat: ResidentChat) -> list[str]:
    return [
        str(call.params.get("text") or call.params.get("caption") or "")
        for call in chat.telegram.calls
    ]


def certificate_file(chat: ResidentChat) -> bytes:
    """The certificate PDF the bot sent last (named certificate-<code>.pdf)."""
    names = [name for name in chat.telegram.sent_files if name.startswith("certificate-")]
    assert names, texts(chat)
    return chat.telegram.sent_files[names[-1]]


# ---------------------------------------------------------------- facts, consent, erasure


async def test_the_questions_are_asked_once_at_the_first_pass(app, resident) -> None:
    await english_resident(resident)
    screen = await resident.send("/pass")
    assert "Your learning pass" in screen.text  # the pass stays the latest message
    asked = [text for text in texts(resident) if "A few questions about you?" in text]
    assert len(asked) == 1
    assert "optional" in asked[0]
    await resident.send("/pass")
    assert len([t for t in texts(resident) if "A few questions about you?" in t]) == 1
    # Asked, but nothing kept before the resident agrees.
    async with app.session_maker() as session:
        facts = await session.scalar(select(LearnerFacts))
    assert facts.asked_at is not None
    assert facts.consented_at is None
    assert facts.gender is None


async def test_answers_are_kept_changed_and_erased_on_withdrawal(app, resident, volunteer) -> None:
    await english_resident(resident)
    screen = await resident.send("/about_me")
    assert "Every question is optional" in screen.text
    await resident.press("Yes, ask me")
    screen = await resident.press("Gender")
    assert "Why:" in screen.text
    assert "Optional" in screen.text
    await resident.press("Woman")
    await resident.press("« Back")
    screen = await resident.press("District")
    assert [label for label in resident.labels() if "Riverside" in label]
    await resident.press("Riverside")
    await resident.press("« Back")
    await resident.press("Groups")
    await resident.press("Pensioner")
    await resident.press("Migrant or newcomer")
    await resident.press("« Back")
    await resident.press("Age group")
    screen = await resident.press("60 and over")
    assert "✅ 60 and over" in resident.labels()
    await resident.press("« Back")
    screen = resident.screen
    assert "Gender: Woman" in screen.text
    assert "District where you live: Riverside" in screen.text
    assert "Pensioner, Migrant or newcomer" in screen.text
    me = await resident_row(app, resident)
    async with app.session_maker() as session:
        facts = await session.get(LearnerFacts, me.id)
        groups = set(await session.scalars(select(LearnerGroup.group_key)))
        band = await session.scalar(select(ResidentPass.age_band))
    assert (facts.gender, facts.home_district) == (Gender.WOMAN, "Riverside")
    assert facts.consented_at is not None
    assert groups == {"pensioner", "migrant"}
    assert band is AgeBand.FROM_60
    # A group pressed again is taken back; changed answers replace the old.
    await resident.press("Groups")
    await resident.press("Migrant or newcomer")
    await resident.press("« Back")
    assert await count(app, LearnerGroup) == 1

    # The resident attends a session: the check-in carries the age band, as before.
    made = await session_now(app)
    code = await pass_code(resident)
    await volunteer.send(f"/attend {made.session_ids[0]} {code}")
    assert await count(app, CheckIn, CheckIn.age_band == AgeBand.FROM_60) == 1

    # Withdrawing consent erases every answer and keeps the attendance, anonymised.
    await resident.send("/about_me")
    await resident.press("Erase my answers")
    await resident.press("Yes, erase them")
    async with app.session_maker() as session:
        facts = await session.get(LearnerFacts, me.id)
        band = await session.scalar(select(ResidentPass.age_band))
    assert facts.consented_at is None
    assert (facts.gender, facts.home_district) == (None, None)
    assert await count(app, LearnerGroup) == 0
    assert band is None
    assert await count(app, CheckIn) == 1
    assert await count(app, CheckIn, CheckIn.age_band.is_not(None)) == 0
    # The next look at About me asks again for consent; nothing is kept meanwhile.
    screen = await resident.send("/about_me")
    assert "A few questions about you?" in screen.text


async def test_stale_and_forged_answers_change_nothing(app, resident) -> None:
    await english_resident(resident)
    await resident.send("/about_me")
    await resident.press("Yes, ask me")
    await resident.press_data("me:dis:7")  # no eighth district
    await resident.press_data("me:grp:99")
    await resident.press_data("me:gen:-5")
    assert await count(app, LearnerGroup) == 0
    async with app.session_maker() as session:
        facts = await session.scalar(select(LearnerFacts))
    assert (facts.gender, facts.home_district) == (None, None)


async def test_forget_me_erases_the_answers_and_keeps_completions_anonymous(
    app, resident, volunteer
) -> None:
    await english_resident(resident)
    await resident.send("/about_me")
    await resident.press("Yes, ask me")
    await resident.press("Gender")
    await resident.press("Man")
    await resident.send("/survey")
    await resident.press("Languages")
    made = await session_now(app)  # a one-step track: completed by one check-in
    code = await pass_code(resident)
    await volunteer.send(f"/attend {made.session_ids[0]} {code}")
    await resident.send("/passport")
    await resident.press("Certificate")
    await resident.send("Ivan Petrov")
    assert await count(app, Certificate) == 1
    completions = await count(app, Completion)
    assert completions == 1

    export = await resident.send("/export_me")
    document = json.loads(resident.telegram.sent_files["learncity-my-data.json"])
    assert document["tables"]["learner_facts"][0]["gender"] == "man"
    assert document["tables"]["survey_answer"][0]["topics"] == ["languages"]
    assert document["tables"]["certificate"][0]["printed_name"] == "Ivan Petrov"
    assert document["tables"]["completion"]
    assert export is not None

    await resident.send("/forget_me")
    await resident.press("Yes, delete everything")
    for model in (LearnerFacts, LearnerGroup, SurveyAnswer, Certificate):
        assert await count(app, model) == 0, model
    # The completion still counts, tied to nobody.
    assert await count(app, Completion) == completions
    assert await count(app, Completion, Completion.resident_id.is_not(None)) == 0


# ---------------------------------------------------------------- completion and certificates


async def three_step_track(app):
    first = await session_now(app, title="Clay one")
    second = await session_now(app, title="Clay two", track_id=first.track_id)
    third = await session_now(app, title="Clay three", track_id=first.track_id)
    return first, second, third


async def test_organisers_set_the_completion_rule(app, resident, volunteer, organiser) -> None:
    first, second, third = await three_step_track(app)
    track = first.track_title
    screen = await organiser.send("/completion")
    assert f"the track «{track}» (trk-" in screen.text
    assert "steps needed: 3 of 3 (the default)" in screen.text
    reference = f"trk-{first.external_id.split('-')[1]}"
    # Refusals say why.
    assert "No track with this id" in (await organiser.send("/completion track nope 2")).text
    assert "at most the steps" in (await organiser.send(f"/completion track {reference} 4")).text
    assert (
        "no step with this number"
        in (await organiser.send(f"/completion track {reference} 2 5")).text
    )
    assert "Set a rule" in (await organiser.send(f"/completion track {reference} two")).text
    # Two steps, the third among them.
    screen = await organiser.send(f"/completion track {reference} 2 3")
    assert "Saved." in screen.text
    assert "steps needed: 2 of 3, steps 3 among them" in screen.text
    assert "Completed so far: 0." in screen.text

    code = await pass_code(resident)
    await volunteer.send(f"/attend {first.session_ids[0]} {code}")
    await volunteer.send(f"/attend {second.session_ids[0]} {code}")
    assert await count(app, Completion, Completion.track_id == first.track_id) == 0
    await volunteer.send(f"/attend {third.session_ids[0]} {code}")
    assert await count(app, Completion, Completion.track_id == first.track_id) == 1
    # The resident is told through the outbox.
    assert len(await outbox_rows(app, "completed")) == 1
    # Residents may not set rules.
    assert "only for" in (await resident.send(f"/completion track {reference} 1")).text


async def test_completion_time_is_the_check_in_that_met_the_rule(app, resident, volunteer):
    """Steps attended on days 1, 2, 3 in the order third, second, first step."""
    from catalogue.learners.tables import CompletionKind
    from catalogue.learners.tracks import completed_tracks
    from catalogue.learners.tracks import set_rule
    from catalogue.models import utc_now

    first, second, third = await three_step_track(app)
    code = await pass_code(resident)
    for made in (first, second, third):
        await volunteer.send(f"/attend {made.session_ids[0]} {code}")
    me = await resident_row(app, resident)
    day = utc_now().replace(microsecond=0) - timedelta(days=10)
    # session id → when the resident was checked in there
    days = {
        third.session_ids[0]: day,
        second.session_ids[0]: day + timedelta(days=1),
        first.session_ids[0]: day + timedelta(days=2),
    }
    on = {"first": days[first.session_ids[0]], "second": days[second.session_ids[0]]}
    on["third"] = day

    async def completed_at(min_steps, required):
        async with app.session_maker.begin() as session:
            for session_id, moment in days.items():
                await session.execute(
                    update(CheckIn)
                    .where(CheckIn.session_id == session_id)
                    .values(checked_in_at=moment)
                )
            kind = CompletionKind.TRACK
            await set_rule(session, kind, first.track_id, min_steps, required, ORGANISER, day)
            done = await completed_tracks(session, me.id)
        (mine,) = [item for item in done if item.target_id == first.track_id]
        return mine.completed_at

    assert await completed_at(None, []) == on["first"]  # the default: every step
    assert await completed_at(2, []) == on["second"]  # any two: the second day
    assert await completed_at(1, []) == on["third"]
    assert await completed_at(1, [1]) == on["first"]  # step 1 required: its day
    assert await completed_at(2, [2]) == on["second"]


async def test_a_certificate_is_issued_verified_and_revoked(
    app, resident, volunteer, admin, user_id
) -> None:
    made = await session_now(app, title="Robotics club")
    code = await pass_code(resident)
    await volunteer.send(f"/attend {made.session_ids[0]} {code}")

    screen = await resident.send("/passport")
    assert "Sessions attended: 1. Hours in all: 1.5 h." in screen.text
    assert f"{made.category_title}: 1.5 h" in screen.text
    assert f"{made.track_title}: 1.5 h" in screen.text
    assert f"the track «{made.track_title}»" in screen.text
    screen = await resident.press("Certificate")
    assert "Which name should be printed" in screen.text
    # A name that is not a name is refused, and may be typed again.
    await resident.send("   ")
    assert "1 to 80 characters" in texts(resident)[-1]
    await resident.send("Anna \x00 Petrova")
    sent = resident.calls("sendDocument")
    assert sent, texts(resident)
    assert "Its link: https://t.me/" in sent[-1].params["caption"]
    content = certificate_file(resident)

    reader = PdfReader(io.BytesIO(content))
    text = reader.pages[0].extract_text()
    assert "Certificate" in text
    assert "Anna Petrova" in text
    assert made.track_title in text
    assert "verify_" in text
    image = reader.pages[0].images[0]
    link = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))[0].text
    payload = link.split("start=", 1)[1]
    assert payload.startswith("verify_")
    async with app.session_maker() as session:
        stored = await session.scalar(select(Certificate))
    assert payload == f"verify_{stored.code}"
    assert len(stored.code) == 22

    # Anyone who scans it learns it is valid, what and when; not who.
    stranger = await english_resident(ResidentChat(app, user_id + 1))
    screen = await stranger.send(f"/start {payload}")
    assert "Valid certificate" in screen.text
    assert made.track_title in screen.text
    assert "Anna" not in screen.text
    # A forged or mistyped code is not valid.
    forged = await stranger.send(f"/start verify_{secrets.token_urlsafe(16)}")
    assert "Not a valid certificate" in forged.text
    assert "Not a valid certificate" in (await stranger.send("/start verify_short")).text

    # Only administrators revoke.
    assert "only for" in (await stranger.send(f"/revoke {stored.code}")).text
    assert "Usage: /revoke" in (await admin.send("/revoke")).text
    assert "No certificate has this code" in (await admin.send("/revoke nonsense")).text
    screen = await admin.send(f"/revoke {link}")
    assert "is revoked" in screen.text
    screen = await stranger.send(f"/start {payload}")
    assert "Revoked certificate" in screen.text
    assert "Revoked by the city on" in screen.text
    await stranger.close()
    # A forged button for somebody else's completion is refused.
    await resident.send("/passport")
    await resident.press_data(f"crt:{stored.completion_id + 1}:open")
    assert "not something you have completed" in texts(resident)[-1]
    # The holder cannot print it again.
    await resident.send("/passport")
    await resident.press("Certificate")
    assert "revoked by the city" in texts(resident)[-1]


async def test_a_certificate_in_russian(app, volunteer, user_id) -> None:
    resident = ResidentChat(app, user_id, language_code="ru")
    await resident.send("/start")
    await resident.press("Русский")
    made = await session_now(app, title="Robotics club")
    code = await pass_code(resident)
    await volunteer.send(f"/attend {made.session_ids[0]} {code}")
    screen = await resident.send("/passport")
    assert "Ваш паспорт обучения" in screen.text
    await resident.press("Сертификат")
    await resident.send("Анна Петрова")
    text = PdfReader(io.BytesIO(certificate_file(resident))).pages[0].extract_text()
    assert "Сертификат" in text
    assert "Анна Петрова" in text
    await resident.close()


async def test_a_self_check_in_shows_the_completion_at_once(app, resident, volunteer) -> None:
    from tests.checkin_world import scanned

    made = await session_now(app, title="Robotics club")
    await volunteer.send(f"/checkin {made.session_ids[0]}")
    await volunteer.press("QR for self check-in")
    payload = scanned(volunteer, "self-check-in.png").split("start=", 1)[1]
    await english_resident(resident)
    screen = await resident.send(f"/start {payload}")
    assert "You are checked in: Robotics club." in screen.text
    assert any("Congratulations! You have completed the track" in t for t in texts(resident))
    assert await outbox_rows(app, "completed") == []
    assert len(await outbox_rows(app, "about_me")) == 1


# ---------------------------------------------------------------- the survey


async def test_the_survey_is_answered_from_the_menu(app, resident) -> None:
    from catalogue.learners.survey import survey_demand

    await english_resident(resident)
    await resident.send("/menu")
    screen = await resident.press("What I'd like to learn")
    assert "Optional and anonymous" in screen.text
    await resident.press("Languages")
    await resident.press("Digital skills")
    await resident.press("Languages")  # taken back
    await resident.press("In my own words")
    screen = await resident.send("Pottery\x00   for\nadults")  # a NUL: never stored
    assert "In your words: Pottery for adults" in screen.text
    async with app.session_maker() as session:
        answer = await session.scalar(select(SurveyAnswer))
        demand = await survey_demand(session)
    assert answer.topics == ["digital"]
    assert demand.respondents == 1
    assert demand.topics == [("digital", 1)]
    assert demand.wishes == ["Pottery for adults"]


async def test_the_survey_is_offered_once_after_the_first_week(app, resident) -> None:
    from catalogue.learners.survey import SURVEY
    from catalogue.learners.survey import plan_survey_offers
    from catalogue.models import utc_now

    await english_resident(resident)
    now = utc_now()
    async with app.session_maker.begin() as session:
        assert await plan_survey_offers(session, now) == 0  # joined today
        await session.execute(update(Resident).values(created_at=now - timedelta(days=8)))
        assert await plan_survey_offers(session, now) == 1
        assert await plan_survey_offers(session, now) == 0  # once
    rows = await outbox_rows(app, SURVEY)
    assert len(rows) == 1


async def test_the_coordinator_sees_the_survey_beside_the_unmet_queries(
    app, resident, organiser
) -> None:
    await english_resident(resident)
    await resident.send("/survey")
    await resident.press("Digital skills")
    await resident.press("In my own words")
    await resident.send("<b>Beekeeping</b>")
    screen = await organiser.send("/report demand")
    assert "What residents looked for" in screen.text
    assert "What residents want to learn (survey)" in screen.text
    assert "Residents who answered: 1." in screen.text
    assert "• Digital skills: 1" in screen.text
    assert "&lt;b&gt;Beekeeping&lt;/b&gt;" in screen.text  # their words, never markup
    # The resident's name or id is nowhere.
    assert str(resident.user.id) not in screen.text
    # Residents may not see it.
    assert "What residents want to learn" not in (await resident.send("/report demand")).text


def test_learncity_report_demand_prints_the_survey(tmp_path) -> None:
    import os
    import sqlite3
    import subprocess
    import sys

    database = tmp_path / "survey.sqlite3"
    environment = os.environ | {"DATABASE_URL": f"sqlite:///{database}", "LOAD_DEMO": "false"}

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *arguments],
            capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120,
        )  # fmt: skip

    assert run("migrate").returncode == 0
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO resident (id, telegram_id, language, language_chosen, is_active, "
            "created_at, reminder_offsets, reminders_on, announcements_on) "
            "VALUES (1, 5, 'en', 1, 1, '2026-03-01 10:00:00', '[]', 1, 1)"
        )
        connection.execute(
            "INSERT INTO survey_answer (resident_id, topics, wish, answered_at) "
            "VALUES (1, '[\"languages\", \"arts\"]', 'Beekeeping', '2026-03-02 10:00:00')"
        )
    report = run("report", "demand", "2026-03-01", "2026-03-31")
    assert report.returncode == 0, report.stderr
    assert "Survey: what residents want to learn (1 answered)" in report.stdout
    assert "languages\t1" in report.stdout
    assert "- Beekeeping" in report.stdout
    outside = run("report", "demand", "2026-04-01", "2026-04-30")
    assert "(0 answered)" in outside.stdout


# ---------------------------------------------------------------- what the outbox sends


async def test_the_outbox_tells_of_a_completion_and_asks_once(
    app, resident, volunteer, user_id
) -> None:
    from catalogue.models import utc_now
    from tests.reminder_world import worker_for

    made = await session_now(app, title="Robotics club")
    code = await pass_code(resident)
    other = ResidentChat(app, user_id + 1)
    other_code = await pass_code(await english_resident(other))
    # Passes made before the questions existed: neither was asked.
    async with app.session_maker.begin() as session:
        await session.execute(LearnerFacts.__table__.delete())
    await volunteer.send(f"/attend {made.session_ids[0]} {code} {other_code}")
    await volunteer.send(f"/attend {made.session_ids[0]} {code}")  # again: nothing new queued
    assert len(await outbox_rows(app, "completed")) == 2
    assert len(await outbox_rows(app, "about_me")) == 2
    # The other one answers on their own before the question goes out: it is dropped.
    await other.send("/about_me")
    await other.press("Yes, ask me")
    worker = worker_for(app, resident.telegram, utc_now())
    await worker.drain()
    said = texts(resident)
    assert any(f"You have completed the track «{made.track_title}»" in t for t in said)
    assert any("A few questions about you?" in t for t in said)
    screen = await resident.press("Yes, ask me")
    assert "About me" in screen.text
    states = sorted(row.state for row in await outbox_rows(app, "about_me"))
    assert states == ["sent", "skipped"]
    assert sorted(row.state for row in await outbox_rows(app, "completed")) == ["sent", "sent"]
    await other.close()


async def test_the_survey_message_is_dropped_once_answered(app, resident, user_id) -> None:
    from catalogue.learners.survey import plan_survey_offers
    from catalogue.models import utc_now
    from tests.reminder_world import worker_for

    await english_resident(resident)
    other = await english_resident(ResidentChat(app, user_id + 1))
    now = utc_now()
    async with app.session_maker.begin() as session:
        await session.execute(update(Resident).values(created_at=now - timedelta(days=9)))
        assert await plan_survey_offers(session, now) == 2
    await other.send("/survey")
    await other.press("Languages")  # answered before the offer went out
    worker = worker_for(app, resident.telegram, now)
    await worker.drain()
    screen = resident.screen
    assert "You have been learning with us for a week" in screen.text
    assert "What would you like to learn?" in screen.text
    await resident.press("Science and nature")
    async with app.session_maker() as session:
        topics = await session.scalar(
            select(SurveyAnswer.topics).where(
                SurveyAnswer.resident_id != (await resident_row(app, other)).id
            )
        )
    assert topics == ["science"]
    states = sorted(row.state for row in await outbox_rows(app, "survey"))
    assert states == ["sent", "skipped"]
    await other.close()


def test_the_city_lists_come_from_comma_separated_settings() -> None:
    from bot.settings import SettingsError

    settings = load_settings(
        home_districts=" Centre , Riverside,,Centre",
        learner_groups="pensioner,student",
        survey_topics="languages",
        _env_file=None,
    )
    assert settings.home_districts == ("Centre", "Riverside")
    assert settings.learner_groups == ("pensioner", "student")
    assert settings.survey_topics == ("languages",)
    assert "pensioner" in load_settings(_env_file=None).learner_groups
    with pytest.raises(SettingsError, match="HOME_DISTRICTS"):
        load_settings(home_districts="x" * 61, _env_file=None)
