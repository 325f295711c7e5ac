"""One text policy for everything that enters the catalogue, typed in a form or read from a file,
and for every cell the bot writes to a CSV.

- **Control characters** (NUL, the other C0 and C1 controls, DEL, lone surrogates) are
  stripped: a NUL cannot even be stored in PostgreSQL, and none of them is text a person
  meant. A one-line field (a title, a name) also has its line breaks and tabs folded to
  spaces; a long text keeps its line breaks.
- **Lengths** are limited the same way in the form and in the file: `InputLimits` holds them,
  `Settings` (bot/settings.py) chooses them, and the composition root hands them down with
  `configure` (catalogue/ never reads Settings itself).
- **Spreadsheet cells**: `spreadsheet_safe` neutralises a cell that a spreadsheet would run as a
  formula (OWASP's advice on CSV injection, CWE-1236).
- **Numbers from outside** (deep links, callback data, typed references): `bounded_id` reads
  them into integers a database column can hold, or None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# C0 controls except tab, line feed and carriage return; DEL; C1 controls; lone surrogates
# (JSON's "\ud800" decodes to one, and no database encodes it).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
MULTI_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029]")

# Defaults of the settings of the same names (README's settings table).
TITLE_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 3000
IMPORT_MAX_BYTES = 64 * 2**20
IMPORT_MAX_ROWS = 1_000_000
IMPORT_MAX_DEPTH = 20
# Links and short words are not settings: they fit Telegram's buttons and the columns.
LINK_MAX_LENGTH = 300
WORD_MAX_LENGTH = 120

# A PostgreSQL `integer` column (every id of ours) holds these.
ID_MIN = 1
ID_MAX = 2**31 - 1

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class InputLimits:
    """How much one field, and one imported file, may hold."""

    title_length: int = TITLE_MAX_LENGTH  # titles and names
    text_length: int = TEXT_MAX_LENGTH  # descriptions, addresses, accessibility notes
    file_bytes: int = IMPORT_MAX_BYTES
    rows: int = IMPORT_MAX_ROWS
    depth: int = IMPORT_MAX_DEPTH  # how deeply a JSON document may nest


_limits = InputLimits()


def configure(limits: InputLimits) -> None:
    """Put the configured limits in force (called by the composition root from Settings)."""
    global _limits
    _limits = limits


def limits() -> InputLimits:
    return _limits


def strip_controls(text: str) -> str:
    """`text` without control characters; line breaks and tabs stay."""
    return CONTROL_CHARACTERS.sub("", text)


def one_line(text: str) -> str:
    """A title or a name: no control characters, every run of spaces and breaks one space."""
    return " ".join(strip_controls(text).split())


def multi_line(text: str) -> str:
    """A description: no control characters, line breaks as '\\n', no spaces around it."""
    return MULTI_LINE_BREAKS.sub("\n", strip_controls(text)).strip()


def too_long(text: str, limit: int) -> str | None:
    """The problem with a text over `limit` characters, as an organiser reads it; None if fine."""
    if len(text) <= limit:
        return None
    return f"too long: {len(text):,} characters, up to {limit:,}"


def spreadsheet_safe(value: object) -> str:
    """A CSV cell no spreadsheet runs: a text beginning with =, +, -, @, tab or carriage return
    gets a leading apostrophe (spreadsheets show the rest as text). Numbers are left alone:
    -5 is not a formula."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str):
        return str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def bounded_id(text: object) -> int | None:
    """An id from outside (a deep link, a button, a typed reference) as an int a database id
    column holds; None for anything else (too long, not ASCII digits, zero, negative)."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if ID_MIN <= text <= ID_MAX else None
    if not isinstance(text, str):
        return None
    text = text.strip()
    # `isdigit` says yes to '²' and to other scripts' digits that int() refuses or misreads.
    if not text or len(text) > 10 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if ID_MIN <= value <= ID_MAX else None
