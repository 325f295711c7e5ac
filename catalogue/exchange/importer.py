"""Import and export of the catalogue exchange format (see `catalogue/exchange/schema.py`).

Import is all or nothing: the whole file is parsed and checked (fields, then references
against the file and the database) before the first row is written, and every problem is
reported with its line and field. Records are matched by their stable `id`, so importing the
same file twice updates instead of duplicating.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import tzinfo
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.exchange.rows import CatalogueImportError
from catalogue.exchange.rows import RowError
from catalogue.exchange.rows import SourceRow
from catalogue.exchange.schema import TABLES
from catalogue.exchange.schema import CatalogueDocument
from catalogue.exchange.schema import Record
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
LIST_FIELDS = {"keywords", "offers"}
CSV_LIST_SEPARATOR = "|"
ICS_SUFFIXES = (".ics", ".ical", ".icalendar")


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values())


# ---------------------------------------------------------------- reading files


def read_catalogue_file(
    path: Path, table: str | None = None, *, offer: str | None = None, zone: tzinfo = UTC
) -> list[SourceRow]:
    """Rows of a JSON document, a one-table CSV file or an iCalendar file, with line numbers."""
    return read_catalogue_bytes(path.name, path.read_bytes(), table, offer=offer, zone=zone)


def read_catalogue_bytes(
    name: str,
    data: bytes,
    table: str | None = None,
    *,
    offer: str | None = None,
    zone: tzinfo = UTC,
) -> list[SourceRow]:
    """The same from a file's name and content (an upload to the bot, say).

    An `.ics` file holds the sessions of one `offer`; its floating times are in `zone`.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CatalogueImportError(
            [RowError(name, None, None, "", "the file is not UTF-8 text")]
        ) from None
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return _csv_rows(text, table or Path(name).stem.lower())
    if suffix == ".json":
        return _json_rows(text)
    if suffix in ICS_SUFFIXES:
        from catalogue.exchange.ical import ics_rows

        return ics_rows(text, offer, zone)
    raise CatalogueImportError(
        [RowError(name, None, None, "", "expected a .json, .csv or .ics file")]
    )


def _json_rows(text: str) -> list[SourceRow]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise CatalogueImportError(
            [RowError("document", error.lineno, None, "", f"not valid JSON: {error.msg}")]
        ) from None
    if not isinstance(document, dict):
        raise CatalogueImportError(
            [RowError("document", 1, None, "", "expected an object with lists such as offers")]
        )
    unknown = sorted(set(document) - set(TABLES))
    if unknown:
        raise CatalogueImportError(
            [
                RowError(name, None, None, "", f"unknown list; use {', '.join(TABLES)}")
                for name in unknown
            ]
        )
    lines = _json_element_lines(text)
    rows: list[SourceRow] = []
    for table, items in document.items():
        if not isinstance(items, list):
            raise CatalogueImportError([RowError(table, None, None, "", "expected a list")])
        rows += [
            SourceRow(table, index, lines.get((table, index)), item)
            for index, item in enumerate(items)
        ]
    return rows


def _json_element_lines(text: str) -> dict[tuple[str, int], int]:
    """Line of each element of the document's top-level lists (JSON has no positions)."""
    decoder = json.JSONDecoder()
    lines: dict[tuple[str, int], int] = {}

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
                lines[(key, index)] = text.count("\n", 0, position) + 1
                _, position = decoder.raw_decode(text, position)
                position, index = skip(position), index + 1
                if text[position] == ",":
                    position = skip(position + 1)
            position += 1
        position = skip(position)
        if text[position] == ",":
            position = skip(position + 1)
    return lines


def _csv_rows(text: str, table: str) -> list[SourceRow]:
    if table not in TABLES:
        raise CatalogueImportError(
            [RowError(table, None, None, "", f"name the file after its table: {', '.join(TABLES)}")]
        )
    # Spreadsheets in many locales (Excel in Russian, say) save CSV with ';' between cells.
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if not reader.fieldnames or "id" not in reader.fieldnames:
        raise CatalogueImportError(
            [RowError(table, 1, None, "id", "the header needs an id column")]
        )
    rows: list[SourceRow] = []
    for index, raw in enumerate(reader):
        if None in raw:
            rows.append(SourceRow(table, index, reader.line_num, {"__extra_cells__": raw[None]}))
            continue
        rows.append(SourceRow(table, index, reader.line_num, _unflatten(raw)))
    return rows


def _unflatten(raw: dict[str, str]) -> dict[str, Any]:
    """`title_en`, `title_ru` → `title: {en, ru}`; `a|b` → list; empty cells → absent."""
    record: dict[str, Any] = {}
    for column, cell in raw.items():
        value = (cell or "").strip()
        if not value:
            continue
        base, _, lang = column.rpartition("_")
        if base in TRANSLATED_FIELDS and len(lang) == 2:
            record.setdefault(base, {})[lang] = value
        elif column in LIST_FIELDS:
            record[column] = [
                part.strip() for part in value.split(CSV_LIST_SEPARATOR) if part.strip()
            ]
        else:
            record[column] = value
    return record


# ---------------------------------------------------------------- validation


Places = dict[tuple[str, str], tuple[int | None, int]]


def validate_rows(rows: Iterable[SourceRow]) -> tuple[CatalogueDocument, Places, list[RowError]]:
    """Field checks of every row: the valid part, where each record stood, every problem."""
    places: Places = {}
    records: dict[str, list[Record]] = {table: [] for table in TABLES}
    seen: dict[str, set[str]] = {table: set() for table in TABLES}
    errors: list[RowError] = []
    for row in rows:
        if isinstance(row.data, dict) and "__extra_cells__" in row.data:
            errors.append(RowError(row.table, row.line, row.index, "", "more cells than columns"))
            continue
        if isinstance(row.data, dict) and "__problem__" in row.data:
            # A reader found the row unusable before any field check (an .ics all-day event).
            field_name, message = row.data["__problem__"]
            errors.append(RowError(row.table, row.line, row.index, field_name, message))
            continue
        try:
            record = TABLES[row.table].model_validate(row.data)
        except ValidationError as error:
            errors += field_errors(error, row.table, row.line, row.index)
            continue
        if record.id in seen[row.table]:
            errors.append(
                RowError(row.table, row.line, row.index, "id", f"{record.id!r} appears twice")
            )
            continue
        seen[row.table].add(record.id)
        records[row.table].append(record)
        places[(row.table, record.id)] = (row.line, row.index)
    return CatalogueDocument(**records), places, errors


def field_errors(
    error: ValidationError, table: str, line: int | None, index: int | None
) -> list[RowError]:
    """A RowError for each field pydantic refused, its message as an organiser reads it."""
    return [
        RowError(
            table,
            line,
            index,
            ".".join(str(part) for part in problem["loc"]),
            problem["msg"].removeprefix("Value error, "),
        )
        for problem in error.errors()
    ]


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


async def check_references(
    session: AsyncSession, document: CatalogueDocument, places: Places | None = None
) -> list[RowError]:
    """Every id a record points at exists, in the same file or already in the database."""
    known = {table: {record.id for record in getattr(document, table)} for table in TABLES}
    errors: list[RowError] = []
    for table, fields in REFERENCES.items():
        for record in getattr(document, table):
            for field_name, target in fields.items():
                value = getattr(record, field_name)
                for reference in value if isinstance(value, list) else [value]:
                    if reference is None or reference in known[target]:
                        continue
                    if await _exists(session, target, reference):
                        known[target].add(reference)
                        continue
                    line, index = (places or {}).get((table, record.id), (None, None))
                    message = f"no {SINGULAR[target]} with id {reference!r}"
                    errors.append(RowError(table, line, index, field_name, message))
    return errors


async def _exists(session: AsyncSession, table: str, external_id: str) -> bool:
    model = MODELS[table]
    found = await session.scalar(select(model.id).where(model.external_id == external_id))
    return found is not None


# ---------------------------------------------------------------- writing


async def import_document(session: AsyncSession, document: CatalogueDocument) -> ImportReport:
    """Upsert every record by external id; the caller owns the transaction."""
    errors = await check_references(session, document)
    if errors:
        raise CatalogueImportError(errors)
    report = ImportReport()
    ids: dict[str, dict[str, int]] = {}
    for table in TABLES:
        model = MODELS[table]
        records = getattr(document, table)
        existing = await _existing_rows(session, model, [record.id for record in records])
        created = 0
        for record in records:
            values = await _column_values(session, table, record, ids)
            row = existing.get(record.id)
            if row is None:
                row = model(external_id=record.id, **values)
                session.add(row)
                existing[record.id] = row
                created += 1
            else:
                for name, value in values.items():
                    setattr(row, name, value)
        await session.flush()
        ids[table] = {external_id: row.id for external_id, row in existing.items()}
        if table == "tracks":
            await _replace_track_steps(session, document, ids)
        report.created[table] = created
        report.updated[table] = len(records) - created
    return report


async def _existing_rows(session: AsyncSession, model: type, external_ids: list[str]) -> dict:
    found: dict[str, Any] = {}
    for chunk in _chunks(external_ids, 500):
        result = await session.scalars(select(model).where(model.external_id.in_(chunk)))
        found.update({row.external_id: row for row in result})
    return found


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _resolve(
    session: AsyncSession, ids: dict[str, dict[str, int]], table: str, external_id: str | None
) -> int | None:
    if external_id is None:
        return None
    if external_id in ids.get(table, {}):
        return ids[table][external_id]
    model = MODELS[table]
    return await session.scalar(select(model.id).where(model.external_id == external_id))


async def _column_values(
    session: AsyncSession, table: str, record: BaseModel, ids: dict[str, dict[str, int]]
) -> dict[str, Any]:
    values = record.model_dump(exclude={"id"})
    if table == "offers":
        values["provider_id"] = await _resolve(session, ids, "providers", values.pop("provider"))
        values["festival_id"] = await _resolve(session, ids, "festivals", values.pop("festival"))
        values["price_minor"] = round(values.pop("price") * 100)
        values["updated_at"] = datetime.now(UTC)
    elif table == "tracks":
        values.pop("offers")
        values["category_id"] = await _resolve(session, ids, "categories", values.pop("category"))
    elif table == "sessions":
        values["offer_id"] = await _resolve(session, ids, "offers", values.pop("offer"))
        values["venue_id"] = await _resolve(session, ids, "venues", values.pop("venue"))
    return values


async def _replace_track_steps(
    session: AsyncSession, document: CatalogueDocument, ids: dict[str, dict[str, int]]
) -> None:
    for track in document.tracks:
        track_id = ids["tracks"][track.id]
        await session.execute(delete(TrackStep).where(TrackStep.track_id == track_id))
        offer_ids = [await _resolve(session, ids, "offers", offer) for offer in track.offers]
        # A track lists an offer once, at its first place.
        unique_ids = list(dict.fromkeys(offer_ids))
        session.add_all(
            TrackStep(track_id=track_id, offer_id=offer_id, position=position)
            for position, offer_id in enumerate(unique_ids)
        )
    await session.flush()


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


async def import_rows(session: AsyncSession, rows: list[SourceRow]) -> ImportReport:
    document, places, errors = validate_rows(rows)
    errors += await check_references(session, document, places)
    if errors:
        raise CatalogueImportError(errors)
    return await import_document(session, document)


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
