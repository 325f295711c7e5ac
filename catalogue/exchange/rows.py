"""What an imported file is read into and what can be wrong with it: shared by the importer and
the iCalendar reader (catalogue/exchange/ical.py), so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalogue.errors import DomainError


@dataclass(frozen=True)
class RowError:
    table: str
    line: int | None
    index: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else f"{self.table}[{self.index}]"
        return f"{self.table}, {where}, {self.field or 'record'}: {self.message}"


class CatalogueImportError(DomainError):
    """The file was not imported; `errors` says where and why."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s); nothing was imported")


@dataclass
class SourceRow:
    """One record as read from a file: its table, its place in the file and its raw data."""

    table: str
    index: int
    line: int | None
    data: Any
