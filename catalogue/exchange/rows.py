"""What an imported file is read into and what can be wrong with it: shared by the importer and
the iCalendar reader (catalogue/exchange/ical.py), so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
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
        if self.line:
            where = f"line {self.line}, "
        elif self.index is not None:
            where = f"{self.table}[{self.index}], "
        else:
            where = ""
        return f"{self.table}, {where}{self.field or 'record'}: {self.message}"


class CatalogueImportError(DomainError):
    """The file was not imported; `errors` says where and why (the first `REPORTED` of them,
    in the order of the file; `total` counts them all)."""

    REPORTED = 1000

    def __init__(self, errors: list[RowError], total: int | None = None) -> None:
        self.errors = sorted(errors, key=_place)[: self.REPORTED]
        self.total = max(total or 0, len(errors))
        super().__init__(f"{self.total} problem(s); nothing was imported")


def _place(error: RowError) -> tuple[int, int]:
    return (error.line or 0, error.index or 0)


@dataclass
class SourceRow:
    """One record as read from a file: its table, its place in the file and its raw data.

    `problems` are what a reader already found wrong with it (a cell too long, an event that
    repeats), as (field, message): the row's other fields are still checked, so every problem
    of the row is reported at once."""

    table: str
    index: int
    line: int | None
    data: Any
    problems: list[tuple[str, str]] = field(default_factory=list)
