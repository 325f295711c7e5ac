"""Checked records waiting to be written, held on disk rather than in memory.

An import reads its file once, checks every row and puts each valid record here: a temporary
SQLite file of its own (not the catalogue's database), so a file of a million rows costs disk,
not memory, and the catalogue's database is not touched, let alone locked, while the file is
read and checked. Only when every row and every reference is right does the importer write
the staged records into the catalogue, in one short transaction (catalogue/exchange/importer.py).
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from catalogue.exchange.rows import CatalogueImportError
from catalogue.exchange.rows import RowError

BATCH = 2000

# `record` gets its index once every row is in (faster than keeping it up to date meanwhile).
SCHEMA = """
CREATE TABLE record (
    tbl TEXT NOT NULL, external_id TEXT NOT NULL, line INTEGER, idx INTEGER, payload BLOB
);
CREATE TABLE reference (
    tbl TEXT NOT NULL, line INTEGER, idx INTEGER, field TEXT NOT NULL, target TEXT NOT NULL,
    ref TEXT NOT NULL
);
CREATE TABLE missing (target TEXT NOT NULL, ref TEXT NOT NULL, PRIMARY KEY (target, ref));
"""


class Stage:
    """The records of one import, its references between records, and the problems found."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="learncity-import-")
        self._db = sqlite3.connect(
            Path(self._folder.name) / "stage.sqlite3", isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.executescript(SCHEMA)
        self._db.execute("BEGIN")
        self._records: list[tuple[Any, ...]] = []
        self._references: list[tuple[Any, ...]] = []
        self._keys: dict[str, tuple[str, ...]] = {}  # each table's column names, in order
        self.errors: list[RowError] = []
        self.problems = 0

    def __enter__(self) -> Stage:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._folder.cleanup()

    # ------------------------------------------------------------ filling

    def problem(self, error: RowError) -> None:
        self.problems += 1
        if len(self.errors) < CatalogueImportError.REPORTED:
            self.errors.append(error)

    def add(self, table: str, external_id: str, line: int | None, index: int, values: dict) -> None:
        """Keep a checked record (its columns as plain values: no enums, no models)."""
        keys = self._keys.setdefault(table, tuple(values))
        payload = pickle.dumps(tuple(values[key] for key in keys), pickle.HIGHEST_PROTOCOL)
        self._records.append((table, external_id, line, index, payload))
        if len(self._records) >= BATCH:
            self._flush()

    def refer(
        self, table: str, line: int | None, index: int, field: str, target: str, ref: str
    ) -> None:
        """Note that a row (valid or not) points at `ref` in `target`."""
        self._references.append((table, line, index, field, target, ref))
        if len(self._references) >= BATCH:
            self._flush()

    def done(self) -> Iterator[tuple[str, str, int | None, int | None]]:
        """Every row is in: the stage is made ready to be read. Yields each record whose id
        came earlier in the same table (table, id, line, index); only the first is kept."""
        self._flush()
        self._db.execute("CREATE INDEX record_id ON record (tbl, external_id)")
        later = (
            "FROM record WHERE rowid NOT IN "
            "(SELECT min(rowid) FROM record GROUP BY tbl, external_id)"
        )
        yield from self._db.execute(f"SELECT tbl, external_id, line, idx {later} ORDER BY rowid")
        self._db.execute(f"DELETE {later}")
        self._db.execute("COMMIT")

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO record VALUES (?, ?, ?, ?, ?)", self._records)
        self._db.executemany("INSERT INTO reference VALUES (?, ?, ?, ?, ?, ?)", self._references)
        self._records.clear()
        self._references.clear()

    # ------------------------------------------------------------ reading

    def unresolved(self) -> dict[str, set[str]]:
        """Ids pointed at that no record of the file has, by table: the database may."""
        found: dict[str, set[str]] = {}
        for target, ref in self._db.execute(
            "SELECT DISTINCT target, ref FROM reference r WHERE NOT EXISTS "
            "(SELECT 1 FROM record s WHERE s.tbl = r.target AND s.external_id = r.ref)"
        ):
            found.setdefault(target, set()).add(ref)
        return found

    def missing(self, absent: dict[str, set[str]], limit: int) -> tuple[list[tuple], int]:
        """The rows pointing at ids nobody has (the first `limit` of them), and how many."""
        self._db.executemany(
            "INSERT OR IGNORE INTO missing VALUES (?, ?)",
            [(target, ref) for target, refs in absent.items() for ref in refs],
        )
        join = "FROM reference r JOIN missing m ON m.target = r.target AND m.ref = r.ref"
        (total,) = self._db.execute(f"SELECT count(*) {join}").fetchone()
        rows = self._db.execute(
            f"SELECT r.tbl, r.line, r.idx, r.field, r.target, r.ref {join} "
            "ORDER BY r.line, r.idx LIMIT ?",
            (limit,),
        ).fetchall()
        return rows, total

    def records(self, table: str) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        """The table's records in the order of the file, `BATCH` at a time."""
        keys = self._keys.get(table, ())
        cursor = self._db.execute(
            "SELECT external_id, payload FROM record WHERE tbl = ? ORDER BY rowid", (table,)
        )
        while batch := cursor.fetchmany(BATCH):
            yield [
                (external_id, dict(zip(keys, pickle.loads(payload), strict=True)))
                for external_id, payload in batch
            ]


def chunks(items: Iterable[str], size: int = 500) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
