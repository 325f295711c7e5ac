"""Fixtures: a real database (SQLite file, and PostgreSQL when it runs), the real dispatcher.

Service tests skip with a reason on a newcomer's machine without PostgreSQL or Redis; under
CI (`CI=true`) a missing service fails the run instead.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.settings import Settings
from bot.settings import load_settings
from bot.startup.app import App
from bot.startup.app import create_app
from catalogue.team import Role
from catalogue.team import TeamMember
from tests.resident_chat import ResidentChat

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TABLES = (
    "resident, track_step, offer_session, track, offer, festival, venue, provider, category, "
    "catalogue_meta, team_member, team_invite, broadcast, "
    "outbox_message, seat, subscription, "
    "resident_pass, attendance_entry, check_in, check_in_token, session_feedback"
)

_user_ids = itertools.count(10_000)


def service_unavailable(name: str, error: Exception) -> None:
    message = f"{name} is not reachable ({error}); start it to run these tests"
    if IN_CI:
        pytest.fail(f"CI=true but {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of our own on the PostgreSQL server, dropped at the end of the run."""
    name = f"learncity_test_{uuid.uuid4().hex[:10]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        service_unavailable("PostgreSQL", error)
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'learncity.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(
        database_url=database_url,
        bot_token=None,
        city_timezone="Asia/Yekaterinburg",
        default_locale="en",
        admin_ids="",
        # Tests press buttons at machine speed, faster than any person; tests/test_flood.py
        # turns flood control on. Redis only where a test asks for it (`redis_space`).
        flood_limit=0,
        redis_url=None,
        _env_file=None,
    )


@dataclass(frozen=True)
class RedisSpace:
    """A Redis server and a key prefix of this test's own, emptied afterwards."""

    url: str
    prefix: str

    def settings(self, settings: Settings, **changes: object) -> Settings:
        return settings.model_copy(
            update={"redis_url": self.url, "redis_prefix": self.prefix, **changes}
        )


@pytest.fixture
async def redis_space() -> AsyncIterator[RedisSpace]:
    prefix = f"learncity-test-{uuid.uuid4().hex[:10]}"
    client = Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        await client.aclose()
        service_unavailable("Redis", error)
    yield RedisSpace(REDIS_TEST_URL, prefix)
    async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        await client.delete(key)
    await client.aclose()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    """The app as `learncity run` builds it: migrated database with the demo catalogue."""
    if settings.database_url.startswith("postgresql"):
        await _empty_postgres(settings.database_url)
    application = await create_app(settings)
    yield application
    await application.close()


async def _empty_postgres(url: str) -> None:
    # One PostgreSQL database serves the whole run; each test starts from empty tables.
    from catalogue.database import create_engine

    engine = create_engine(url)
    async with engine.begin() as connection:
        exists = await connection.scalar(text("SELECT to_regclass('public.offer') IS NOT NULL"))
        if exists:
            present = set(
                await connection.scalars(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            )
            if set(TABLES.replace(" ", "").split(",")) <= present:
                await connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
            else:
                # A test broke the schema on purpose (a lost table): start from nothing.
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
def session_maker(app: App) -> async_sessionmaker[AsyncSession]:
    return app.session_maker


@pytest.fixture
async def session(session_maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_maker() as db_session:
        yield db_session


@pytest.fixture
def user_id() -> int:
    return next(_user_ids)


@pytest.fixture
async def resident(app: App, user_id: int) -> AsyncIterator[ResidentChat]:
    """A resident with an English Telegram interface, talking to the real dispatcher."""
    chat = ResidentChat(app, user_id=user_id, language_code="en")
    yield chat
    await chat.close()


@pytest.fixture
async def organiser(app: App, user_id: int) -> AsyncIterator[ResidentChat]:
    """An organiser of the festival team (Olga), who has chosen English."""
    async with app.session_maker.begin() as session:
        session.add(TeamMember(telegram_id=user_id, role=Role.ORGANISER, display_name="Olga"))
    chat = ResidentChat(app, user_id=user_id, language_code="en")
    await chat.send("/start")
    await chat.press("English")
    yield chat
    await chat.close()


def now_utc() -> datetime:
    from catalogue.models import utc_now

    return utc_now()


@pytest.fixture(autouse=True)
def no_handler_errors(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """An exception that reached the error router fails the test, apology or not."""
    yield
    if request.node.get_closest_marker("handler_errors_expected"):
        return
    failures = [r for r in caplog.records if r.name == "handlers.errors" and r.levelname == "ERROR"]
    assert not failures, failures[0].getMessage() + "\n" + str(failures[0].exc_info)
