"""The GNLC report pack over a year of a city of 100,000 residents, on the real PostgreSQL.

    python bench/gnlc.py [--rows 2000000] [--residents 100000] [--sessions 40000]
                         [--keep | --reuse DATABASE]

A year of `--sessions` sessions (a thousand offers of 300 providers at 200 venues, some in
festivals, some cancelled, online and paid ones), `--residents` residents with passes and
age bands, three in four with consented answers (gender, district, groups), `--rows`
check-ins, a headcount at every session, 1.5 registrations a check-in, feedback from one in
five and 20,000 completed tracks: written with `INSERT … SELECT`.

Reported: the whole pack as `learncity report gnlc` makes it (figures, ten CSVs, nine PNG
charts, the PDF), and its parts: the figures (`build_gnlc`: every query), the files (charts
and PDF). The anchor is one bare `count(*), count(DISTINCT resident_id)` over the year's
check-ins, measured in the same run: the least any pack must read.

Target: the whole pack ≤ 10 s. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import insert_residents_sql
from bench.common import scratch_database
from bench.common import settings_for
from bot.report_files import ReportReader
from bot.report_files.gnlc import gnlc_pack
from bot.report_files.gnlc import make_gnlc_pack
from bot.startup.app import create_app
from catalogue.models import utc_now
from catalogue.reports.gnlc import Period
from catalogue.reports.gnlc import build_gnlc

FIRST_RESIDENT = 70_000_000
OFFERS = 1000
PROVIDERS = 300
VENUES = 200
FESTIVALS = 6
GROUPS = ("disability", "pensioner", "job_seeking", "migrant", "parent_on_leave")
DISTRICTS = 12


def seeding(rows: int, residents: int, sessions: int) -> list[str]:
    per_session = rows // sessions
    groups = ", ".join(f"'{group}'" for group in GROUPS)
    return [
        """INSERT INTO category (external_id, title, description, position)
            SELECT 'bench-cat-' || n, jsonb_build_object('en', 'Category ' || n), '{}', n
            FROM generate_series(1, 5) AS n""",
        f"""INSERT INTO provider (external_id, name)
            SELECT 'bench-provider-' || n, jsonb_build_object('en', 'Provider ' || n)
            FROM generate_series(1, {PROVIDERS}) AS n""",
        f"""INSERT INTO venue (external_id, name, address, district, step_free, accessibility)
            SELECT 'bench-venue-' || n, jsonb_build_object('en', 'Venue ' || n), '{{}}',
                'District ' || (n % {DISTRICTS}), n % 3 <> 0, '{{}}'
            FROM generate_series(1, {VENUES}) AS n""",
        f"""INSERT INTO festival (external_id, title, description, starts_on, ends_on)
            SELECT 'bench-festival-' || n, jsonb_build_object('en', 'Festival ' || n), '{{}}',
                current_date - 360 + n * 55, current_date - 354 + n * 55
            FROM generate_series(1, {FESTIVALS}) AS n""",
        f"""INSERT INTO offer (external_id, title, description, kind, format, language,
                provider_id, festival_id, price_minor, currency, accessibility, keywords,
                updated_at, created_at)
            SELECT 'bench-offer-' || n, jsonb_build_object('en', 'Offer ' || n), '{{}}',
                (ARRAY['course', 'master_class', 'lecture', 'excursion', 'workshop',
                       'festival_event'])[1 + n % 6],
                (ARRAY['in_person', 'in_person', 'in_person', 'online', 'hybrid'])[1 + n % 5],
                'en',
                (SELECT min(id) FROM provider) + n % {PROVIDERS},
                CASE WHEN n % 6 = 5
                     THEN (SELECT min(id) FROM festival) + n % {FESTIVALS} END,
                CASE WHEN n % 4 = 0 THEN 50000 ELSE 0 END, 'RUB', '{{}}', '[]', now(), now()
            FROM generate_series(1, {OFFERS}) AS n""",
        "CREATE TEMP TABLE bench_offers AS SELECT id, row_number() OVER (ORDER BY id) AS n "
        "FROM offer",
        "CREATE TEMP TABLE bench_venues AS SELECT id, row_number() OVER (ORDER BY id) AS n "
        "FROM venue",
        f"""INSERT INTO offer_session (external_id, offer_id, venue_id, starts_at, ends_at,
                status)
            SELECT 'bench-session-' || n,
                (SELECT id FROM bench_offers WHERE bench_offers.n = 1 + s.n % {OFFERS}),
                (SELECT id FROM bench_venues WHERE bench_venues.n = 1 + s.n % {VENUES}),
                now() - interval '364 days' + (s.n % 364) * interval '1 day'
                    + (s.n % 10) * interval '1 hour',
                now() - interval '364 days' + (s.n % 364) * interval '1 day'
                    + (s.n % 10) * interval '1 hour' + interval '2 hours',
                CASE WHEN s.n % 50 = 0 THEN 'cancelled' ELSE 'scheduled' END
            FROM generate_series(1, {sessions}) AS s(n)""",
        insert_residents_sql(FIRST_RESIDENT, residents),
        "CREATE TEMP TABLE bench_sessions AS SELECT id, row_number() OVER (ORDER BY id) AS n "
        "FROM offer_session",
        "CREATE TEMP TABLE bench_residents AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS n "
        "FROM resident",
        "CREATE INDEX ON bench_residents (n)",
        """INSERT INTO resident_pass (resident_id, code, age_band, created_at)
            SELECT id, upper(lpad(to_hex(id), 8, '0')),
                (ARRAY['u18', '18-29', '30-44', '45-59', '60+', NULL])[1 + n % 6], now()
            FROM bench_residents""",
        """INSERT INTO learner_facts (resident_id, asked_at, consented_at, gender,
                home_district, updated_at)
            SELECT id, now(), CASE WHEN n % 4 <> 0 THEN now() END,
                CASE WHEN n % 4 <> 0 THEN
                    (ARRAY['woman', 'man', 'woman', 'man', 'other', 'undisclosed'])[1 + n % 6]
                END,
                CASE WHEN n % 4 <> 0 THEN 'District ' || (n % 12) END, now()
            FROM bench_residents""",
        f"""INSERT INTO learner_group (resident_id, group_key)
            SELECT id, (ARRAY[{groups}])[1 + n % 5]
            FROM bench_residents WHERE n % 4 <> 0 AND n % 3 = 0""",
        """INSERT INTO attendance_entry (session_id, volunteer_id, method, people, created_at)
            SELECT s.id, 1000 + (s.n * 3 + v) % 400, 'code', 0, now()
            FROM bench_sessions s, generate_series(1, 2) AS v""",
        """INSERT INTO attendance_entry (session_id, volunteer_id, method, people, created_at)
            SELECT s.id, 1000 + s.n % 400, 'headcount', 5 + s.n % 20, now()
            FROM bench_sessions s""",
        """CREATE TEMP TABLE bench_entries AS SELECT session_id, min(id) AS id
            FROM attendance_entry WHERE method = 'code' GROUP BY session_id""",
        "CREATE INDEX ON bench_entries (session_id)",
        f"""INSERT INTO check_in (session_id, resident_id, entry_id, registered, first_visit,
                category_id, age_band, checked_in_at)
            SELECT s.id, r.id, e.id, k % 3 <> 0, false,
                (SELECT min(id) FROM category) + NULLIF((s.n + k) % 6, 5),
                (ARRAY['u18', '18-29', '30-44', '45-59', '60+', NULL])[1 + (s.n + k) % 6],
                now() - interval '364 days' + (s.n % 364) * interval '1 day'
                    + k * interval '1 second'
            FROM bench_sessions s
            CROSS JOIN generate_series(0, {per_session - 1}) AS k
            JOIN bench_residents r ON r.n = (s.n * {per_session} + k * 7919) % {residents}
            JOIN bench_entries e ON e.session_id = s.id""",
        f"""INSERT INTO seat (resident_id, session_id, status, via_offer, created_at,
                updated_at)
            SELECT r.id, s.id, 'going', false, now(), now()
            FROM bench_sessions s
            CROSS JOIN generate_series(0, {per_session * 3 // 2 - 1}) AS k
            JOIN bench_residents r ON r.n = (s.n * {per_session} + k * 7919) % {residents}
            WHERE k % 3 <> 0 OR k >= {per_session}""",
        """UPDATE check_in SET first_visit = true WHERE id IN (
            SELECT DISTINCT ON (resident_id) id FROM check_in
            ORDER BY resident_id, checked_in_at, id)""",
        """INSERT INTO session_feedback (session_id, resident_id, score, created_at)
            SELECT session_id, resident_id, 1 + (resident_id + session_id) % 5, now()
            FROM check_in WHERE (resident_id + session_id) % 5 = 0""",
        """INSERT INTO track (external_id, category_id, title, description, position)
            SELECT 'bench-track-' || n, (SELECT min(id) FROM category),
                jsonb_build_object('en', 'Track ' || n), '{}', n
            FROM generate_series(1, 20) AS n""",
        """INSERT INTO completion (resident_id, track_id, completed_at)
            SELECT r.id, (SELECT min(id) FROM track) + r.n % 20,
                now() - (r.n % 360) * interval '1 day'
            FROM bench_residents r WHERE r.n % 5 = 0""",
        "ANALYZE",
    ]


async def run(
    database_url: str, rows: int, residents: int, sessions: int, seed: bool = True
) -> dict[str, Any]:
    settings = settings_for(database_url)
    app = await create_app(settings)
    started = time.perf_counter()
    if seed:
        async with app.engine.begin() as connection:
            for statement in seeding(rows, residents, sessions):
                await connection.execute(text(statement))
    seeded = time.perf_counter() - started
    zone = settings.city_zone
    today = utc_now().astimezone(zone).date()
    period = Period(today - timedelta(days=364), today)
    reader = ReportReader("en", zone)

    anchors, packs, figures_times, files_times = [], [], [], []
    for _ in range(3):
        async with app.session_maker() as session:
            started = time.perf_counter()
            total, people = (
                await session.execute(
                    text("SELECT count(*), count(DISTINCT resident_id) FROM check_in")
                )
            ).one()
            anchors.append(time.perf_counter() - started)
        async with app.session_maker() as session:
            started = time.perf_counter()
            pack = await make_gnlc_pack(session, period, reader, utc_now())
            packs.append(time.perf_counter() - started)
        async with app.session_maker() as session:
            started = time.perf_counter()
            figures = await build_gnlc(session, period, zone, utc_now())
            figures_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        gnlc_pack(figures, reader)
        files_times.append(time.perf_counter() - started)
    await app.close()
    return {
        "check_in_rows": total,
        "residents_checked_in": people,
        "sessions": sessions,
        "seed_seconds": round(seeded, 1),
        "pack_seconds": round(min(packs), 2),
        "pack_seconds_first": round(packs[0], 2),
        "figures_seconds": round(min(figures_times), 2),
        "files_seconds": round(min(files_times), 2),
        "anchor_count_distinct_seconds": round(min(anchors), 2),
        "pdf_kilobytes": round(len(pack.pdf) / 1024),
        "learners": pack.figures.learners,
        "attendances": pack.figures.attendances,
        "events": pack.figures.events,
        "volunteer_hours": pack.figures.volunteer_hours,
        "target_seconds": 10,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=40_000)
    parser.add_argument(
        "--keep", action="store_true", help="keep the database and print its name, for --reuse"
    )
    parser.add_argument("--reuse", help="measure on a database kept by --keep (no seeding)")
    arguments = parser.parse_args()
    async with scratch_database(
        "learncity_bench_gnlc", reuse=arguments.reuse, keep=arguments.keep
    ) as url:
        result = await run(
            url,
            arguments.rows,
            arguments.residents,
            arguments.sessions,
            seed=not arguments.reuse,
        )
    print(
        f"GNLC pack over a year: {result['check_in_rows']:,} check-ins, "
        f"{result['sessions']:,} sessions: {result['pack_seconds']} s "
        f"(figures {result['figures_seconds']} s, charts and PDF {result['files_seconds']} s); "
        f"anchor count(DISTINCT) {result['anchor_count_distinct_seconds']} s; target ≤ 10 s",
        file=sys.stderr,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
