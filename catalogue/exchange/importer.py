"""Import and export of the catalogue exchange format (see `catalogue/exchange/schema.py`).

Import is all or nothing, and it never holds the database for long:

1. **Read and check, outside any transaction.** The file is read as a stream (a CSV row at a
   time) and every row checked against the schema and the text policy
   (`catalogue/text_policy.py`); valid records wait in a `Stage` on disk
   (`catalogue/exchange/staging.py`). This runs in a worker thread, so the bot keeps
   answering meanwhile, and it holds no lock on the catalogue's database.
2. **Check references**: every id a record points at is in the file or already in the
   database (read only).
3. **Write**, only when nothing is wrong, in the caller's one transaction: batched inserts and
   updates that take seconds even for a million rows. Readers see the catalogue before or after
   the import, never half of it; a resident's write meanwhile waits its turn (SQLite's
   `busy_timeout`, catalogue/database.py) instead of failing.

Every problem is reported with its line and field. Records are matched by their stable `id`,
so importing the same file twice updates instead of duplicating. The size of a file, its rows,
the nesting of a JSON document and the length of every field are limited
(`text_policy.InputLimits`, from the settings).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import itertools
import json
import re
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import tzinfo
from enum import Enum
from pathlib import Path
from typing import IO
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue import text_policy
from catalogue.exchange.rows import CatalogueImportError
from catalogue.exchange.rows import RowError
from catalogue.exchange.rows import SourceRow
from catalogue.exchange.schema import EXTERNAL_ID
from catalogue.exchange.schema import TABLES
from catalogue.exchange.schema import CatalogueDocument
from catalogue.exchange.staging import Stage
from catalogue.exchange.staging import chunks
from catalogue.models import Category
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Provider
from catalogue.models import Track
from catalogue.models import TrackStep
from catalogue.models import Venue

MODELS: dict[str, type] = {
    "categories": Category,
    "providers": Provider,
    "venues": Venue,
    "festivals": Festival,
    "offers": Offer,
    "tracks": Track,
    "sessions": OfferSession,
}
TRANSLATED_FIELDS = {"title", "description", "name", "address", "accessibility"}
ONE_LINE_FIELDS = {"title", "name"}
LIST_FIELDS = {"keywords", "offers"}
CSV_LIST_SEPARATOR = "|"
ICS_SUFFIXES = (".ics", ".ical", ".icalendar")
# Which fields of which tables refer to which table.
REFERENCES: dict[str, dict[str, str]] = {
    "offers": {"provider": "providers", "festival": "festivals"},
    "tracks": {"category": "categories", "offers": "offers"},
    "sessions": {"offer": "offers", "venue": "venues"},
}
SINGULAR = {
    "categories": "category",
    "providers": "provider",
    "venues": "venue",
    "festivals": "festival",
    "offers": "offer",
    "tracks": "track",
    "sessions": "session",
}


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values())


def _refuse(table: str, line: int | None, field_name: str, message: str) -> CatalogueImportError:
    return CatalogueImportError([RowError(table, line, None, field_name, message)])


# ---------------------------------------------------------------- reading files


def read_catalogue_file(
    path: Path, table: str | None = None, *, offer: str | None = None, zone: tzinfo = UTC
) -> Iterator[SourceRow]:
    """Rows of a JSON document, a one-table CSV file or an iCalendar file, with line numbers,
    read as they are needed (a CSV file is never in memory as a whole)."""
    _check_size(path.name, path.stat().st_size)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("rb") as stream:
            yield from _csv_rows(stream, table or path.stem.lower())
        return
    yield from _whole_file_rows(path.name, path.read_bytes(), offer, zone)


def read_catalogue_bytes(
    name: str,
    data: bytes,
    table: str | None = None,
    *,
    offer: str | None = None,
    zone: tzinfo = UTC,
) -> Iterator[SourceRow]:
    """The same from a file's name and content (an upload to the bot, say).

    An `.ics` file holds the sessions of one `offer`; its floating times are in `zone`.
    """
    _check_size(name, len(data))
    if Path(name).suffix.lower() == ".csv":
        return _csv_rows(io.BytesIO(data), table or Path(name).stem.lower())
    return _whole_file_rows(name, data, offer, zone)


def _check_size(name: str, size: int) -> None:
    most = text_policy.limits().file_bytes
    if size > most:
        raise _refuse(
            name, None, "", f"the file is {size:,} bytes; up to {most:,} bytes can be imported"
        )
    if Path(name).suffix.lower() not in (".csv", ".json", *ICS_SUFFIXES):
        raise _refuse(name, None, "", "expected a .json, .csv or .ics file")


def _whole_file_rows(
    name: str, data: bytes, offer: str | None, zone: tzinfo
) -> Iterator[SourceRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise _refuse(name, line, "", "the file is not UTF-8 text") from None
    if Path(name).suffix.lower() == ".json":
        return _json_rows(text)
    from catalogue.exchange.ical import ics_rows

    return ics_rows(text, offer, zone)


# JSON has no positions: the depth is measured on the text, strings skipped, before parsing.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _json_depth_problem(text: str, most: int) -> int | None:
    """The line where the document nests deeper than `most`; None if it does not."""
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > most:
                return text.count("\n", 0, match.start()) + 1
        elif token in "]}":
            depth -= 1
    return None


def _json_rows(text: str) -> Iterator[SourceRow]:
    limits = text_policy.limits()
    deep = _json_depth_problem(text, limits.depth)
    if deep is not None:
        raise _refuse(
            "document", deep, "", f"nested more than {limits.depth} levels deep; records are flat"
        )
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise _refuse("document", error.lineno, "", f"not valid JSON: {error.msg}") from None
    except RecursionError:
        raise _refuse("document", None, "", "nested too deeply") from None
    except ValueError:  # Python reads no number of more than 4,300 digits
        raise _refuse("document", None, "", "a number has more than 4,300 digits") from None
    if not isinstance(document, dict):
        raise _refuse("document", 1, "", "expected an object with lists such as offers")
    unknown = sorted(set(document) - set(TABLES))
    if unknown:
        raise CatalogueImportError(
            [
                RowError(name, None, None, "", f"unknown list; use {', '.join(TABLES)}")
                for name in unknown
            ]
        )
    for table, items in document.items():
        if not isinstance(items, list):
            raise _refuse(table, None, "", "expected a list")
    if sum(map(len, document.values())) > limits.rows:
        raise _refuse("document", None, "", f"more than {limits.rows:,} records in one file")
    lines = _json_element_lines(text)
    del text
    for table in list(document):
        items = document.pop(table)
        for index, item in enumerate(items):
            yield SourceRow(table, index, lines.get((table, index)), item)
            items[index] = None  # checked records go to the stage; the document shrinks


def _json_element_lines(text: str) -> dict[tuple[str, int], int]:
    """Line of each element of the document's top-level lists (JSON has no positions)."""
    decoder = json.JSONDecoder()
    lines: dict[tuple[str, int], int] = {}
    line, counted = 1, 0

    def line_at(position: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, position)
        counted = position
        return line

    def skip(position: int) -> int:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        return position

    position = skip(text.index("{") + 1)
    while position < len(text) and text[position] != "}":
        key, position = decoder.raw_decode(text, position)
        position = skip(skip(position) + 1)  # past ':'
        if text[position] != "[":
            _, position = decoder.raw_decode(text, position)
        else:
            position, index = skip(position + 1), 0
            while text[position] != "]":
                lines[(key, index)] = line_at(position)
                _, position = decoder.raw_decode(text, position)
                position, index = skip(position), index + 1
                if text[position] == ",":
                    position = skip(position + 1)
            position += 1
        position = skip(position)
        if text[position] == ",":
            position = skip(position + 1)
    return lines


class _Lines:
    """A byte stream decoded as UTF-8 line by line, counting lines, so that a broken byte is
    reported at its line and the file is never decoded as a whole."""

    def __init__(self, stream: IO[bytes], table: str) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._table = table
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        for raw in self._stream:
            self.number += 1
            try:
                yield self._decoder.decode(raw)
            except UnicodeDecodeError:
                raise _refuse(self._table, self.number, "", "the file is not UTF-8 text") from None


def _csv_rows(stream: IO[bytes], table: str) -> Iterator[SourceRow]:
    if table not in TABLES:
        raise _refuse(table, None, "", f"name the file after its table: {', '.join(TABLES)}")
    limits = text_policy.limits()
    # A cell may be as long as the file: its length is judged by the field it fills.
    csv.field_size_limit(max(csv.field_size_limit(), limits.file_bytes))
    lines = _Lines(stream, table)
    text_lines = iter(lines)
    header = next(text_lines, "")
    # Spreadsheets in many locales (Excel in Russian, say) save CSV with ';' between cells.
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(itertools.chain([header], text_lines), delimiter=delimiter)
    try:
        columns = [text_policy.one_line(name) for name in next(reader, [])]
    except csv.Error as error:
        raise _refuse(table, 1, "", f"the header cannot be read: {error}") from None
    if "id" not in columns:
        raise _refuse(table, 1, "id", "the header needs an id column")
    index = -1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _refuse(table, reader.line_num, "", f"the row cannot be read: {error}") from None
        if not any(cell.strip() for cell in cells):
            continue
        index += 1
        if index >= limits.rows:
            raise _refuse(table, reader.line_num, "", f"more than {limits.rows:,} rows")
        row = SourceRow(table, index, reader.line_num, {})
        if len(cells) > len(columns):
            row.problems.append(("", "more cells than columns"))
        row.data = _unflatten(zip(columns, cells, strict=False), row.problems, limits)
        yield row


def _unflatten(
    cells: Iterable[tuple[str, str]], problems: list[tuple[str, str]], limits: Any
) -> dict[str, Any]:
    """`title_en`, `title_ru` → `title: {en, ru}`; `a|b` → list; empty cells → absent.

    A cell longer than any field may be is reported by its column and left out.
    """
    record: dict[str, Any] = {}
    for column, cell in cells:
        value = cell.strip()
        if not value:
            continue
        base, _, lang = column.rpartition("_")
        # Titles and names have the shorter limit; no field holds more than a description.
        title = base in ONE_LINE_FIELDS and len(lang) == 2
        problem = text_policy.too_long(value, limits.title_length if title else limits.text_length)
        if problem:
            problems.append((column, problem))
            continue
        if base in TRANSLATED_FIELDS and len(lang) == 2:
            translations = record.setdefault(base, {})
            if not isinstance(translations, dict):
                problems.append((column, f"a {base} column and a {column} column: keep one"))
                continue
            translations[lang] = value
        elif column in LIST_FIELDS:
            record[column] = [
                part.strip() for part in value.split(CSV_LIST_SEPARATOR) if part.strip()
            ]
        else:
            record[column] = value
    return record


# ---------------------------------------------------------------- checking


def field_errors(
    error: ValidationError,
    table: str,
    line: int | None,
    index: int | None,
    found: Sequence[tuple[str, str]] = (),
) -> list[RowError]:
    """A RowError for each field pydantic refused, its message as an organiser reads it.

    A field "missing" because the reader already `found` a problem with the row (a cell too
    long, an event without a start) is not reported twice."""
    return [
        RowError(
            table,
            line,
            index,
            ".".join(str(part) for part in problem["loc"]),
            problem["msg"].removeprefix("Value error, "),
        )
        for problem in error.errors()
        if not (found and problem["type"] == "missing")
    ]


def stage_rows(rows: Iterable[SourceRow]) -> Stage:
    """Check every row and keep the valid records in a new `Stage` (the caller closes it).

    Every problem of every row is noted, a row's references too even when another of its
    fields is wrong, so one reading of the file reports everything."""
    stage = Stage()
    try:
        for row in rows:
            _stage_row(stage, row)
        for table, external_id, line, index in stage.done():
            stage.problem(RowError(table, line, index, "id", f"{external_id!r} appears twice"))
    except BaseException:
        stage.close()
        raise
    return stage


def _stage_row(stage: Stage, row: SourceRow) -> None:
    table, line, index = row.table, row.line, row.index
    for field_name, message in row.problems:
        stage.problem(RowError(table, line, index, field_name, message))
    data = row.data
    if isinstance(data, dict):
        for field_name, target in REFERENCES.get(table, {}).items():
            value = data.get(field_name)
            for ref in value if isinstance(value, list) else [value]:
                if isinstance(ref, str) and EXTERNAL_ID.fullmatch(ref.strip()):
                    stage.refer(table, line, index, field_name, target, ref.strip())
    try:
        record = TABLES[table].model_validate(data)
    except ValidationError as error:
        for problem in field_errors(error, table, line, index, row.problems):
            stage.problem(problem)
        return
    except RecursionError:  # a value nested beyond what pydantic follows
        stage.problem(RowError(table, line, index, "", "nested too deeply"))
        return
    if row.problems:
        return
    values = {name: _plain(value) for name, value in record.model_dump(exclude={"id"}).items()}
    if table == "offers":
        values["price_minor"] = round(values.pop("price") * 100)
    stage.add(table, record.id, line, index, values)


def _plain(value: Any) -> Any:
    """A value as the stage keeps it: enums as their text, times in UTC (cheap to store)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


async def _check_references(session: AsyncSession, stage: Stage) -> None:
    """Every id a record points at is in the file or already in the database."""
    absent: dict[str, set[str]] = {}
    for target, refs in stage.unresolved().items():
        model = MODELS[target]
        known: set[str] = set()
        for batch in chunks(sorted(refs)):
            known.update(
                await session.scalars(select(model.external_id).where(model.external_id.in_(batch)))
            )
        if refs - known:
            absent[target] = refs - known
    if not absent:
        return
    rows, total = stage.missing(absent, CatalogueImportError.REPORTED)
    for table, line, index, field_name, target, ref in rows:
        stage.problem(
            RowError(table, line, index, field_name, f"no {SINGULAR[target]} with id {ref!r}")
        )
    stage.problems += total - len(rows)


# ---------------------------------------------------------------- writing


async def import_rows(session: AsyncSession, rows: Iterable[SourceRow]) -> ImportReport:
    """Check every row, then write them all in the caller's transaction, or raise
    CatalogueImportError listing the problems and write nothing."""
    # Reading and checking is Python's work, a minute for a big file: off the event loop.
    with await asyncio.to_thread(stage_rows, rows) as stage:
        await _check_references(session, stage)
        if stage.problems:
            raise CatalogueImportError(stage.errors, stage.problems)
        return await _write(session, stage)


async def import_document(session: AsyncSession, document: CatalogueDocument) -> ImportReport:
    """Upsert every record of a checked document by external id; the caller owns the
    transaction."""
    rows = (
        SourceRow(table, index, None, record.model_dump())
        for table in TABLES
        for index, record in enumerate(getattr(document, table))
    )
    return await import_rows(session, rows)


async def _write(session: AsyncSession, stage: Stage) -> ImportReport:
    """Every staged record, table by table so references point backwards, in batches."""
    report = ImportReport()
    ids: dict[str, dict[str, int]] = {table: {} for table in TABLES}
    # Rows this session has loaded are refreshed after the bulk statements change them.
    loaded = {
        (type(row), row.external_id): row
        for row in list(session.identity_map.values())
        if type(row) in MODELS.values()
    }
    changed: list[Any] = []
    now = datetime.now(UTC)
    for table, model in MODELS.items():
        created = updated = 0
        table_of = model.__table__
        for batch in stage.records(table):
            await _resolve(session, ids, table, [values for _, values in batch])
            existing = dict(
                (
                    await session.execute(
                        select(model.external_id, model.id).where(
                            model.external_id.in_([external_id for external_id, _ in batch])
                        )
                    )
                ).all()
            )
            new, old = [], []
            for external_id, values in batch:
                columns = _columns(table, values, ids)
                if table == "offers":
                    columns["updated_at"] = now
                if external_id in existing:
                    old.append({"row_id": existing[external_id], **columns})
                    if (model, external_id) in loaded:
                        changed.append(loaded[(model, external_id)])
                else:
                    if table == "offers":
                        columns["created_at"] = now
                    new.append({"external_id": external_id, **columns})
            # Core statements, many rows each: the ORM's bookkeeping per row is not needed.
            if old:
                await session.execute(
                    update(table_of).where(table_of.c.id == bindparam("row_id")), old
                )
            if new:
                await session.execute(insert(table_of), new)
            created, updated = created + len(new), updated + len(old)
            if table == "tracks":
                await _replace_track_steps(session, batch, ids)
        report.created[table], report.updated[table] = created, updated
    for row in changed:
        await session.refresh(row)
    return report


async def _resolve(
    session: AsyncSession, ids: dict[str, dict[str, int]], table: str, batch: list[dict]
) -> None:
    """Learn the database ids of the records a batch points at."""
    for field_name, target in REFERENCES.get(table, {}).items():
        wanted: set[str] = set()
        for values in batch:
            value = values.get(field_name)
            wanted.update(value if isinstance(value, list) else [value] if value else [])
        wanted -= ids[target].keys()
        model = MODELS[target]
        for part in chunks(sorted(wanted)):
            found = await session.execute(
                select(model.external_id, model.id).where(model.external_id.in_(part))
            )
            ids[target].update(dict(found.all()))


def _columns(table: str, values: dict[str, Any], ids: dict[str, dict[str, int]]) -> dict:
    columns = dict(values)
    for field_name, target in REFERENCES.get(table, {}).items():
        if field_name == "offers":
            columns.pop(field_name)
            continue
        ref = columns.pop(field_name)
        columns[f"{field_name}_id"] = ids[target][ref] if ref else None
    return columns


async def _replace_track_steps(
    session: AsyncSession, batch: list[tuple[str, dict]], ids: dict[str, dict[str, int]]
) -> None:
    # The batch's offers were resolved by `_write` before the tracks were written.
    track_ids = await session.execute(
        select(Track.external_id, Track.id).where(Track.external_id.in_([e for e, _ in batch]))
    )
    by_external = dict(track_ids.all())
    await session.execute(delete(TrackStep).where(TrackStep.track_id.in_(by_external.values())))
    steps = []
    for external_id, values in batch:
        # A track lists an offer once, at its first place.
        offer_ids = dict.fromkeys(ids["offers"][offer] for offer in values["offers"])
        steps += [
            {"track_id": by_external[external_id], "offer_id": offer_id, "position": position}
            for position, offer_id in enumerate(offer_ids)
        ]
    if steps:
        await session.execute(insert(TrackStep.__table__), steps)


async def import_file(
    session: AsyncSession,
    path: Path,
    table: str | None = None,
    *,
    offer: str | None = None,
    zone: tzinfo = UTC,
) -> ImportReport:
    """Read, check and import one file; raises CatalogueImportError and writes nothing if bad."""
    return await import_rows(session, read_catalogue_file(path, table, offer=offer, zone=zone))


async def import_bytes(
    session: AsyncSession,
    name: str,
    data: bytes,
    table: str | None = None,
    *,
    offer: str | None = None,
    zone: tzinfo = UTC,
) -> ImportReport:
    """`import_file` for content that is not on disk, e.g. a document sent to the bot."""
    rows = read_catalogue_bytes(name, data, table, offer=offer, zone=zone)
    return await import_rows(session, rows)


# ---------------------------------------------------------------- export


async def export_document(session: AsyncSession) -> CatalogueDocument:
    """The whole catalogue in the exchange format; importing it elsewhere recreates it."""
    external: dict[str, dict[int, str]] = {}
    for table, model in MODELS.items():
        rows = (await session.execute(select(model.id, model.external_id))).all()
        external[table] = dict(rows)
    steps = (
        await session.scalars(select(TrackStep).order_by(TrackStep.track_id, TrackStep.position))
    ).all()
    track_offers: dict[int, list[str]] = {}
    for step in steps:
        track_offers.setdefault(step.track_id, []).append(external["offers"][step.offer_id])

    def dump(row: Any, table: str) -> dict[str, Any]:
        data = row.model_dump(exclude={"id", "external_id"})
        data["id"] = row.external_id
        if table == "offers":
            data["provider"] = external["providers"][data.pop("provider_id")]
            festival_id = data.pop("festival_id")
            data["festival"] = external["festivals"][festival_id] if festival_id else None
            data["price"] = data.pop("price_minor") / 100
            data.pop("updated_at")
            data.pop("created_at")  # when it first appeared here, not part of the format
        elif table == "tracks":
            data["category"] = external["categories"][data.pop("category_id")]
            data["offers"] = track_offers.get(row.id, [])
        elif table == "sessions":
            data["offer"] = external["offers"][data.pop("offer_id")]
            venue_id = data.pop("venue_id")
            data["venue"] = external["venues"][venue_id] if venue_id else None
        return data

    content: dict[str, list[dict[str, Any]]] = {}
    for table, model in MODELS.items():
        rows = (await session.scalars(select(model).order_by(model.id))).all()
        content[table] = [dump(row, table) for row in rows]
    return CatalogueDocument.model_validate(content)
