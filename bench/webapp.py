"""The Mini App's server: the Programme's API, the Door under load, a page's first view.

    python bench/webapp.py [--events 500] [--volunteers 50] [--scans 20] [--interval 2] [--sqlite]

The real Mini App server (bot/webapp/server.py, the same factory `learncity run` uses) on a
loopback port, spoken to over real HTTP by aiohttp's client with initData signed as Telegram
signs it, on a fresh PostgreSQL database (`--sqlite`: a SQLite file instead).

1. Programme: a festival of `--events` events in one week (Cork's festival has about 500),
   at 40 venues in 8 districts, with prices, ages, formats and languages mixed. Reported: p50
   and p95 of `GET /api/programme` for that week (the festival's scope; then everything with
   the free and step-free filters; then the public, read-only answer), and its JSON bytes.
2. Door: `--volunteers` volunteers scanning at once at the door's pace (`--interval`: a
   resident shows the pass, the camera reads it, about 2 s; 0 for flat out; 50 volunteers
   then ask 25 scans a second of one process), `--scans` passes each (half of
   the residents registered, a fifth of each volunteer's passes also scanned by a neighbour),
   each scan its own `POST /api/door/sessions/{id}/scans`; then every volunteer sends all of
   its scans again as one batch, as a device does after a lost answer. Reported: p50/p95 per
   scan request, double counts (check-in rows beyond one per resident, and new answers beyond
   one per resident), and whether the retried batches counted nothing.
   Anchor, in the same run and database: the same check-ins typed to the chat's `/checkin`
   through the real dispatcher (bot.startup.local_chat, the Bot API answered in memory), by as
   many volunteers at once, to another session of the same day.
3. First view: the bytes a resident's phone receives when the Mini App opens on the
   Programme (`/app/`: the page, our CSS and scripts, then `/api/me`, `/api/plan`,
   `/api/filters` that the page asks for) and when a browser opens `/programme`, gzip as
   Telegram's web views ask for it. Telegram's own `telegram-web-app.js` is not ours and not
   counted. Target: ≤ 150 KB.

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import socket
import statistics
import sys
import tempfile
import time
import uuid
import zlib
from datetime import datetime
from datetime import time as clock
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import add_door_people
from bench.common import percentile
from bench.common import scratch_database
from bench.common import settings_for
from bench.common import volunteers_at_door
from bot.startup.app import App
from bot.startup.app import create_app
from bot.webapp.auth import sign_init_data
from bot.webapp.server import create_web_app
from bot.webapp.server import web_context
from catalogue.checkin.passes import show_code
from catalogue.checkin.tables import CheckIn
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import OfferKind
from catalogue.models import OfferSession
from catalogue.models import Provider
from catalogue.models import Venue
from catalogue.models import utc_now

TOKEN = "123456:bench-webapp-token"
FIRST_RESIDENT = 70_000_000
FIRST_VOLUNTEER = 80_000_000
PROGRAMME_REQUESTS = 40
FIRST_VIEW_TARGET = 150 * 1024
# What the browser loads with the page by itself: scripts, stylesheets, icons, images.
ASSET = re.compile(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)="(/[^"]+)\"""")


def ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p95_ms": round(percentile(values, 0.95) * 1000, 1),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def authorization(user_id: int) -> dict[str, str]:
    user = {"id": user_id, "first_name": "Bench", "language_code": "en"}
    return {"Authorization": f"tma {sign_init_data(TOKEN, user)}"}


# ---------------------------------------------------------------- seeding


async def seed_festival(app: App, events: int) -> tuple[int, str]:
    """`events` sessions of a festival over the coming week; its id and its first day."""
    zone = app.settings.city_zone
    first_day = (utc_now() + timedelta(days=1)).astimezone(zone).date()
    rng = random.Random(17)
    async with app.session_maker.begin() as session:
        festival = Festival(
            external_id="bench-lifelong", title={"en": "Lifelong Learning Festival"}, description={}
        )
        provider = Provider(external_id="bench-provider", name={"en": "Cork City Libraries"})
        venues = [
            Venue(
                external_id=f"bench-venue-{n}",
                name={"en": f"Venue {n}"},
                address={"en": f"{n} Main Street"},
                district=f"District {n % 8}",
                latitude=51.89 + n / 1000,
                longitude=-8.47 - n / 1000,
                step_free=n % 3 != 0,
                accessibility={},
            )
            for n in range(40)
        ]
        session.add_all([festival, provider, *venues])
        await session.flush()
        kinds = list(OfferKind)
        formats = list(OfferFormat)
        offers = [
            Offer(
                external_id=f"bench-event-{n}",
                title={"en": f"Festival event {n}: {rng.choice(['clay', 'code', 'choir'])}"},
                description={"en": "An hour of learning together. " * 4},
                kind=rng.choice(kinds),
                format=rng.choice(formats),
                language=rng.choice(["en", "en", "ru"]),
                provider_id=provider.id,
                festival_id=festival.id,
                age_min=rng.choice([None, 6, 12, 18, 60]),
                price_minor=rng.choice([0, 0, 0, 500]),
                currency="EUR",
                accessibility={},
                keywords=[],
            )
            for n in range(events)
        ]
        session.add_all(offers)
        await session.flush()
        sessions = []
        for n, offer in enumerate(offers):
            day = first_day + timedelta(days=n % 7)
            starts = datetime.combine(day, clock(9 + n % 11, 0), tzinfo=zone)
            sessions.append(
                OfferSession(
                    external_id=f"bench-event-{n}-1",
                    offer_id=offer.id,
                    venue_id=venues[n % len(venues)].id,
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=90),
                    capacity=rng.choice([None, 20, 40]),
                )
            )
        session.add_all(sessions)
        festival_id = festival.id
    return festival_id, first_day.isoformat()


async def seed_door(app: App, codes: int, volunteers: int) -> tuple[list[int], list[str]]:
    """Two sessions under way now (the Mini App's door, the chat's door), `codes` residents
    with passes (half registered for both), `volunteers` volunteers."""
    now = utc_now()
    async with app.session_maker.begin() as session:
        offer_id = await session.scalar(select(Offer.id).limit(1))
        doors = [
            OfferSession(
                external_id=f"bench-door-{n}",
                offer_id=offer_id,
                starts_at=now - timedelta(minutes=10),
                ends_at=now + timedelta(hours=3),
            )
            for n in range(2)
        ]
        session.add_all(doors)
        await session.flush()
        passes = await add_door_people(
            session,
            now,
            [door.id for door in doors],
            codes=codes,
            first_resident=FIRST_RESIDENT,
            volunteers=volunteers,
            first_volunteer=FIRST_VOLUNTEER,
        )
        door_ids = [door.id for door in doors]
    return door_ids, [show_code(code) for code in passes]


def shares(passes: list[str], volunteers: int, each: int) -> list[list[str]]:
    """Each volunteer's passes, with a fifth of a neighbour's share scanned again."""
    own = [passes[n * each : (n + 1) * each] for n in range(volunteers)]
    return [own[n] + own[(n + 1) % volunteers][: max(each // 5, 1)] for n in range(volunteers)]


# ---------------------------------------------------------------- the parts


async def programme_part(
    http: aiohttp.ClientSession, base: str, festival_id: int, first_day: str
) -> dict[str, Any]:
    resident = FIRST_RESIDENT - 1
    headers = authorization(resident)
    result: dict[str, Any] = {}
    for name, path, signed in (
        ("festival_week", f"/api/programme?scope=festival&id={festival_id}&from={first_day}", True),
        ("filtered_week", f"/api/programme?free=1&step_free=1&from={first_day}", True),
        ("public_week", f"/api/public/programme?from={first_day}&lang=en", False),
    ):
        timings, size, count = [], 0, 0
        for attempt in range(PROGRAMME_REQUESTS + 3):
            started = time.perf_counter()
            async with http.get(base + path, headers=headers if signed else {}) as response:
                wire = await response.read()
                assert response.status == 200, (response.status, wire[:300])
                encoded = response.headers.get("Content-Encoding")
            if attempt >= 3:  # the first ones build the search index and warm the caches
                timings.append(time.perf_counter() - started)
            body = zlib.decompress(wire, 47) if encoded else wire  # 47: gzip or zlib
            size, count = len(body), json.loads(body)["count"]
        result[name] = {
            **ms(timings),
            "sessions": count,
            "json_bytes": size,
            "wire_bytes": len(wire),
        }
    return result


async def door_part(
    app: App,
    http: aiohttp.ClientSession,
    base: str,
    door_id: int,
    scans: list[list[str]],
    interval: float,
) -> dict[str, Any]:
    timings: list[float] = []
    sent: list[list[dict[str, str]]] = [[] for _ in scans]
    new_answers = 0

    async def volunteer(number: int) -> None:
        nonlocal new_answers
        headers = authorization(FIRST_VOLUNTEER + number)
        await asyncio.sleep(random.uniform(0, interval))  # volunteers do not start in step
        for code in scans[number]:
            await asyncio.sleep(random.uniform(0.5, 1.5) * interval)  # the door's pace
            scan = {"id": uuid.uuid4().hex, "code": f"https://t.me/learncity_bot?start=pass_{code}"}
            sent[number].append(scan)
            started = time.perf_counter()
            async with http.post(
                f"{base}/api/door/sessions/{door_id}/scans", json={"scans": [scan]}, headers=headers
            ) as response:
                answer = await response.json()
                assert response.status == 200, answer
            timings.append(time.perf_counter() - started)
            new_answers += answer["results"][0]["answer"] in ("checked_in", "walk_in")

    started = time.perf_counter()
    await asyncio.gather(*(volunteer(number) for number in range(len(scans))))
    wall = time.perf_counter() - started

    async def retry(number: int) -> int:
        """The whole of the volunteer's scans again, in batches of 50: new check-ins made."""
        headers = authorization(FIRST_VOLUNTEER + number)
        made = 0
        for first in range(0, len(sent[number]), 50):
            batch = sent[number][first : first + 50]
            async with http.post(
                f"{base}/api/door/sessions/{door_id}/scans", json={"scans": batch}, headers=headers
            ) as response:
                answer = await response.json()
            made += sum(not result["repeat"] for result in answer["results"])
        return made

    before = await check_in_rows(app, door_id)
    counted_again = sum(await asyncio.gather(*(retry(n) for n in range(len(scans)))))
    after = await check_in_rows(app, door_id)
    distinct = await distinct_residents(app, door_id)
    return {
        **ms(timings),
        "scans": len(timings),
        "scans_per_second": round(len(timings) / wall, 1),
        "checked_in": after,
        "double_counts": (new_answers - distinct) + (after - distinct),
        "retried_batches_counted": counted_again + (after - before),
    }


async def chat_anchor(
    app: App, door_id: int, scans: list[list[str]], interval: float
) -> dict[str, Any]:
    """The same check-ins typed to the chat's /checkin, as many volunteers at once."""
    counter = iter(range(20_000_000, 30_000_000))
    chats = await volunteers_at_door(app, len(scans), FIRST_VOLUNTEER, door_id, counter)
    timings: list[float] = []

    async def volunteer(number: int) -> None:
        await asyncio.sleep(random.uniform(0, interval))
        for code in scans[number]:
            await asyncio.sleep(random.uniform(0.5, 1.5) * interval)
            started = time.perf_counter()
            await chats[number]._send(code)
            timings.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(volunteer(number) for number in range(len(scans))))
    wall = time.perf_counter() - started
    for chat in chats:
        await chat.bot.session.close()
    rows, distinct = await check_in_rows(app, door_id), await distinct_residents(app, door_id)
    return {
        **ms(timings),
        "codes": len(timings),
        "codes_per_second": round(len(timings) / wall, 1),
        "double_counts": rows - distinct,
    }


async def check_in_rows(app: App, session_id: int) -> int:
    async with app.session_maker() as session:
        return await session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.session_id == session_id)
        )


async def distinct_residents(app: App, session_id: int) -> int:
    async with app.session_maker() as session:
        return await session.scalar(
            select(func.count(func.distinct(CheckIn.resident_id))).where(
                CheckIn.session_id == session_id
            )
        )


async def first_view(
    http: aiohttp.ClientSession, base: str, page: str, api_calls: list[str]
) -> dict[str, Any]:
    """Bytes on the wire (gzip allowed) of a page, its own assets, and its first API calls."""
    headers = {"Accept-Encoding": "gzip, deflate", **authorization(FIRST_RESIDENT - 1)}
    parts: dict[str, int] = {}
    plain = 0
    async with http.get(base + page, headers=headers) as response:
        wire = await response.content.read()
        assert response.status == 200, (page, response.status)
        parts[page] = len(wire)
    async with http.get(base + page, headers={"Accept-Encoding": "identity"}) as response:
        html = await response.text()
        plain += len(html.encode())
    for asset in dict.fromkeys(ASSET.findall(html)):
        async with http.get(base + asset, headers=headers) as response:
            if response.status == 200:
                parts[asset.split("?")[0]] = len(await response.content.read())
    for call in api_calls:
        async with http.get(base + call, headers=headers) as response:
            parts[call] = len(await response.content.read())
    total = sum(parts.values())
    return {
        "bytes": total,
        "kilobytes": round(total / 1024, 1),
        "html_uncompressed_bytes": plain,
        "within_150_kb": total <= FIRST_VIEW_TARGET,
        "parts": parts,
    }


# ---------------------------------------------------------------- the run


async def run(database_url: str, arguments: argparse.Namespace) -> dict[str, Any]:
    settings = settings_for(database_url, chat=True)
    app = await create_app(settings)
    try:
        festival_id, first_day = await seed_festival(app, arguments.events)
        each = arguments.scans
        door_ids, passes = await seed_door(app, arguments.volunteers * each, arguments.volunteers)
        if database_url.startswith("postgresql"):
            async with app.engine.begin() as connection:
                await connection.execute(text("ANALYZE"))
        with_token = settings.model_copy(update={"bot_token": SecretStr(TOKEN)})
        context = web_context(
            with_token, app.session_maker, app.i18n, app.dispatcher["catalogue_search"]
        )
        runner = web.AppRunner(create_web_app(context), access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        base = f"http://127.0.0.1:{port}"
        scans = shares(passes, arguments.volunteers, each)
        try:
            async with (
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http,
                aiohttp.ClientSession(auto_decompress=False) as raw,  # bytes on the wire
            ):
                programme = await programme_part(raw, base, festival_id, first_day)
                print("programme", json.dumps(programme), file=sys.stderr)
                pace = arguments.interval
                door = await door_part(app, http, base, door_ids[0], scans, pace)
                print("door", json.dumps(door), file=sys.stderr)
                anchor = await chat_anchor(app, door_ids[1], scans, pace)
                print("anchor", json.dumps(anchor), file=sys.stderr)
                week = f"?from={first_day}"
                views = {
                    "app": await first_view(
                        raw, base, f"/app/{week}", ["/api/me", "/api/plan", "/api/filters"]
                    ),
                    "public": await first_view(raw, base, f"/programme{week}&lang=en", []),
                }
                print("first_view", json.dumps(views), file=sys.stderr)
        finally:
            await runner.cleanup()
    finally:
        await app.close()
    return {"programme": programme, "door": door, "chat_checkin_anchor": anchor, "views": views}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--volunteers", type=int, default=50)
    parser.add_argument("--scans", type=int, default=20, help="passes each volunteer scans")
    parser.add_argument(
        "--interval",
        type=float,
        default=2.0,
        help="seconds between one volunteer's scans (the door's pace; 0: flat out)",
    )
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file, not PostgreSQL")
    arguments = parser.parse_args()
    if arguments.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            result = await run(f"sqlite:///{folder}/bench.sqlite3", arguments)
    else:
        async with scratch_database("learncity_bench_webapp") as url:
            result = await run(url, arguments)
    programme, door, anchor = result["programme"], result["door"], result["chat_checkin_anchor"]
    summary = {
        "database": "sqlite" if arguments.sqlite else "postgresql",
        "events_in_the_week": programme["festival_week"]["sessions"],
        "programme_week_p95_ms": programme["festival_week"]["p95_ms"],
        "door_scan_p95_ms": door["p95_ms"],
        "chat_checkin_p95_ms": anchor["p95_ms"],
        "door_double_counts": door["double_counts"],
        "retried_batches_counted": door["retried_batches_counted"],
        "app_first_view_kb": result["views"]["app"]["kilobytes"],
        "public_first_view_kb": result["views"]["public"]["kilobytes"],
        **{f"programme_{k}_{f}": v for k, d in programme.items() for f, v in d.items()},
        **{f"door_{k}": v for k, v in door.items()},
        **{f"chat_checkin_{k}": v for k, v in anchor.items()},
        "first_view": result["views"],
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
