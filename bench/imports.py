"""Imports on the default database: what a resident's press costs meanwhile, and a big file.

    python bench/imports.py [--rows 78000] [--presses 200] [--big-mb 50] [--skip-big]

1. On SQLite (the default database), a resident's "Remind me" press, that is the catalogue
   function its handler calls (`catalogue.subscriptions.toggle` for a session, in a
   transaction of its own), is timed with nothing else running (the anchor), then again
   while an organiser's import of a `--rows`-row sessions CSV (about 5 MB) runs in the same
   process, as it would in the chat. Reported: p50, p95 and max of each, presses that
   failed, and the import's own time.
2. `learncity catalogue import` of a CSV of `--big-mb` MB (about 800,000 sessions for 50 MB)
   on a fresh SQLite file, as a separate process: wall time, CPU time and peak resident
   memory. The anchor is Python's csv module only reading the same file, in the same run.
   Then an offer's `.ics` of `--events` events (100,000) the same way.

Targets: the press's p95 during the import within a few times its p95 without; no failed
press; the big file under 2 minutes and 300 MB. The machine's load average is printed: on a
shared machine wall times stretch, CPU times do not.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from catalogue.database import apply_migrations  # noqa: E402
from catalogue.database import create_engine  # noqa: E402
from catalogue.database import create_session_maker  # noqa: E402
from catalogue.exchange.importer import import_file  # noqa: E402
from catalogue.models import OfferSession  # noqa: E402
from catalogue.models import Resident  # noqa: E402
from catalogue.subscriptions import SESSION  # noqa: E402
from catalogue.subscriptions import toggle  # noqa: E402

ZONE = ZoneInfo("Asia/Yekaterinburg")
SMALL = ROOT / "tests" / "data" / "small_catalogue.json"


def write_sessions_csv(path: Path, rows: int | None, megabytes: float | None = None) -> int:
    """A sessions CSV of `rows` rows, or of rows up to `megabytes` (short ones, as a city's
    export of times without seconds); the number of rows written."""
    start = datetime(2030, 1, 1, 9, tzinfo=UTC)
    size, most, written = 0, (megabytes or 0) * 2**20, 0
    with path.open("w", newline="", encoding="utf-8") as file:
        file.write("id,offer,starts_at,ends_at,capacity\n")
        while (rows is not None and written < rows) or (rows is None and size < most):
            begins = start + timedelta(minutes=30 * written)
            ends = begins + timedelta(hours=1, minutes=30)
            line = (
                f"s{written},smartphone-basics,{begins:%Y-%m-%dT%H:%MZ},{ends:%Y-%m-%dT%H:%MZ},20\n"
            )
            file.write(line)
            size += len(line)
            written += 1
    return written


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def figures(name: str, times: list[float], failed: int) -> str:
    return (
        f"{name:<24} presses {len(times):>5}  p50 {statistics.median(times) * 1000:7.1f} ms  "
        f"p95 {percentile(times, 0.95) * 1000:7.1f} ms  max {max(times) * 1000:7.1f} ms  "
        f"failed {failed}"
    )


async def press_during(folder: Path, rows: int, presses: int) -> None:
    url = f"sqlite+aiosqlite:///{folder / 'press.sqlite3'}"
    engine = create_engine(url)
    await apply_migrations(engine)
    session_maker = create_session_maker(engine)
    async with session_maker.begin() as session:
        await import_file(session, SMALL)
        residents = [Resident(telegram_id=900_000 + n, language="en") for n in range(presses * 4)]
        session.add_all(residents)
        await session.flush()
        target = await session.scalar(
            select(OfferSession.id).where(OfferSession.external_id == "smartphone-basics-1")
        )
    queue = iter(residents)

    async def press() -> tuple[float, bool]:
        began = time.perf_counter()
        try:
            async with session_maker.begin() as session:
                resident = await session.get(Resident, next(queue).id)
                await toggle(session, resident, SESSION, target, datetime.now(UTC), ZONE)
        except Exception as error:  # a failed press is what is counted
            print("  press failed:", type(error).__name__, error)
            return time.perf_counter() - began, False
        return time.perf_counter() - began, True

    async def pressing(until: asyncio.Future | None, count: int) -> tuple[list[float], int]:
        times, failed = [], 0
        while (until is None and len(times) < count) or (until is not None and not until.done()):
            took, ok = await press()
            times.append(took)
            failed += not ok
            await asyncio.sleep(0.02)  # a resident every 20 ms
        return times, failed

    quiet, quiet_failed = await pressing(None, presses)
    print(figures("press, no import", quiet, quiet_failed))

    source = folder / "sessions.csv"
    write_sessions_csv(source, rows)
    print(f"import: {rows:,} sessions, {source.stat().st_size / 2**20:.1f} MB")

    async def importing() -> float:
        began = time.perf_counter()
        async with session_maker.begin() as session:
            await import_file(session, source)
        return time.perf_counter() - began

    task = asyncio.ensure_future(importing())
    busy, busy_failed = await pressing(task, presses)
    took = await task
    print(figures("press, during import", busy, busy_failed))
    print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"import took {took:.1f} s")
    await engine.dispose()


class ImportRun(NamedTuple):
    done: subprocess.CompletedProcess[str]
    wall: float  # seconds
    cpu: float  # seconds, user + system
    peak_before: int  # children's peak RSS, KB, before the import
    peak: int  # and after it


def timed_import(database: Path, *arguments: str) -> ImportRun:
    """`learncity catalogue import ARGUMENTS` as a separate process on the SQLite file
    `database`, after the small catalogue is imported there (the schema, the offer), timed."""
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "LOAD_DEMO": "false",
        "BOT_TOKEN": "",
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    command = [python, "-m", "bot", "catalogue", "import"]
    subprocess.run(
        [*command, str(SMALL)], env=environment, check=True, cwd=ROOT, capture_output=True
    )
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    began = time.perf_counter()
    done = subprocess.run(
        [*command, *arguments],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    return ImportRun(done, took, cpu, before, usage.ru_maxrss)


def big_file(folder: Path, megabytes: int) -> None:
    source = folder / "sessions.csv"
    write_sessions_csv(source, None, megabytes)
    size = source.stat().st_size / 2**20
    began = time.perf_counter()
    with source.open(newline="", encoding="utf-8") as file:
        read = sum(1 for _ in csv.reader(file)) - 1
    anchor = time.perf_counter() - began
    run = timed_import(folder / "big.sqlite3", str(source))
    print(f"big CSV: {size:.1f} MB, {read:,} rows; anchor: csv.reader alone {anchor:.1f} s")
    print(run.done.stdout.strip() or run.done.stderr.strip()[-500:])
    note = "" if run.peak > run.peak_before else " (at most: the setup import's peak)"
    print(
        f"learncity catalogue import: {run.wall:.1f} s wall, {run.cpu:.1f} s of CPU "
        f"(wall ≈ CPU on an idle machine), peak RSS {run.peak / 1024:.0f} MB{note}"
    )
    print(f"machine load average meanwhile: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def big_calendar(folder: Path, events: int) -> None:
    """An offer's `.ics` of `events` events through `learncity catalogue import --offer`."""
    source = folder / "timetable.ics"
    start = datetime(2030, 1, 1, 9, tzinfo=UTC)
    with source.open("w", encoding="utf-8") as file:
        file.write("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n")
        for number in range(events):
            begins = start + timedelta(minutes=30 * number)
            file.write(
                f"BEGIN:VEVENT\r\nUID:bench-{number}@example.org\r\n"
                f"DTSTART:{begins:%Y%m%dT%H%M%SZ}\r\nDURATION:PT1H30M\r\n"
                f"SUMMARY:Session {number}\r\nEND:VEVENT\r\n"
            )
        file.write("END:VCALENDAR\r\n")
    run = timed_import(folder / "ics.sqlite3", str(source), "--offer", "smartphone-basics")
    print(f".ics: {events:,} events, {source.stat().st_size / 2**20:.1f} MB")
    print(run.done.stdout.strip() or run.done.stderr.strip()[-500:])
    print(f"learncity catalogue import --offer: {run.wall:.1f} s wall, {run.cpu:.1f} s of CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=78_000)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--big-mb", type=int, default=50)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--skip-big", action="store_true")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="learncity-bench-") as name:
        folder = Path(name)
        asyncio.run(press_during(folder, arguments.rows, arguments.presses))
        if not arguments.skip_big:
            big_file(folder, arguments.big_mb)
            big_calendar(folder, arguments.events)


if __name__ == "__main__":
    main()
