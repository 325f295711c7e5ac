"""The Mini App's JSON API through aiohttp's test client, against the real app and database.

Each test signs initData as Telegram does (with the key the server checks against), calls the
API as a resident, a volunteer, an organiser or an administrator would, and then looks in the
database or asks the chat, so the Mini App and the chat are seen to agree.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy import func
from sqlalchemy import select

from bot.settings import Settings
from bot.startup.app import App
from bot.startup.dispatcher import create_bot
from bot.startup.dispatcher import create_dispatcher
from bot.startup.mini_app import MiniApp as MiniAppBeside
from bot.startup.offline_api import OfflineSession
from bot.startup.offline_api import OfflineTelegram
from bot.webapp.auth import development_key
from bot.webapp.auth import sign_init_data
from bot.webapp.context import WebContext
from bot.webapp.server import create_web_app
from bot.webapp.server import web_context
from catalogue.checkin.device_scans import DoorScan
from catalogue.checkin.passes import pass_of
from catalogue.checkin.passes import show_code
from catalogue.checkin.tables import AttendanceEntry
from catalogue.learners.tables import Completion
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import Track
from catalogue.models import Venue
from catalogue.models import utc_now
from catalogue.residents import choose_track
from catalogue.search.engine import CatalogueSearch
from catalogue.session_changes import cancel_session
from catalogue.session_changes import reschedule_session
from catalogue.team import Role
from tests.checkin_world import check_ins
from tests.checkin_world import register
from tests.checkin_world import session_now
from tests.checkin_world import team_member
from tests.reminder_world import english_resident
from tests.reminder_world import make_offer
from tests.reminder_world import outbox_rows
from tests.reminder_world import resident_row
from tests.resident_chat import ResidentChat

TOKEN = "123456:TEST-token-for-the-mini-app"


@dataclass
class MiniApp:
    """The Mini App's server, and initData signed for whoever a test needs."""

    client: TestClient
    context: WebContext

    def init_data(
        self, user_id: int, *, language: str = "en", signed: datetime | None = None, key=None
    ) -> str:
        user = {"id": user_id, "first_name": "Anna", "language_code": language}
        return sign_init_data(key or self.context.signing_key, user, signed)

    def headers(self, user_id: int | None, **options: Any) -> dict[str, str]:
        if user_id is None:
            return {}
        return {"Authorization": f"tma {self.init_data(user_id, **options)}"}

    async def call(
        self, method: str, path: str, user_id: int | None, *, status: int = 200, **options: Any
    ) -> Any:
        body = options.pop("json", None)
        response = await self.client.request(
            method, path, headers=self.headers(user_id, **options), json=body
        )
        assert response.status == status, (response.status, await response.text())
        if response.content_type == "application/json":
            return await response.json()
        return await response.text()

    async def get(self, path: str, user_id: int | None, **options: Any) -> Any:
        return await self.call("GET", path, user_id, **options)

    async def post(self, path: str, user_id: int | None, **options: Any) -> Any:
        return await self.call("POST", path, user_id, **options)


async def serve(app: App, **settings: Any) -> AsyncIterator[MiniApp]:
    if settings.get("bot_token"):
        settings["bot_token"] = SecretStr(settings["bot_token"])
    configured = app.settings.model_copy(update=settings)
    search = app.dispatcher["catalogue_search"]
    context = web_context(configured, app.session_maker, app.i18n, search)
    async with TestClient(TestServer(create_web_app(context))) as client:
        yield MiniApp(client, context)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No demo programme: each test makes the sessions it looks for."""
    return settings.model_copy(update={"load_demo": False})


@pytest.fixture
async def mini_app(app: App) -> AsyncIterator[MiniApp]:
    """As `learncity run` serves it with a token: only Telegram's signature is accepted."""
    async for served in serve(app, bot_token=TOKEN):
        yield served


def new_id() -> int:
    return 7_000_000_000 + uuid.uuid4().int % 1_000_000_000


async def pass_code(app: App, chat: ResidentChat) -> str:
    """The resident's pass code, as /pass shows it."""
    async with app.session_maker.begin() as session:
        row = await session.scalar(select(Resident).where(Resident.telegram_id == chat.user.id))
        return show_code((await pass_of(session, row)).code)


def device_id() -> str:
    return uuid.uuid4().hex


# -- authentication


async def test_me_answers_who_the_signed_init_data_says(mini_app: MiniApp) -> None:
    user = new_id()
    me = await mini_app.get("/api/me", user, language="ru")
    assert me["telegram_id"] == user
    assert me["role"] == "resident"
    assert me["language"] == "ru"
    assert me["can_check_in"] is False
    assert me["development"] is False
    async with mini_app.context.sessions() as session:
        resident = await session.scalar(select(Resident).where(Resident.telegram_id == user))
    assert resident is not None
    assert resident.language == "ru"


@pytest.mark.parametrize(
    "problem",
    ["missing", "forged", "tampered", "wrong scheme", "expired", "from the future", "no hash"],
)
async def test_bad_init_data_gets_401_json(mini_app: MiniApp, problem: str) -> None:
    user = new_id()
    good = mini_app.init_data(user)
    headers = {
        "missing": {},
        "forged": {"Authorization": f"tma {mini_app.init_data(user, key='654321:forged')}"},
        "tampered": {"Authorization": "tma " + good.replace(str(user), str(user + 1))},
        "wrong scheme": {"Authorization": f"Bearer {good}"},
        "expired": {
            "Authorization": "tma "
            + mini_app.init_data(user, signed=utc_now() - timedelta(hours=1, minutes=1))
        },
        "from the future": {
            "Authorization": "tma "
            + mini_app.init_data(user, signed=utc_now() + timedelta(minutes=10))
        },
        "no hash": {"Authorization": "tma " + good.split("&hash=")[0]},
    }[problem]
    for path in ("/api/me", "/api/programme", "/api/plan", "/api/door/sessions"):
        response = await mini_app.client.get(path, headers=headers)
        assert response.status == 401, (path, problem)
        assert response.content_type == "application/json"
        body = await response.json()
        assert body["error"] == "unauthorized"
        assert body["message"]
    async with mini_app.context.sessions() as session:
        nobody = await session.scalar(select(Resident).where(Resident.telegram_id == user))
    assert nobody is None, "refused initData registers nobody"


async def test_init_data_is_accepted_for_as_long_as_the_setting_says(app: App) -> None:
    user = new_id()
    signed = utc_now() - timedelta(minutes=3)
    async for mini_app in serve(app, bot_token=TOKEN, web_app_max_age=120):
        await mini_app.get("/api/me", user, signed=signed, status=401)
    async for mini_app in serve(app, bot_token=TOKEN, web_app_max_age=600):
        me = await mini_app.get("/api/me", user, signed=signed)
        assert me["telegram_id"] == user
    async for mini_app in serve(app, bot_token=TOKEN):  # the default: one hour
        await mini_app.get("/api/me", user, signed=utc_now() - timedelta(minutes=59))


async def test_development_init_data_is_never_accepted_once_a_token_is_set(app: App) -> None:
    user = new_id()
    async for local in serve(app, bot_token=None):
        assert local.context.development
        local_init_data = local.init_data(user)
        assert (await local.get("/api/me", user))["development"] is True
    async for with_token in serve(app, bot_token=TOKEN):
        response = await with_token.client.get(
            "/api/me", headers={"Authorization": f"tma {local_init_data}"}
        )
        assert response.status == 401
        forged = with_token.init_data(user, key=development_key())
        response = await with_token.client.get(
            "/api/me", headers={"Authorization": f"tma {forged}"}
        )
        assert response.status == 401


@pytest.mark.parametrize(
    ("role", "door"),
    [
        (None, 403),
        (Role.VOLUNTEER, 200),
        (Role.ORGANISER, 200),
        ("admin", 200),
    ],
)
async def test_every_role_as_the_chat_sees_it(app: App, role: Any, door: int) -> None:
    user = new_id()
    settings: dict[str, Any] = {"bot_token": TOKEN}
    if role == "admin":
        settings["admin_ids"] = frozenset({user})
    elif role is not None:
        await team_member(app, user, role)
    async for mini_app in serve(app, **settings):
        me = await mini_app.get("/api/me", user)
        assert me["role"] == (str(role) if role else "resident")
        assert me["can_check_in"] is (door == 200)
        answer = await mini_app.get("/api/door/sessions", user, status=door)
        if door == 403:
            assert answer["error"] == "forbidden"
            assert answer["message"]
        else:
            assert "sessions" in answer
        for path in ("/api/door/undo", "/api/door/sessions/1/scans"):
            if door == 403:
                refused = await mini_app.post(path, user, status=403, json={"scans": []})
                assert refused["error"] == "forbidden"


async def test_unknown_api_paths_answer_json(mini_app: MiniApp) -> None:
    answer = await mini_app.get("/api/nothing-here", None, status=404)
    assert answer["error"] == "not_found"


# -- the Programme


async def _a_week_of(app: App) -> tuple[Any, Any]:
    soon = utc_now() + timedelta(days=1)
    pottery = await make_offer(app, [soon, soon + timedelta(days=2)], capacity=1)
    lecture = await make_offer(app, [soon + timedelta(hours=3)], title="Astronomy for children")
    async with app.session_maker.begin() as session:
        offer = await session.get(Offer, lecture.offer_id)
        offer.price_minor, offer.age_min, offer.age_max = 50000, 7, 12
        offer.format, offer.language = OfferFormat.ONLINE, "ru"
        lecture_session = await session.get(OfferSession, lecture.session_ids[0])
        venue = await session.get(Venue, lecture_session.venue_id)
        venue.step_free, venue.district = False, "Zarechny"
    return pottery, lecture


def _ids(programme: dict[str, Any]) -> set[int]:
    return {item["id"] for day in programme["days"] for item in day["sessions"]}


async def test_the_week_and_every_filter(app: App, mini_app: MiniApp) -> None:
    pottery, lecture = await _a_week_of(app)
    user = new_id()
    week = await mini_app.get("/api/programme", user)
    assert week["view"] == "week"
    assert {*pottery.session_ids, *lecture.session_ids} <= _ids(week)
    assert week["count"] == len(_ids(week))
    item = next(i for d in week["days"] for i in d["sessions"] if i["id"] == pottery.session_ids[0])
    assert item["title"] == "Pottery for beginners"
    assert item["free"] is True
    assert item["seat"] is None
    assert item["seats_left"] == 1
    assert item["venue"]["maps_url"].startswith("https://www.google.com/maps/search/?api=1")
    assert "56.5012" in item["venue"]["maps_url"]

    def only(**query: str) -> str:
        return "/api/programme?" + "&".join(f"{k}={v}" for k, v in query.items())

    lecture_id = lecture.session_ids[0]
    assert lecture_id not in _ids(await mini_app.get(only(free="1"), user))
    assert pottery.session_ids[0] in _ids(await mini_app.get(only(free="1"), user))
    assert lecture_id not in _ids(await mini_app.get(only(step_free="1"), user))
    assert lecture_id in _ids(await mini_app.get(only(age="9"), user))
    assert lecture_id not in _ids(await mini_app.get(only(age="30"), user))
    assert lecture_id in _ids(await mini_app.get(only(format="online"), user))
    assert lecture_id not in _ids(await mini_app.get(only(format="in_person"), user))
    assert _ids(await mini_app.get(only(district="Zarechny"), user)) == {lecture_id}
    assert lecture_id in _ids(await mini_app.get(only(language="ru"), user))
    assert lecture_id not in _ids(await mini_app.get(only(language="en"), user))
    found = _ids(await mini_app.get(only(q="astronomy"), user))
    assert lecture_id in found
    assert pottery.session_ids[0] not in found
    track = await mini_app.get(only(scope="track", id=str(pottery.track_id)), user)
    assert _ids(track) == set(pottery.session_ids)
    assert track["scope"]["title"] == pottery.track_title
    assert track["feed"]["webcal"].startswith("webcal://")
    assert track["feed"]["webcal"].endswith(f"/api/feeds/track/{pottery.track_id}.ics?lang=en")
    first_day = (utc_now() + timedelta(days=1)).astimezone(app.settings.city_zone).date()
    day = await mini_app.get(f"/api/programme?view=day&from={first_day.isoformat()}", user)
    assert day["from"] == day["to"] == first_day.isoformat()
    assert pottery.session_ids[1] not in _ids(day)


@pytest.mark.parametrize(
    "query",
    ["view=month", "from=tomorrow", "age=old", "format=paper", "scope=planet", "scope=track"],
)
async def test_a_bad_filter_gets_400_saying_which(mini_app: MiniApp, query: str) -> None:
    answer = await mini_app.get(f"/api/programme?{query}", new_id(), status=400)
    assert answer["error"] == "bad_request"
    assert answer["message"]


async def test_an_unknown_scope_or_session_gets_404(mini_app: MiniApp) -> None:
    user = new_id()
    for path in (
        "/api/programme?scope=festival&id=999999",
        "/api/sessions/999999",
        "/api/feeds/track/999999.ics",
    ):
        answer = await mini_app.get(path, user, status=404)
        assert answer["error"] == "not_found"


async def test_remind_me_and_cancel_take_the_seat_the_chat_shows(
    app: App, mini_app: MiniApp, resident: ResidentChat
) -> None:
    made = await make_offer(app, [utc_now() + timedelta(days=2)], capacity=1)
    session_id = made.session_ids[0]
    user = resident.user.id
    taken = await mini_app.post(f"/api/sessions/{session_id}/seat", user)
    assert taken["outcome"] == "going"
    assert taken["session"]["seat"] == "going"
    assert taken["session"]["seats_left"] == 0
    my = await resident.send("/my")
    assert "Pottery for beginners" in my.text
    again = await mini_app.post(f"/api/sessions/{session_id}/seat", user)
    assert again["outcome"] == "already"

    second = new_id()
    waiting = await mini_app.post(f"/api/sessions/{session_id}/seat", second)
    assert waiting["outcome"] == "waitlisted"
    assert waiting["session"]["waitlist_position"] == 1
    plan = await mini_app.get("/api/plan", second)
    assert [item["id"] for item in plan["waitlisted"]] == [session_id]

    left = await mini_app.call("DELETE", f"/api/sessions/{session_id}/seat", user)
    assert left["outcome"] == "left"
    assert left["session"]["seat"] is None
    async with app.session_maker() as session:
        seats = dict(
            (
                await session.execute(
                    select(Resident.telegram_id, Seat.status)
                    .join(Resident, Resident.id == Seat.resident_id)
                    .where(Seat.session_id == session_id)
                )
            ).all()
        )
    assert seats == {user: SeatStatus.DECLINED, second: SeatStatus.GOING}  # promoted, as in chat
    plan = await mini_app.get("/api/plan", second)
    assert [item["id"] for item in plan["going"]] == [session_id]
    assert plan["waitlisted"] == []


async def test_a_card_links_its_calendar_file_and_the_chat(app: App, mini_app: MiniApp) -> None:
    made = await make_offer(app, [utc_now() + timedelta(days=1), utc_now() + timedelta(days=3)])
    mini_app.context.bot_username = "learncity_bot"
    card = await mini_app.get(f"/api/sessions/{made.session_ids[0]}", new_id())
    assert card["description"] == "Hands in clay."
    assert card["provider"] == "Town studio"
    assert card["share_url"] == f"https://t.me/learncity_bot?start=offer_{made.offer_id}"
    assert [item["id"] for item in card["other_sessions"]] == [made.session_ids[1]]
    ics = await mini_app.get(card["ics_url"], None)
    assert "BEGIN:VEVENT" in ics
    assert f"UID:session-{made.session_ids[0]}@learncity" in ics


async def test_my_plan_shows_progress_along_the_track(
    app: App, mini_app: MiniApp, resident: ResidentChat
) -> None:
    made = await make_offer(app, [utc_now() + timedelta(days=1)])
    await english_resident(resident)
    async with app.session_maker.begin() as session:
        row = await session.scalar(select(Resident).where(Resident.telegram_id == resident.user.id))
        await choose_track(session, row, made.track_id)
    await mini_app.post(f"/api/sessions/{made.session_ids[0]}/seat", resident.user.id)
    plan = await mini_app.get("/api/plan", resident.user.id)
    assert [item["id"] for item in plan["going"]] == made.session_ids
    assert plan["track"]["title"] == made.track_title
    assert (plan["track"]["done"], plan["track"]["total"]) == (0, 1)
    assert plan["track"]["steps"][0]["next"]["seat"] == "going"
    mine = await mini_app.get("/api/programme?scope=my_track", resident.user.id)
    assert _ids(mine) == set(made.session_ids)


async def test_search_goes_through_the_chat_s_index(app: App, mini_app: MiniApp) -> None:
    await make_offer(app, [utc_now() + timedelta(days=1)], title="Beekeeping for town people")
    found = await mini_app.get("/api/search?q=beekeping", new_id())
    assert found["results"][0]["title"] == "Beekeeping for town people"
    assert found["results"][0]["next"]["seat"] is None


async def test_the_public_programme_needs_no_telegram_and_shows_no_seats(
    app: App, mini_app: MiniApp
) -> None:
    made = await make_offer(app, [utc_now() + timedelta(days=1)])
    week = await mini_app.get("/api/public/programme?lang=ru", None)
    item = next(i for d in week["days"] for i in d["sessions"] if i["id"] == made.session_ids[0])
    assert "seat" not in item
    assert item["price"] != "free"  # in Russian
    await mini_app.get("/api/public/programme?scope=my_track", None, status=400)
    filters = await mini_app.get("/api/public/filters?lang=en", None)
    assert "my_track" not in filters
    assert filters["formats"]
    card = await mini_app.get(f"/api/public/sessions/{made.session_ids[0]}", None)
    assert "seat" not in card


async def test_a_track_feed_follows_moves_and_cancellations(app: App, mini_app: MiniApp) -> None:
    start = (utc_now() + timedelta(days=2)).replace(microsecond=0, second=0)
    made = await make_offer(app, [start, start + timedelta(days=1)])
    async with app.session_maker.begin() as session:  # imported an hour ago
        (await session.get(Offer, made.offer_id)).updated_at = utc_now() - timedelta(hours=1)
    feed = f"/api/feeds/track/{made.track_id}.ics?lang=en"
    before = await mini_app.get(feed, None)
    assert before.count("BEGIN:VEVENT") == 2
    assert "STATUS:CANCELLED" not in before
    moved_to = start + timedelta(hours=5)
    async with app.session_maker.begin() as session:
        await reschedule_session(
            session,
            made.session_ids[0],
            moved_to,
            moved_to + timedelta(minutes=90),
            city_zone=app.settings.city_zone,
        )
        await cancel_session(session, made.session_ids[1], city_zone=app.settings.city_zone)
    after = await mini_app.get(feed, None)
    assert moved_to.strftime("DTSTART:%Y%m%dT%H%M%SZ") in after
    assert "STATUS:CANCELLED" in after
    assert f"UID:session-{made.session_ids[0]}@learncity" in after

    def sequence(text: str) -> int:
        return max(int(line.split(":")[1]) for line in text.splitlines() if "SEQUENCE" in line)

    assert sequence(after) > sequence(before)
    everything = await mini_app.get("/api/feeds/all.ics", None)
    assert f"UID:session-{made.session_ids[0]}@learncity" in everything


async def test_every_category_and_festival_has_a_feed(app: App, mini_app: MiniApp) -> None:
    made = await make_offer(app, [utc_now() + timedelta(days=1)])
    async with app.session_maker.begin() as session:
        festival = Festival(
            external_id=f"fest-{uuid.uuid4().hex[:6]}", title={"en": "Summer"}, description={}
        )
        session.add(festival)
        await session.flush()
        (await session.get(Offer, made.offer_id)).festival_id = festival.id
        festival_id = festival.id
        category_id = (await session.get(Track, made.track_id)).category_id
    uid = f"UID:session-{made.session_ids[0]}@learncity"
    for kind, scope_id in (("category", category_id), ("festival", festival_id)):
        week = await mini_app.get(f"/api/programme?scope={kind}&id={scope_id}", new_id())
        assert _ids(week) == set(made.session_ids)
        feed = week["feed"]["https"].split("://", 1)[1].split("/", 1)[1]
        calendar = await mini_app.get(f"/{feed}", None)
        assert uid in calendar
        assert "X-WR-CALNAME:" in calendar


# -- the Door


@pytest.fixture
async def door(app: App) -> tuple[ResidentChat, Any, list[ResidentChat]]:
    volunteer = await team_member(app, new_id())
    made = await session_now(app)
    people = [await english_resident(ResidentChat(app, new_id())) for _ in range(3)]
    await register(app, people[0], made.session_ids[0])
    return volunteer, made, people


async def test_a_scan_batch_sent_three_times_counts_once(
    app: App, mini_app: MiniApp, door: tuple[ResidentChat, Any, list[ResidentChat]]
) -> None:
    volunteer, made, people = door
    session_id = made.session_ids[0]
    codes = [await pass_code(app, person) for person in people]
    batch = [
        {"id": device_id(), "code": f"https://t.me/learncity_bot?start=pass_{codes[0]}"},
        {"id": device_id(), "code": codes[1]},
        {"id": device_id(), "code": codes[0]},
        {"id": device_id(), "code": "2345-6789"},
    ]
    path = f"/api/door/sessions/{session_id}/scans"
    first = await mini_app.post(path, volunteer.user.id, json={"scans": batch})
    answers = [(r["answer"], r["symbol"], r["repeat"]) for r in first["results"]]
    assert answers == [
        ("checked_in", "✅", False),
        ("walk_in", "🚶", False),
        ("already", "☑️", False),
        (answers[3][0], "❓", False),
    ]
    assert answers[3][0] in {"unknown", "malformed"}
    assert first["counts"] == {"registered": 1, "checked_in": 2, "walk_ins": 1, "headcount": 0}
    # The answer was lost: the device sends the batch again, twice at once, then once more.
    again = await asyncio.gather(
        *(mini_app.post(path, volunteer.user.id, json={"scans": batch}) for _ in range(2))
    )
    again.append(await mini_app.post(path, volunteer.user.id, json={"scans": batch}))
    for answer in again:
        assert [r["answer"] for r in answer["results"]] == [r[0] for r in answers]
        assert all(r["repeat"] for r in answer["results"])
        assert answer["counts"] == first["counts"]
    assert await check_ins(app, session_id) == 2
    async with app.session_maker() as session:
        entries = await session.scalar(
            select(func.count()).where(AttendanceEntry.session_id == session_id)
        )
        scans = await session.scalar(select(func.count()).where(DoorScan.session_id == session_id))
    assert entries == 2  # one per scan that checked someone in
    assert scans == 4
    # A new scan of the third pass is new: undo takes back only it.
    third = await mini_app.post(
        path, volunteer.user.id, json={"scans": [{"id": device_id(), "code": codes[2]}]}
    )
    assert third["results"][0]["answer"] == "walk_in"
    assert third["counts"]["checked_in"] == 3
    undone = await mini_app.post("/api/door/undo", volunteer.user.id)
    assert undone["undone"]["people"] == 1
    assert undone["undone"]["method"] == "scan"
    assert undone["counts"]["checked_in"] == 2
    assert await check_ins(app, session_id) == 2
    # The chat's /checkin sees the same: the first pass is already in.
    await volunteer.send(f"/checkin {session_id}")
    screen = await volunteer.send(codes[0])
    assert "already" in screen.text


async def test_a_scan_at_the_door_is_followed_up_as_a_check_in_in_chat(
    app: App, mini_app: MiniApp, door: tuple[ResidentChat, Any, list[ResidentChat]]
) -> None:
    """Checked in by the Mini App's door: the one-step track is completed and the resident is
    told, and asked about themselves once, through the outbox (as /checkin does)."""
    volunteer, made, people = door
    path = f"/api/door/sessions/{made.session_ids[0]}/scans"
    scan = {"id": device_id(), "code": await pass_code(app, people[1])}
    for _ in range(2):  # the device sends it again: nothing more follows
        await mini_app.post(path, volunteer.user.id, json={"scans": [scan]})
    resident = await resident_row(app, people[1])
    async with app.session_maker() as session:
        completed = list(
            await session.scalars(select(Completion).where(Completion.resident_id == resident.id))
        )
    assert [completion.track_id for completion in completed] == [made.track_id]
    mine = [row for row in await outbox_rows(app) if row.resident_id == resident.id]
    told = [(row.kind, row.chat_id) for row in mine if row.kind in {"about_me", "completed"}]
    assert sorted(told) == [("about_me", people[1].user.id), ("completed", people[1].user.id)]


async def test_a_headcount_counts_once_per_device_id(
    app: App, mini_app: MiniApp, door: tuple[ResidentChat, Any, list[ResidentChat]]
) -> None:
    volunteer, made, _people = door
    path = f"/api/door/sessions/{made.session_ids[0]}/headcount"
    body = {"id": device_id(), "people": 12}
    first = await mini_app.post(path, volunteer.user.id, json=body)
    second = await mini_app.post(path, volunteer.user.id, json=body)
    assert (first["headcount"], first["repeat"]) == (12, False)
    assert (second["headcount"], second["repeat"]) == (12, True)
    await mini_app.post(path, volunteer.user.id, json={"id": device_id(), "people": 0}, status=400)
    undone = await mini_app.post("/api/door/undo", volunteer.user.id)
    assert undone["undone"]["method"] == "headcount"
    assert undone["counts"]["headcount"] == 0
    nothing = await mini_app.post("/api/door/undo", new_id(), status=403)
    assert nothing["error"] == "forbidden"


async def test_the_door_refuses_what_checkin_refuses(
    app: App, mini_app: MiniApp, door: tuple[ResidentChat, Any, list[ResidentChat]]
) -> None:
    volunteer, made, _people = door
    tomorrow = await make_offer(app, [utc_now() + timedelta(days=2)])
    user = volunteer.user.id
    listed = await mini_app.get("/api/door/sessions", user)
    ids = [item["session"]["id"] for item in listed["sessions"]]
    assert made.session_ids[0] in ids
    assert tomorrow.session_ids[0] not in ids
    scan = {"scans": [{"id": device_id(), "code": "2345-6789"}]}
    refused = await mini_app.post(
        f"/api/door/sessions/{tomorrow.session_ids[0]}/scans", user, status=409, json=scan
    )
    assert refused["error"] == "not_today"
    assert refused["message"]
    gone = await mini_app.post("/api/door/sessions/999999/scans", user, status=409, json=scan)
    assert gone["error"] == "no_session"
    for bad in (
        {},
        {"scans": []},
        {"scans": [{"id": "short", "code": "x"}]},
        {"scans": [{"id": device_id(), "code": "x"}] * 51},
    ):
        answer = await mini_app.post(
            f"/api/door/sessions/{made.session_ids[0]}/scans", user, status=400, json=bad
        )
        assert answer["error"] == "bad_request"
        assert answer["message"]
    async with app.session_maker() as session:
        assert await session.scalar(select(func.count()).select_from(DoorScan)) == 0
    # A scan that read no pass is answered on its own line; the rest of the batch counts.
    mixed = {"scans": [{"id": device_id()}, {"id": device_id(), "code": "x" * 5000}]}
    answer = await mini_app.post(
        f"/api/door/sessions/{made.session_ids[0]}/scans", user, json=mixed
    )
    assert [result["answer"] for result in answer["results"]] == ["malformed", "malformed"]
    assert [result["symbol"] for result in answer["results"]] == ["❓", "❓"]


# -- the chat's side and the local run


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_start_up_serves_the_mini_app_and_sets_the_menu_button(app: App) -> None:
    port = free_port()
    settings = app.settings.model_copy(
        update={
            "bot_token": SecretStr(TOKEN),
            "web_app_url": "https://app.example.org",
            "web_port": port,
        }
    )
    telegram = OfflineTelegram()
    bot = create_bot(settings, OfflineSession(telegram))
    mini_app = MiniAppBeside(settings, app.session_maker, app.i18n, CatalogueSearch())
    await mini_app.start(bot)
    try:
        (call,) = [call for call in telegram.calls if call.method == "setChatMenuButton"]
        button = json.loads(call.params["menu_button"])
        assert button["type"] == "web_app"
        assert button["web_app"]["url"] == "https://app.example.org/app/"
        assert mini_app.context.bot_username == (await bot.me()).username
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/api/me") as response:
                assert response.status == 401
            user = new_id()
            init_data = sign_init_data(TOKEN, {"id": user, "first_name": "Anna"})
            headers = {"Authorization": f"tma {init_data}"}
            async with http.get(f"http://127.0.0.1:{port}/api/me", headers=headers) as response:
                assert (await response.json())["telegram_id"] == user
        # A second process on the same port: the chat goes on, the Mini App says why not.
        second = MiniAppBeside(settings, app.session_maker, app.i18n, CatalogueSearch())
        await second.start(bot)
        assert not second.serving
    finally:
        await mini_app.stop()
        await bot.session.close()


async def test_the_main_menu_and_offer_cards_open_the_mini_app(app: App) -> None:
    # Without WEB_APP_URL the chat shows no Mini App buttons.
    plain = await english_resident(ResidentChat(app, new_id()))
    assert not [b for b in (await plain.send("/menu")).buttons() if "web_app" in b]
    settings = app.settings.model_copy(
        update={"bot_token": SecretStr(TOKEN), "web_app_url": "https://app.example.org"}
    )
    # The same routers in a dispatcher made with WEB_APP_URL and a token.
    dispatcher = create_dispatcher(settings, app.session_maker, app.i18n)
    with_mini_app = replace(app, settings=settings, dispatcher=dispatcher)
    made = await make_offer(app, [utc_now() + timedelta(days=1)])
    chat = await english_resident(ResidentChat(with_mini_app, new_id()))
    menu = await chat.send("/menu")
    opens = [b["web_app"]["url"] for b in menu.buttons() if "web_app" in b]
    assert opens == ["https://app.example.org/app/"]
    card = await chat.send(f"/start offer_{made.external_id}")
    opens = [b["web_app"]["url"] for b in card.buttons() if "web_app" in b]
    assert opens == [f"https://app.example.org/app/sessions/{made.session_ids[0]}"]


def test_learncity_run_without_a_token_prints_working_local_links(tmp_path) -> None:
    port = free_port()
    environment = os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'local.sqlite3'}",
        "WEB_PORT": str(port),
        "LOAD_DEMO": "false",
    }
    environment.pop("BOT_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=tmp_path,
    )
    try:
        links: dict[str, str] = {}
        assert process.stdout is not None
        while len(links) < 3:
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            for name in ("Mini App (", "Mini App Door", "Programme for any browser"):
                if line.startswith(name):
                    links[name] = line.split(": ", 1)[1].strip()
        resident_link, door_link = links["Mini App ("], links["Mini App Door"]
        assert resident_link.startswith(f"http://127.0.0.1:{port}/app/#tgWebAppData=")
        assert links["Programme for any browser"] == f"http://127.0.0.1:{port}/programme"

        def me(link: str) -> dict[str, Any]:
            fragment = dict(parse_qsl(link.split("#", 1)[1]))
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/me",
                headers={"Authorization": f"tma {fragment['tgWebAppData']}"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)

        resident_me, door_me = me(resident_link), me(door_link)
        assert (resident_me["telegram_id"], resident_me["role"]) == (1, "resident")
        assert resident_me["development"] is True
        assert door_me["role"] == "admin"
        assert door_me["can_check_in"] is True
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=60)
    assert process.returncode == 0
