"""Upgrading from every earlier schema revision keeps the data that was there.

The revisions are read from the Alembic script directory, so a new migration is covered the
day it is added. For each earlier revision: an empty database is migrated to it, every table
that exists then gets rows (values made from each column's type, foreign keys pointing at
rows of the referenced table, enum columns holding one of their values), the database is
upgraded to the newest revision, and every row must still be there with the same values in
the columns that still exist. A migration that must change or drop data on purpose says so
here, in `CHANGED_ON_PURPOSE`; one that renames a table, in `RENAMED`: the rows must be found
under the new name.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from catalogue.database import HEAD_REVISION
from catalogue.database import alembic_config
from catalogue.database import apply_migrations
from catalogue.database import create_engine
from catalogue.database import revert_migrations
from catalogue.database import schema_revision
from tests.conftest import POSTGRES_ADMIN_DSN
from tests.conftest import service_unavailable

ROWS_PER_TABLE = 2
MOMENT = datetime(2026, 5, 17, 9, 30, tzinfo=UTC)
# (table, column) whose values a later migration rewrites on purpose; none yet.
CHANGED_ON_PURPOSE: set[tuple[str, str]] = set()
# Tables a later migration renames: old name → name at the head.
RENAMED = {"attendance": "seat"}  # 0005: a held seat is a `Seat`
# Columns a CHECK constraint limits (made_up_value does not read them): allowed values.
CHECKED = {("session_feedback", "score"): (1, 2, 3, 4, 5)}


def revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


EARLIER = revisions()[:-1]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_database(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'upgrade.sqlite3'}"
        return
    name = f"learncity_upgrade_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        service_unavailable("PostgreSQL", error)
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def current_column(table: str, column: str) -> sa.Column[Any] | None:
    import catalogue.tables  # noqa: F401

    model = SQLModel.metadata.tables.get(RENAMED.get(table, table))
    return model.columns.get(column) if model is not None else None


def made_up_value(table: sa.Table, column: sa.Column[Any], n: int) -> Any:
    """A value the column accepts, different for each row and each table."""
    if (table.name, column.name) in CHECKED:
        allowed = CHECKED[table.name, column.name]
        return allowed[n % len(allowed)]
    today = current_column(table.name, column.name)
    if today is not None and isinstance(today.type, sa.Enum):
        return today.type.enums[n % len(today.type.enums)]
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return n % 2 == 0
    if isinstance(kind, sa.Integer):
        return 1000 * (abs(hash(table.name)) % 1000) + n + 1
    if isinstance(kind, sa.DateTime):
        return MOMENT.replace(minute=n)
    if isinstance(kind, sa.Date):
        return MOMENT.date().replace(day=n + 1)
    if isinstance(kind, sa.Numeric | sa.Float):
        return Decimal(f"{n + 1}.50")
    if isinstance(kind, sa.JSON):
        default = today.default.arg if today is not None and today.default is not None else None
        made = default({}) if callable(default) else None  # type: ignore[call-arg]
        return made or {"en": f"{table.name} {n}", "ru": f"{table.name} {n}"}
    length = getattr(kind, "length", None) or 200
    return f"{n}-{table.name[:8]}-{column.name[:8]}"[:length]  # distinct however short


def fill(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    """Rows in every table of the schema as it is now; returns them with their keys."""
    schema = sa.MetaData()
    schema.reflect(connection)
    written: dict[str, list[dict[str, Any]]] = {}
    for table in schema.sorted_tables:
        if table.name == "alembic_version":
            continue
        written[table.name] = []
        for n in range(ROWS_PER_TABLE):
            row: dict[str, Any] = {}
            for column in table.columns:
                references = list(column.foreign_keys)
                if references:
                    target = references[0].column
                    parents = written.get(target.table.name) or []
                    row[column.name] = parents[n % len(parents)][target.name] if parents else None
                elif column.primary_key and column.name == "id":
                    continue  # the database numbers it
                else:
                    row[column.name] = made_up_value(table, column, n)
            key = connection.execute(
                table.insert().values(row).returning(*table.primary_key.columns)
            ).one()
            row.update(key._mapping)
            written[table.name].append(row)
    return written


def comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return float(value)
    if isinstance(value, str) and value[:4].isdigit() and "T" not in value and ":" in value:
        try:  # SQLite hands back datetimes as text where the column type was not reflected
            return comparable(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value


def missing_or_changed(
    connection: Connection,
    written: dict[str, list[dict[str, Any]]],
    renamed: dict[str, str] = RENAMED,
) -> list[str]:
    schema = sa.MetaData()
    schema.reflect(connection)
    problems = []
    for name, rows in written.items():
        table = schema.tables.get(renamed.get(name, name))
        if table is None:
            problems.append(f"table {name} is gone, with its {len(rows)} rows")
            continue
        keys = [column.name for column in table.primary_key.columns]
        for row in rows:
            found = connection.execute(
                sa.select(table).where(*(table.c[key] == row[key] for key in keys))
            ).one_or_none()
            if found is None:
                problems.append(f"{name} row {[row[key] for key in keys]} is gone")
                continue
            for column, value in row.items():
                if column not in table.c or (name, column) in CHANGED_ON_PURPOSE:
                    continue
                if comparable(found._mapping[column]) != comparable(value):
                    problems.append(f"{name}.{column}: {value!r} became {found._mapping[column]!r}")
    return problems


@pytest.mark.parametrize("start", EARLIER)
async def test_upgrading_keeps_the_data(empty_database: str, start: str) -> None:
    engine = create_engine(empty_database)
    await apply_migrations(engine, start)
    async with engine.begin() as connection:
        written = await connection.run_sync(fill)
    assert sum(map(len, written.values())) >= ROWS_PER_TABLE * 3, "there was data to keep"
    await apply_migrations(engine, "head")
    async with engine.connect() as connection:
        problems = await connection.run_sync(missing_or_changed, written)
    await engine.dispose()
    assert not problems, "\n".join(problems)


def test_every_revision_is_covered() -> None:
    assert revisions()[0] == "0001"
    assert len(EARLIER) == len(revisions()) - 1


def test_the_head_the_bot_knows_is_alembic_s_head() -> None:
    assert revisions()[-1] == HEAD_REVISION


async def test_a_database_at_the_head_starts_without_alembic(empty_database: str) -> None:
    engine = create_engine(empty_database)
    assert await schema_revision(engine) is None
    await apply_migrations(engine)
    assert await schema_revision(engine) == HEAD_REVISION
    code = (
        "import asyncio, sys\n"
        "from catalogue.database import apply_migrations, create_engine\n"
        f"engine = create_engine({empty_database!r})\n"
        "asyncio.run(apply_migrations(engine))\n"
        "assert 'alembic' not in sys.modules, 'alembic was imported'\n"
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
    assert await asyncio.wait_for(process.wait(), 120) == 0
    await engine.dispose()


def names_in(connection: Connection, table: str) -> set[str]:
    """The names of the table's primary key, unique and foreign keys, and indexes."""
    inspector = sa.inspect(connection)
    names = {inspector.get_pk_constraint(table)["name"]}
    names |= {unique["name"] for unique in inspector.get_unique_constraints(table)}
    names |= {foreign["name"] for foreign in inspector.get_foreign_keys(table)}
    names |= {index["name"] for index in inspector.get_indexes(table)}
    if connection.dialect.name == "postgresql":
        names.add(connection.scalar(sa.text(f"SELECT pg_get_serial_sequence('{table}', 'id')")))
    return names


def every_name(connection: Connection) -> set[str]:
    """The names of every table and of its constraints and indexes (and sequences)."""
    if connection.dialect.name == "postgresql":
        public = "'public'::regnamespace"
        relations = f"SELECT relname FROM pg_class WHERE relnamespace = {public}"
        constraints = f"SELECT conname FROM pg_constraint WHERE connamespace = {public}"
        return set(connection.scalars(sa.text(f"{relations} UNION {constraints}")))
    tables = sa.inspect(connection).get_table_names()
    return set(tables).union(*(names_in(connection, table) for table in tables))


def names_of_seats(table: str, dialect: str) -> set[str]:
    names = {
        f"pk_{table}",
        f"uq_{table}_resident_id",
        f"fk_{table}_resident_id_resident",
        f"fk_{table}_session_id_offer_session",
        f"ix_{table}_session_id",
        f"ix_{table}_status",
    }
    return names | {f"public.{table}_id_seq"} if dialect == "postgresql" else names


def a_new_seat(connection: Connection, table: str) -> int:
    """A seat added after the migration: the database numbers it after the copied rows."""
    seats = sa.Table(table, sa.MetaData(), autoload_with=connection)
    rows = [row._asdict() for row in connection.execute(sa.select(seats))]
    taken = {(row["resident_id"], row["session_id"]) for row in rows}
    resident_id, session_id = next(
        (someone["resident_id"], somewhere["session_id"])
        for someone in rows
        for somewhere in rows
        if (someone["resident_id"], somewhere["session_id"]) not in taken
    )
    row = {**rows[0], "resident_id": resident_id, "session_id": session_id}
    del row["id"]
    return connection.execute(seats.insert().values(row).returning(seats.c.id)).scalar_one()


async def test_the_seat_table_is_renamed_with_its_rows_and_names_and_back(
    empty_database: str,
) -> None:
    engine = create_engine(empty_database)
    dialect = engine.dialect.name
    await apply_migrations(engine, "0004")
    async with engine.begin() as connection:
        written = await connection.run_sync(fill)
    seats = written["attendance"]
    assert seats, "there are seats to keep"

    await apply_migrations(engine, "0005")
    async with engine.begin() as connection:
        assert not await connection.run_sync(missing_or_changed, written)
        tables = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        assert "attendance" not in tables
        assert await connection.run_sync(names_in, "seat") == names_of_seats("seat", dialect)
        # Attendance entries and check-ins do mean attendance: nothing else keeps the old name.
        left = {
            name
            for name in await connection.run_sync(every_name)
            if name and "attendance" in name.replace("attendance_entry", "")
        }
        assert not left
        new_seat = await connection.run_sync(a_new_seat, "seat")
        assert new_seat > max(row["id"] for row in seats)

    await revert_migrations(engine, "0004")
    async with engine.begin() as connection:
        assert not await connection.run_sync(missing_or_changed, written, {})
        assert await connection.run_sync(names_in, "attendance") == names_of_seats(
            "attendance", dialect
        )
        assert await connection.run_sync(a_new_seat, "attendance") > new_seat
    await engine.dispose()
