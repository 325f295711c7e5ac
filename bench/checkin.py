"""Check-in at the door and attendance reports, on the real PostgreSQL.

    python bench/checkin.py [--codes 1000] [--volunteers 10] [--rows 1000000]

1. One session, `--codes` residents with passes (half of them registered), `--volunteers`
   volunteers checking codes in at once, each code in its own message, through the real
   dispatcher, middlewares and handlers of one bot process (the Bot API answered in memory,
   bot.startup.offline_api, so only our stack and the database are measured). Each volunteer
   types their
   share of the codes and then a fifth of a neighbour's share again (two volunteers at two
   doors with the same resident), so the same code often arrives from two chats at once.
   Reported: per-code response time (p50, p95, max: from the update arriving to the answer
   sent), and double counts: "checked in" answers beyond one per resident, plus check-in rows
   beyond one per resident. The anchor is the bare database work of one check-in (the same
   statements, no Telegram stack), measured in the same run.
2. A festival of 2,000 sessions with `--rows` check-ins (500 per session, from 100,000
   residents), 1.1 million registrations, headcounts and feedback, written with
   `INSERT … SELECT`. Reported: the time of the report (`build_report`: every figure /report
   shows) over all of it, the chart, and the CSV export of every attendance row.

Targets: p95 ≤ 50 ms, 0 double counts, report ≤ 2 s. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import add_door_people
from bench.common import add_offer
from bench.common import insert_residents_sql
from bench.common import percentile
from bench.common import scratch_database
from bench.common import settings_for
from bench.common import volunteers_at_door
from bot.report_files import chart_labels
from bot.report_files import chart_png
from bot.screens.view import Viewer
from bot.startup.app import create_app
from catalogue.checkin.door import check_in_codes
from catalogue.checkin.passes import show_code
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import ResidentPass
from catalogue.checkin.today import open_session
from catalogue.models import Category
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferKind
from catalogue.models import OfferSession
from catalogue.models import Provider
from catalogue.models import Venue
from catalogue.models import utc_now
from catalogue.reports.attendance import ReportScope
from catalogue.reports.attendance import ScopeKind
from catalogue.reports.attendance import build_report
from catalogue.reports.attendance import write_attendance_csv

FIRST_RESIDENT = 50_000_000
FIRST_VOLUNTEER = 60_000_000


# ---------------------------------------------------------------- part 1: at the door


async def seed_door(app: Any, codes: int, volunteers: int) -> tuple[int, list[str]]:
    now = utc_now()
    async with app.session_maker.begin() as session:
        venue = Venue(external_id="bench-venue", name={"en": "Hall"}, address={}, accessibility={})
        offer = await add_offer(
            session,
            venue,
            external_id="bench-open-day",
            title={"en": "Open day"},
            kind=OfferKind.FESTIVAL_EVENT,
        )
        offer_session = OfferSession(
            external_id="bench-open-day-1",
            offer_id=offer.id,
            venue_id=venue.id,
            starts_at=now - timedelta(minutes=10),
            ends_at=now + timedelta(hours=3),
        )
        session.add(offer_session)
        await session.flush()
        passes = await add_door_people(
            session,
            now,
            [offer_session.id],
            codes=codes,
            first_resident=FIRST_RESIDENT,
            volunteers=volunteers,
            first_volunteer=FIRST_VOLUNTEER,
        )
    async with app.engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    return offer_session.id, [show_code(code) for code in passes]


async def door_run(
    database_url: str, codes: int, volunteers: int, interval: float
) -> dict[str, Any]:
    app = await create_app(settings_for(database_url, chat=True))
    session_id, passes = await seed_door(app, codes, volunteers)
    share = codes // volunteers
    chats = await volunteers_at_door(app, volunteers, FIRST_VOLUNTEER, session_id, UPDATE_IDS)
    timings: list[float] = []
    new_answers = 0
    typed_total = 0

    async def volunteer(number: int) -> None:
        nonlocal new_answers, typed_total
        chat = chats[number]
        mine = passes[number * share : (number + 1) * share]
        neighbour = passes[((number + 1) % volunteers) * share :][: share // 5]
        # Interleaved, so the neighbour's codes arrive while the neighbour is typing them too.
        padded = neighbour + [""] * (len(mine) - len(neighbour))
        typed = [code for pair in zip(mine, padded, strict=True) for code in pair if code]
        await asyncio.sleep(random.uniform(0, interval))  # volunteers do not start in step
        for code in typed:
            # Reading the next pass takes a person about `interval`: the door's pace.
            await asyncio.sleep(random.uniform(0.5, 1.5) * interval)
            before = len(chat.telegram.calls)
            started = time.perf_counter()
            await chat._send(code)
            timings.append(time.perf_counter() - started)
            answers = [
                str(call.params.get("text", ""))
                for call in chat.telegram.calls[before:]
                if call.method == "sendMessage"
            ]
            new_answers += sum(text.startswith(("✅", "🚶")) for text in answers)
            typed_total += 1

    started = time.perf_counter()
    await asyncio.gather(*(volunteer(number) for number in range(volunteers)))
    wall = time.perf_counter() - started
    async with app.session_maker() as session:
        rows = await session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.session_id == session_id)
        )
        distinct = await session.scalar(
            select(func.count(func.distinct(CheckIn.resident_id))).where(
                CheckIn.session_id == session_id
            )
        )
    anchor = await bare_anchor(app, codes)
    for chat in chats:
        await chat.bot.session.close()
    await app.close()
    expected = share * volunteers
    return {
        "codes": expected,
        "messages": typed_total,
        "volunteers": volunteers,
        "interval_s": interval,
        "p50_ms": round(statistics.median(timings) * 1000, 1),
        "p95_ms": round(percentile(timings, 0.95) * 1000, 1),
        "max_ms": round(max(timings) * 1000, 1),
        "codes_per_second": round(typed_total / wall, 1),
        "checked_in": rows,
        "double_counts": (new_answers - distinct) + (rows - distinct),
        "missing": expected - distinct,
        "anchor_bare_check_in_ms": anchor,
    }


async def bare_anchor(app: Any, count: int) -> float:
    """The same statements for one code, one transaction each, without Telegram: median ms."""
    now = utc_now()
    async with app.session_maker.begin() as session:
        offer_session = OfferSession(
            external_id="bench-anchor",
            offer_id=await session.scalar(select(Offer.id).limit(1)),
            starts_at=now - timedelta(minutes=5),
            ends_at=now + timedelta(hours=1),
        )
        session.add(offer_session)
    async with app.session_maker() as session:
        codes = [show_code(code) for code in await session.scalars(select(ResidentPass.code))]
    timings = []
    for code in codes[: min(count, 300)]:
        started = time.perf_counter()
        async with app.session_maker.begin() as session:
            found = await open_session(session, offer_session.id, now, app.settings.city_zone)
            await check_in_codes(session, found, [code], FIRST_VOLUNTEER, now)
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) * 1000, 2)


class _Counter:
    def __init__(self) -> None:
        self.value = 10_000_000

    def __next__(self) -> int:
        self.value += 1
        return self.value


UPDATE_IDS = _Counter()


# ---------------------------------------------------------------- part 2: a million rows


SESSIONS = 2000
RESIDENTS = 100_000
REGISTERED_PER_SESSION = 550
WALK_INS = 150  # of the 500 check-ins of a session


async def seed_million(app: Any, rows: int) -> int:
    per_session = rows // SESSIONS
    async with app.session_maker.begin() as session:
        festival = Festival(external_id="bench-festival", title={"en": "Bench festival"},
                            description={})  # fmt: skip
        provider = Provider(external_id="bench-provider-2", name={"en": "Bench"})
        session.add_all([festival, provider])
        session.add_all(
            Category(external_id=f"bench-cat-{n}", title={"en": f"Category {n}"}, description={})
            for n in range(5)
        )
        session.add_all(
            Venue(external_id=f"bench-venue-{n}", name={"en": f"Venue {n}"}, address={},
                  accessibility={}, district=f"District {n % 8}")
            for n in range(40)
        )  # fmt: skip
        await session.flush()
        festival_id, provider_id = festival.id, provider.id
    statements = [
        # 200 offers of the festival, 10 sessions each over 100 days.
        f"""INSERT INTO offer (external_id, title, description, kind, format, language,
                provider_id, festival_id, price_minor, currency, accessibility, keywords,
                updated_at, created_at)
            SELECT 'bench-offer-' || n, '{{"en": "Event"}}', '{{}}', 'festival_event',
                'in_person', 'en', {provider_id}, {festival_id}, 0, 'RUB', '{{}}', '[]',
                now(), now()
            FROM generate_series(1, {SESSIONS // 10}) AS n""",
        f"""INSERT INTO offer_session (external_id, offer_id, venue_id, starts_at, ends_at, status)
            SELECT 'bench-session-' || n,
                (SELECT id FROM offer
                 WHERE external_id = 'bench-offer-' || (1 + n % {SESSIONS // 10})),
                (SELECT id FROM venue WHERE external_id = 'bench-venue-' || (n % 40)),
                now() - interval '100 days' + (n % 100) * interval '1 day',
                now() - interval '100 days' + (n % 100) * interval '1 day' + interval '2 hours',
                'scheduled'
            FROM generate_series(1, {SESSIONS}) AS n""",
        insert_residents_sql(FIRST_RESIDENT * 2, RESIDENTS),
        "CREATE TEMP TABLE bench_sessions AS SELECT id, row_number() OVER (ORDER BY id) AS n "
        "FROM offer_session WHERE external_id LIKE 'bench-session-%'",
        "CREATE TEMP TABLE bench_residents AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS n "
        f"FROM resident WHERE telegram_id > {FIRST_RESIDENT * 2}",
        "CREATE INDEX ON bench_residents (n)",
        """INSERT INTO attendance_entry (session_id, volunteer_id, method, people, created_at)
            SELECT s.id, v, 'code', 0, now() FROM bench_sessions s, generate_series(1, 10) AS v""",
        """INSERT INTO attendance_entry (session_id, volunteer_id, method, people, created_at)
            SELECT s.id, 1, 'headcount', 20 + s.n % 30, now() FROM bench_sessions s""",
        # Per session: residents k = 0..rows/2000-1 came (the first WALK_INS without a seat),
        # seats went to k = WALK_INS..WALK_INS+550-1, so the last ones did not come.
        f"""INSERT INTO check_in (session_id, resident_id, entry_id, registered, first_visit,
                category_id, age_band, checked_in_at)
            SELECT s.id, r.id, e.id, k >= {WALK_INS}, false,
                (SELECT min(id) FROM category) + NULLIF((s.n * 37 + k) % 6, 5),
                (ARRAY['u18', '18-29', '30-44', '45-59', '60+', NULL])[1 + (s.n + k) % 6],
                now() - interval '100 days' + (s.n % 100) * interval '1 day'
                    + k * interval '1 second'
            FROM bench_sessions s
            CROSS JOIN generate_series(0, {per_session - 1}) AS k
            JOIN bench_residents r ON r.n = (s.n * 500 + k * 97) % {RESIDENTS}
            JOIN attendance_entry e ON e.session_id = s.id AND e.method = 'code'
                AND e.volunteer_id = 1 + k % 10""",
        f"""INSERT INTO seat (resident_id, session_id, status, via_offer, created_at,
                updated_at)
            SELECT r.id, s.id, 'going', false, now(), now()
            FROM bench_sessions s
            CROSS JOIN generate_series({WALK_INS}, {WALK_INS + REGISTERED_PER_SESSION - 1}) AS k
            JOIN bench_residents r ON r.n = (s.n * 500 + k * 97) % {RESIDENTS}""",
        """UPDATE check_in SET first_visit = true WHERE id IN (
            SELECT DISTINCT ON (resident_id) id FROM check_in
            ORDER BY resident_id, checked_in_at, id)""",
        """INSERT INTO session_feedback (session_id, resident_id, score, created_at)
            SELECT session_id, resident_id, 1 + (resident_id + session_id) % 5, now()
            FROM check_in WHERE (resident_id + session_id) % 5 = 0""",
        "ANALYZE",
    ]
    async with app.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))
    return festival_id


async def million_run(database_url: str, rows: int) -> dict[str, Any]:
    settings = settings_for(database_url)
    app = await create_app(settings)
    started = time.perf_counter()
    festival_id = await seed_million(app, rows)
    seeded = time.perf_counter() - started
    async with app.session_maker() as session:
        total = await session.scalar(select(func.count()).select_from(CheckIn))
    scope = ReportScope(ScopeKind.FESTIVAL, festival_id, title={"en": "Bench festival"})
    viewer = Viewer("en", settings.city_zone)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        async with app.session_maker() as session:
            report = await build_report(session, scope, settings.city_zone, utc_now())
        timings.append(time.perf_counter() - started)
    with app.i18n.context(), app.i18n.use_locale("en"):
        started = time.perf_counter()
        png = chart_png(report, chart_labels(report, viewer))
        chart_seconds = time.perf_counter() - started
    started = time.perf_counter()
    buffer = io.BytesIO()
    async with app.session_maker() as session:
        exported = await write_attendance_csv(session, scope, settings.city_zone, buffer)
    csv_seconds = time.perf_counter() - started
    await app.close()
    return {
        "check_in_rows": total,
        "seed_seconds": round(seeded, 1),
        "report_seconds": round(min(timings), 3),
        "report_seconds_first": round(timings[0], 3),
        "chart_seconds_cold": round(chart_seconds, 3),
        "chart_bytes": len(png),
        "csv_rows": exported,
        "csv_seconds": round(csv_seconds, 2),
        "csv_megabytes": round(len(buffer.getvalue()) / 2**20, 1),
        "report_attendance": report.attendance,
        "report_no_show_rate": round(report.no_show_rate or 0, 3),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=1000)
    parser.add_argument("--volunteers", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--interval",
        type=float,
        default=0.5,
        help="seconds each volunteer takes to read the next pass (the door's pace)",
    )
    parser.add_argument(
        "--only",
        choices=("door", "flat_out", "report"),
        action="append",
        help="run only these parts (repeatable); the last line then holds only their figures",
    )
    arguments = parser.parse_args()
    result: dict[str, Any] = {}
    codes, volunteers = arguments.codes, arguments.volunteers
    for part, run in (
        ("door", lambda url: door_run(url, codes, volunteers, arguments.interval)),
        # The same, every volunteer typing the next code the moment the answer arrives.
        ("flat_out", lambda url: door_run(url, codes, volunteers, 0.0)),
        ("report", lambda url: million_run(url, arguments.rows)),
    ):
        if arguments.only and part not in arguments.only:
            continue
        async with scratch_database("learncity_bench_checkin") as url:
            result[part] = await run(url)
        print(part, json.dumps(result[part]), file=sys.stderr)
    if arguments.only:
        print(
            json.dumps(
                {f"{part}_{key}": value for part in result for key, value in result[part].items()}
            )
        )
        return
    door, flat_out, report = result["door"], result["flat_out"], result["report"]
    summary = {
        "p95_ms": door["p95_ms"],
        "double_counts": door["double_counts"],
        "report_seconds": report["report_seconds"],
        "targets_met": door["p95_ms"] <= 50
        and door["double_counts"] == 0
        and flat_out["double_counts"] == 0
        and door["missing"] == 0
        and report["report_seconds"] <= 2,
        **{f"door_{key}": value for key, value in door.items()},
        **{f"flat_out_{key}": value for key, value in flat_out.items()},
        **{f"report_{key}": value for key, value in report.items() if key != "report_seconds"},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main())
