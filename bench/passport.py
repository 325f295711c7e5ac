"""The learning passport of a resident with 500 attendances, on the real PostgreSQL.

    python bench/passport.py [--attendances 500] [--others 2000] [--runs 40]

A city's catalogue of 10 categories, 40 tracks of 5 steps (200 offers) and 2 festivals, 1,000
sessions of 90 minutes. One resident was checked in at the first `--attendances` of them, so
has completed every track and festival (the longest passport); `--others` other residents were
checked in at 100 sessions each (the table the passport reads holds `--others` × 100 more
rows). Reported:

* `/passport` through the real dispatcher, middlewares and handler of one bot process (the Bot
  API answered in memory, bot.startup.offline_api): from the update to the screen sent,
  including recording new completions and drawing the screen, p50 / p95 / max;
* the catalogue part alone (`passport_of`, which also records completions not yet recorded), p50;
* the anchor, measured in the same run: the bare SQL that lists the resident's attended
  sessions (one SELECT … JOIN, rows fetched), p50.

Target: `/passport` p95 ≤ 200 ms. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiogram.types import User
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile
from bench.common import scratch_database
from bench.common import settings_for
from bot.startup.app import create_app
from bot.startup.local_chat import LocalChat
from catalogue.learners.passport import passport_of
from catalogue.models import utc_now

TELEGRAM_ID = 70_000_001
SESSIONS = 1000
CATEGORIES, TRACKS, STEPS = 10, 40, 5


SEED = """
INSERT INTO category (external_id, title, description, position)
SELECT 'cat-' || n, json_build_object('en', 'Category ' || n), '{}', n
FROM generate_series(1, :categories) n;
INSERT INTO track (external_id, category_id, title, description, position)
SELECT 'trk-' || n, (SELECT id FROM category WHERE external_id = 'cat-' || (1 + n % :categories)),
       json_build_object('en', 'Track ' || n), '{}', n
FROM generate_series(1, :tracks) n;
INSERT INTO provider (external_id, name) VALUES ('prov', '{"en": "Provider"}');
INSERT INTO festival (external_id, title, description)
SELECT 'fest-' || n, json_build_object('en', 'Festival ' || n), '{}' FROM generate_series(1, 2) n;
INSERT INTO offer (external_id, title, description, kind, format, language, provider_id,
                   festival_id, price_minor, currency, accessibility, keywords, updated_at,
                   created_at)
SELECT 'offer-' || n, json_build_object('en', 'Offer ' || n), '{}', 'workshop', 'in_person',
       'en', (SELECT id FROM provider), (SELECT id FROM festival WHERE external_id = 'fest-' ||
       (1 + n % 2)), 0, 'RUB', '{}', '[]', now(), now()
FROM generate_series(1, :tracks * :steps) n;
INSERT INTO track_step (track_id, offer_id, position)
SELECT t.id, o.id, (o.id - 1) % :steps
FROM offer o JOIN track t ON t.external_id = 'trk-' || (1 + (o.id - 1) / :steps);
INSERT INTO offer_session (external_id, offer_id, starts_at, ends_at, status)
SELECT 'session-' || n, 1 + (n - 1) % (:tracks * :steps),
       CAST(:start AS timestamptz) + n * interval '3 hours',
       CAST(:start AS timestamptz) + n * interval '3 hours' + interval '90 minutes',
       'scheduled'
FROM generate_series(1, :sessions) n;
INSERT INTO resident (telegram_id, language, language_chosen, is_active, created_at,
                      reminder_offsets, reminders_on, announcements_on)
SELECT :telegram_id + n, 'en', true, true, now(), '[1440, 60]', true, true
FROM generate_series(0, :others) n;
INSERT INTO attendance_entry (session_id, volunteer_id, method, people, created_at)
SELECT id, 1, 'code', 0, starts_at FROM offer_session;
-- The resident: the first sessions, in time order (every offer: all tracks and festivals).
INSERT INTO check_in (session_id, resident_id, entry_id, registered, first_visit, checked_in_at)
SELECT s.id, (SELECT id FROM resident WHERE telegram_id = :telegram_id), e.id, false, false,
       s.starts_at
FROM offer_session s JOIN attendance_entry e ON e.session_id = s.id
WHERE s.id <= :attendances;
-- Everybody else: 100 sessions each.
INSERT INTO check_in (session_id, resident_id, entry_id, registered, first_visit, checked_in_at)
SELECT s.id, r.id, e.id, false, false, s.starts_at
FROM resident r
CROSS JOIN LATERAL generate_series(0, 99) k
JOIN offer_session s ON s.id = 1 + (r.id * 7 + k * 10) % :sessions
JOIN attendance_entry e ON e.session_id = s.id
WHERE r.telegram_id <> :telegram_id
ON CONFLICT DO NOTHING;
ANALYZE;
"""


async def seed(app: Any, attendances: int, others: int) -> int:
    values = {
        "categories": CATEGORIES,
        "tracks": TRACKS,
        "steps": STEPS,
        "sessions": SESSIONS,
        "start": utc_now() - timedelta(days=400),
        "telegram_id": TELEGRAM_ID,
        "others": others,
        "attendances": min(attendances, SESSIONS),
    }
    numbers = {key: value for key, value in values.items() if isinstance(value, int)}
    async with app.session_maker.begin() as session:
        for statement in SEED.split(";\n"):
            if statement.strip():
                for key, value in numbers.items():  # whole numbers written in: typed by PG
                    statement = statement.replace(f":{key}", str(value))
                await session.execute(text(statement), {"start": values["start"]})
    async with app.session_maker() as session:
        resident_id = await session.scalar(
            text("SELECT id FROM resident WHERE telegram_id = :t"), {"t": TELEGRAM_ID}
        )
        rows = await session.scalar(text("SELECT count(*) FROM check_in"))
        mine = await session.scalar(
            text("SELECT count(*) FROM check_in WHERE resident_id = :r"), {"r": resident_id}
        )
    print(f"check_in rows: {rows}, the resident's: {mine}", file=sys.stderr)
    return int(resident_id)


ANCHOR = text(
    "SELECT s.offer_id, s.starts_at, s.ends_at, o.title FROM check_in c "
    "JOIN offer_session s ON s.id = c.session_id JOIN offer o ON o.id = s.offer_id "
    "WHERE c.resident_id = :r ORDER BY s.starts_at DESC"
)


async def run(database_url: str, attendances: int, others: int, runs: int) -> dict[str, Any]:
    app = await create_app(settings_for(database_url, chat=True))
    try:
        resident_id = await seed(app, attendances, others)
        user = User(id=TELEGRAM_ID, is_bot=False, first_name="R", language_code="en")
        chat = LocalChat(app, user=user, write=lambda _text: None)
        chat.update_ids = iter(range(1, 10_000_000))
        screens: list[float] = []
        for number in range(runs + 5):
            started = time.perf_counter()
            await chat._send("/passport")
            if number >= 5:  # warm-up: caches, prepared statements
                screens.append((time.perf_counter() - started) * 1000)
        shown = chat.telegram.last_bot_message(TELEGRAM_ID)
        assert shown is not None
        assert "Sessions attended: " in shown.text, shown.text
        catalogue: list[float] = []
        anchor: list[float] = []
        for _number in range(runs):
            async with app.session_maker.begin() as session:
                started = time.perf_counter()
                passport = await passport_of(session, resident_id)
                catalogue.append((time.perf_counter() - started) * 1000)
            async with app.session_maker() as session:
                started = time.perf_counter()
                (await session.execute(ANCHOR, {"r": resident_id})).all()
                anchor.append((time.perf_counter() - started) * 1000)
        await chat.bot.session.close()
    finally:
        await app.close()
    return {
        "attendances": passport.sessions,
        "completed": len(passport.completed),
        "passport_p50_ms": round(statistics.median(screens), 1),
        "passport_p95_ms": round(percentile(screens, 0.95), 1),
        "passport_max_ms": round(max(screens), 1),
        "catalogue_p50_ms": round(statistics.median(catalogue), 1),
        "anchor_bare_select_p50_ms": round(statistics.median(anchor), 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendances", type=int, default=500)
    parser.add_argument("--others", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=40)
    arguments = parser.parse_args()
    async with scratch_database("learncity_bench_passport") as url:
        result = await run(url, arguments.attendances, arguments.others, arguments.runs)
    result["targets_met"] = result["passport_p95_ms"] <= 200
    print(
        f"/passport with {result['attendances']} attendances: "
        f"p50 {result['passport_p50_ms']} ms, p95 {result['passport_p95_ms']} ms "
        f"(catalogue part {result['catalogue_p50_ms']} ms) "
        f"beside the bare SELECT of the sessions {result['anchor_bare_select_p50_ms']} ms",
        file=sys.stderr,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
