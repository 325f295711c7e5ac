"""Committed writes, counted per table: what lets a process keep database rows in memory.

Every INSERT, UPDATE or DELETE that runs through the engine (an ORM flush, a bulk statement,
an import) marks its table on the connection. When that transaction has committed and the
connection is back in the pool, the table's count goes up. A `TableCache` notes the counts of
the tables it reads from before it reads (`stamp`) and serves what it kept only while they are
the same. The count moves only after the commit, so nothing older than the count it was kept
under is ever served:

    stamp = cache.stamp()
    value = await read(session)                 # may see the database before or after a write
    cache.keep(session, key, stamp, value)      # dropped if a write committed meanwhile

Other processes hear of our writes through Redis (bot/startup/shared_state.py
`TableChangesRelay`), and
every entry has a maximum age, for writes nobody announces (a hand edit in psql, a command run
without Redis beside a bot on SQLite).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from typing import Generic
from typing import TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy import inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.dml import UpdateBase

Row = TypeVar("Row")
Key = TypeVar("Key")
Value = TypeVar("Value")
Stamp = tuple[int, ...]

# Kept in the connection's `info`, which lives as long as the pooled connection.
_WRITTEN = "learncity.tables_written"  # by the open transaction
_COMMITTED = "learncity.tables_committed"  # by the transaction just committed
# Kept in a session's `info`: its connection's `info`, to tell what its transaction wrote.
_CONNECTION_INFO = "learncity.connection_info"


class TableChanges:
    """Counts of committed writes per table, for one engine (see `table_changes`)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        # Moves when anything may have changed (another process's news was lost).
        self._epoch = 0
        self._listeners: list[Callable[[frozenset[str]], None]] = []

    def stamp(self, tables: Iterable[str]) -> Stamp:
        counts = self._counts
        return (self._epoch, *(counts.get(table, 0) for table in tables))

    def changed(self, tables: Iterable[str], *, announce: bool = True) -> None:
        """`tables` were written and committed; `announce`: in this process, so tell others."""
        tables = frozenset(tables)
        for table in tables:
            self._counts[table] = self._counts.get(table, 0) + 1
        if announce:
            for listener in self._listeners:
                listener(tables)

    def everything_changed(self) -> None:
        self._epoch += 1

    def on_change(self, listener: Callable[[frozenset[str]], None]) -> None:
        """`listener` hears the tables of each commit of this process (not others' news)."""
        self._listeners.append(listener)

    def watch(self, engine: Engine) -> None:
        event.listen(engine, "after_execute", _note_write)
        event.listen(engine, "commit", _note_commit)
        event.listen(engine, "rollback", _note_rollback)
        event.listen(engine.pool, "checkin", self._count_commit)

    def _count_commit(self, _dbapi_connection: Any, record: Any) -> None:
        tables = record.info.pop(_COMMITTED, None) if record is not None else None
        if tables:
            self.changed(tables)


_WATCHED: WeakKeyDictionary[Engine, TableChanges] = WeakKeyDictionary()


def table_changes(engine: AsyncEngine) -> TableChanges:
    """The one `TableChanges` of `engine`, watching it from the first call on."""
    sync_engine = engine.sync_engine
    changes = _WATCHED.get(sync_engine)
    if changes is None:
        changes = _WATCHED[sync_engine] = TableChanges()
        changes.watch(sync_engine)
    return changes


def rows_changed_in(table: str) -> str:
    """What counts only the writes to `table` that change or delete rows it had, not those
    that add new ones: for a cache that keeps rows by key and never keeps "not found"."""
    return f"{table}:rows changed"


def wrote_to(session: AsyncSession, tables: Iterable[str]) -> bool:
    """Whether the session's open transaction wrote to any of `tables`."""
    connection_info = session.sync_session.info.get(_CONNECTION_INFO)
    written = connection_info.get(_WRITTEN) if connection_info is not None else None
    return bool(written) and not written.isdisjoint(tables)


def _note_write(connection: Connection, statement: Any, *_arguments: Any) -> None:
    if isinstance(statement, UpdateBase):
        table = statement.table.name
        written = connection.info.setdefault(_WRITTEN, set())
        written.add(table)
        if not _adds_rows_only(statement):
            written.add(rows_changed_in(table))


_KEEPS_EXISTING_ROWS = (postgresql.dml.OnConflictDoNothing, sqlite.dml.OnConflictDoNothing)


def _adds_rows_only(statement: UpdateBase) -> bool:
    # An upsert (ON CONFLICT DO UPDATE) changes rows that were there.
    if not isinstance(statement, Insert):
        return False
    on_conflict = statement._post_values_clause
    return on_conflict is None or isinstance(on_conflict, _KEEPS_EXISTING_ROWS)


def _note_commit(connection: Connection) -> None:
    written = connection.info.pop(_WRITTEN, None)
    if written:
        connection.info.setdefault(_COMMITTED, set()).update(written)


def _note_rollback(connection: Connection) -> None:
    connection.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_begin")
def _remember_connection(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    session.info[_CONNECTION_INFO] = connection.info


@event.listens_for(Session, "after_transaction_end")
def _forget_connection(session: Session, transaction: SessionTransaction) -> None:
    # The connection goes back to the pool, where another session's writes are not ours.
    if transaction.parent is None:
        session.info.pop(_CONNECTION_INFO, None)


class TableCache(Generic[Key, Value]):
    """Values read from `tables`, kept while none of them changes, for at most `max_age`, at
    most `max_entries` of them (the oldest go first)."""

    def __init__(
        self,
        changes: TableChanges,
        tables: Iterable[str],
        *,
        max_age: timedelta = timedelta(minutes=1),
        max_entries: int = 10_000,
    ) -> None:
        self.changes = changes
        self.tables = tuple(tables)
        self.max_age = max_age.total_seconds()
        self.max_entries = max_entries
        self._entries: dict[Key, tuple[Stamp, float, Value]] = {}
        self._forgotten = 0  # times `forget_all` ran: a value read before it is not kept

    def get(self, session: AsyncSession, key: Key) -> Value | None:
        """What was kept for `key` if it still holds for `session`: not if its own transaction
        wrote to the tables, since what was kept does not show that write."""
        entry = self._entries.get(key)
        if entry is None or wrote_to(session, self.tables):
            return None
        stamp, kept_at, value = entry
        if stamp != self.stamp() or time.monotonic() - kept_at > self.max_age:
            del self._entries[key]
            return None
        return value

    def stamp(self) -> Stamp:
        """Taken before reading what is to be kept."""
        return (self._forgotten, *self.changes.stamp(self.tables))

    def forget_all(self) -> None:
        """For news of a change from elsewhere, which may be older than what is kept."""
        self._entries = {}
        self._forgotten += 1

    def keep(self, session: AsyncSession, key: Key, stamp: Stamp, value: Value) -> None:
        """Keeps `value`, read by `session` after `stamp` was taken, unless the tables changed
        since or the session's own transaction wrote to them (it may yet roll back)."""
        if stamp != self.stamp() or wrote_to(session, self.tables):
            return
        entries = self._entries
        entries.pop(key, None)
        if len(entries) >= self.max_entries:
            del entries[next(iter(entries))]
        entries[key] = (stamp, time.monotonic(), value)

    def __len__(self) -> int:
        return len(self._entries)


def detached_copy(row: Row) -> Row:
    """A copy of the row that belongs to no session, for a cache to hand out: nothing it holds
    (a title dict, say) is shared with a session that might change it. A session takes one in
    with `merge(copy, load=False)`, without a query."""
    if row is None:
        return row
    values: dict[str, Any] = {
        column.key: copy.deepcopy(getattr(row, column.key))
        for column in inspect(type(row)).column_attrs
    }
    fresh = type(row)(**values)
    make_transient_to_detached(fresh)
    return fresh
