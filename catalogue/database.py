"""Engine, sessions and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest migration (tests/test_migrations.py checks it against Alembic's own view): a
# database already there starts without importing Alembic, a third of a second on every start.
HEAD_REVISION = "0009"
# How long a write on SQLite waits for another writer before "database is locked". An import
# holds the write lock for seconds (catalogue/exchange/importer.py), so this is plenty.
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def create_engine(database_url: str) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        _ensure_sqlite_folder(database_url)
        engine = create_async_engine(
            database_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(database_url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def create_session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: handlers render them once the transaction is over.
    return async_sessionmaker(engine, expire_on_commit=False)


def _ensure_sqlite_folder(database_url: str) -> None:
    path = database_url.split("///", 1)[-1].split("?", 1)[0]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets readers and one writer overlap, and
    # a writer that finds another one (an import, the outbox worker) waits its turn for up to
    # the busy timeout instead of failing with "database is locked".
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def apply_migrations(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to call on every start."""
    if revision == "head" and await schema_revision(engine) == HEAD_REVISION:
        return

    def upgrade(connection: Connection) -> None:
        from alembic import command

        command.upgrade(alembic_config(connection), revision)

    await _migrate(engine, upgrade)


async def revert_migrations(engine: AsyncEngine, revision: str) -> None:
    """Take the schema back to the earlier `revision`, running each migration's downgrade."""

    def downgrade(connection: Connection) -> None:
        from alembic import command

        command.downgrade(alembic_config(connection), revision)

    await _migrate(engine, downgrade)


async def _migrate(engine: AsyncEngine, migrate: Callable[[Connection], None]) -> None:
    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            await connection.run_sync(migrate)
        return
    # SQLite alters a table by copying it to a new one and dropping the old: with foreign keys
    # on, dropping e.g. `offer` would cascade to its sessions. So they are off while migrating
    # (outside any transaction, as SQLite requires), and checked before they are on again.
    async with engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await connection.commit()
        try:
            async with connection.begin():
                await connection.run_sync(migrate)
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"migrating left broken foreign keys: {broken[:5]}")
        finally:
            await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            await connection.commit()


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None before the first migration."""
    try:
        async with engine.connect() as connection:
            return await connection.scalar(text("SELECT version_num FROM alembic_version"))
    except exc.DBAPIError:  # no such table yet
        return None


def dialect_insert(session: AsyncSession) -> Any:
    """`insert` of the session's dialect, for ON CONFLICT clauses (PostgreSQL's or SQLite's)."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
