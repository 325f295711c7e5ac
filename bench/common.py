"""What the benches share: a scratch PostgreSQL database, their settings, percentiles, the rows
several of them seed (an offer, residents with passes), and volunteers' chats at a door.

Imported as `bench.common` by benches run as `python bench/<name>.py` from the repository root
(each puts the root on `sys.path` first).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from collections.abc import Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from aiogram.types import User
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from bot.settings import load_settings
from bot.startup.local_chat import LocalChat
from catalogue.checkin.passes import new_pass_code
from catalogue.checkin.tables import ResidentPass
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import Provider
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import Venue
from catalogue.team import Role
from catalogue.team import TeamMember

POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


async def admin(statement: str, admin_dsn: str = POSTGRES_ADMIN_DSN) -> None:
    """Run one statement (CREATE / DROP DATABASE) on the administrative connection."""
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def scratch_database(
    prefix: str = "learncity_bench",
    *,
    reuse: str | None = None,
    keep: bool = False,
    admin_dsn: str = POSTGRES_ADMIN_DSN,
) -> AsyncIterator[str]:
    """A fresh database `<prefix>_<8 hex>` on the server of `admin_dsn`, dropped afterwards:
    yields its SQLAlchemy URL (postgresql+asyncpg://). `reuse` names an existing database
    instead (neither created nor dropped); `keep` leaves the new one in place. A database left
    in place is named on stderr."""
    name = reuse or f"{prefix}_{uuid.uuid4().hex[:8]}"
    if not reuse:
        await admin(f'CREATE DATABASE "{name}"', admin_dsn)
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        if keep or reuse:
            print(f"database kept: {name}", file=sys.stderr)
        else:
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', admin_dsn)


def settings_for(database_url: str, *, chat: bool = False) -> Settings:
    """Settings of a bench's bot on `database_url`: no demo catalogue, no .env file. `chat`:
    residents writing at bench pace, so flood control off and English by default."""
    if chat:
        return load_settings(
            database_url=database_url, load_demo=False, flood_limit=0, default_locale="en",
            _env_file=None,
        )  # fmt: skip
    return load_settings(database_url=database_url, load_demo=False, _env_file=None)


def percentile(values: list[float], share: float) -> float:
    """The value at `share` (0..1) of the sorted values, the nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def add_offer(session: AsyncSession, venue: Venue, **offer: Any) -> Offer:
    """`venue`, a provider and one in-person English offer of it (`offer`: external_id, title,
    kind), flushed so they have ids."""
    provider = Provider(external_id="bench-provider", name={"en": "Bench"})
    session.add_all([provider, venue])
    await session.flush()
    added = Offer(
        description={},
        format=OfferFormat.IN_PERSON,
        language="en",
        provider_id=provider.id,
        accessibility={},
        keywords=[],
        **offer,
    )
    session.add(added)
    await session.flush()
    return added


def insert_residents_sql(first_telegram_id: int, count: int) -> str:
    """One `INSERT … SELECT` of `count` English residents, telegram ids after
    `first_telegram_id`, spread over the first five categories (every sixth without one)."""
    return f"""INSERT INTO resident (telegram_id, language, language_chosen, category_id,
            is_active, created_at, reminder_offsets, reminders_on, announcements_on)
        SELECT {first_telegram_id} + n, 'en', true,
            (SELECT min(id) FROM category) + NULLIF(n % 6, 5), true, now(), '[1440, 60]',
            true, true
        FROM generate_series(1, {count}) AS n"""


async def add_door_people(
    session: AsyncSession,
    now: datetime,
    session_ids: Iterable[int],
    *,
    codes: int,
    first_resident: int,
    volunteers: int,
    first_volunteer: int,
) -> list[str]:
    """`codes` residents with passes (every other one going to each of `session_ids`) and
    `volunteers` volunteers; returns the pass codes, in residents' order."""
    await session.execute(
        Resident.__table__.insert(),
        [
            {
                "telegram_id": first_resident + n,
                "language": "en",
                "language_chosen": True,
                "is_active": True,
                "created_at": now,
                "reminder_offsets": [1440, 60],
                "reminders_on": True,
                "announcements_on": True,
            }
            for n in range(codes)
        ],
    )
    await session.flush()
    ids = list(
        await session.scalars(
            select(Resident.id)
            .where(Resident.telegram_id >= first_resident)
            .order_by(Resident.telegram_id)
        )
    )
    drawn: set[str] = set()
    while len(drawn) < codes:
        drawn.add(new_pass_code())
    passes = sorted(drawn)
    await session.execute(
        ResidentPass.__table__.insert(),
        [
            {"resident_id": resident_id, "code": code, "created_at": now}
            for resident_id, code in zip(ids, passes, strict=True)
        ],
    )
    doors = list(session_ids)
    await session.execute(
        Seat.__table__.insert(),
        [
            {
                "resident_id": resident_id,
                "session_id": door_id,
                "status": SeatStatus.GOING,
                "via_offer": False,
                "created_at": now,
                "updated_at": now,
            }
            for resident_id in ids[::2]
            for door_id in doors
        ],
    )
    session.add_all(
        TeamMember(telegram_id=first_volunteer + n, role=Role.VOLUNTEER, display_name=f"V{n}")
        for n in range(volunteers)
    )
    return passes


async def volunteers_at_door(
    app: Any, count: int, first_volunteer: int, session_id: int, update_ids: Any
) -> list[LocalChat]:
    """`count` volunteers' chats with the bot (replies discarded; `update_ids`: anything
    `next()` takes update ids from, shared by them), each having sent `/checkin <session_id>`,
    so every code they type next is checked in there."""
    chats = []
    for number in range(count):
        user = User(id=first_volunteer + number, is_bot=False, first_name="V", language_code="en")
        chat = LocalChat(app, user=user, write=lambda _text: None)
        chat.update_ids = update_ids
        await chat._send(f"/checkin {session_id}")
        chats.append(chat)
    return chats
