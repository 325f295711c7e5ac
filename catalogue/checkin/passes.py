"""Personal passes: a code per resident, shown as text and QR, read back however it is typed.

A pass is a short code (`K7QM-4XPD`): seven characters drawn at random from an alphabet without
look-alikes (no 0/O, 1/I/L), then a check character that catches any one mistyped character
and any two neighbours swapped. Codes are not sequential and not guessable (31⁷ ≈ 27 billion
bodies); only a volunteer's check-in turns one into a person.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.tables import CODE_BODY
from catalogue.checkin.tables import CODE_LENGTH
from catalogue.checkin.tables import AgeBand
from catalogue.checkin.tables import ResidentPass
from catalogue.database import dialect_insert
from catalogue.models import Resident
from catalogue.models import utc_now

# -- codes

PASS_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PASS_PREFIX = "pass_"  # deep link of a pass: /start pass_K7QM4XPD

_SEPARATORS = re.compile(r"[\s,;]+")
_VALUES = {character: value for value, character in enumerate(PASS_ALPHABET)}


def _check_character(body: str) -> str:
    total = sum((position + 1) * _VALUES[character] for position, character in enumerate(body))
    return PASS_ALPHABET[total % len(PASS_ALPHABET)]


def new_pass_code() -> str:
    body = "".join(secrets.choice(PASS_ALPHABET) for _ in range(CODE_BODY))
    return body + _check_character(body)


def show_code(code: str) -> str:
    """ "K7QM4XPD" → "K7QM-4XPD": how people read and type it."""
    return f"{code[:4]}-{code[4:]}"


def normalise_code(typed: str) -> str | None:
    """The stored form of a typed code ("k7qm-4xpd", a pass deep link…); None if it cannot be
    a pass code: wrong length, a character codes never contain, or a typo the check catches."""
    text = typed.strip()
    if PASS_PREFIX in text:
        text = text.rsplit(PASS_PREFIX, 1)[1]
    code = text.replace("-", "").upper()
    if len(code) != CODE_LENGTH or any(character not in _VALUES for character in code):
        return None
    return code if _check_character(code[:CODE_BODY]) == code[-1] else None


def _half_code(token: str) -> bool:
    return len(token) == CODE_LENGTH // 2 and all(c in _VALUES for c in token.upper())


def split_codes(text: str) -> list[str]:
    """What a volunteer typed, one item per code: separated by spaces, commas or new lines.

    A code typed as its two halves with a space between ("K7QM 4XPD") is one code.
    """
    tokens = [token for token in _SEPARATORS.split(text) if token]
    codes: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if (
            index + 1 < len(tokens)
            and _half_code(token)
            and _half_code(tokens[index + 1])
            and normalise_code(token + tokens[index + 1]) is not None
        ):
            codes.append(f"{token}-{tokens[index + 1]}")
            index += 2
            continue
        codes.append(token)
        index += 1
    return codes


# -- passes


async def pass_of(session: AsyncSession, resident: Resident) -> ResidentPass:
    """The resident's pass, made on first use with a fresh random code."""
    found = await session.get(ResidentPass, resident.id)
    if found is not None:
        return found
    table = ResidentPass.__table__
    for _attempt in range(5):
        code = new_pass_code()
        statement = (
            dialect_insert(session)(table)
            .values(resident_id=resident.id, code=code, created_at=utc_now())
            .on_conflict_do_nothing()
        )
        await session.execute(statement)
        found = await session.get(ResidentPass, resident.id, populate_existing=True)
        if found is not None:  # ours, or one a parallel update of theirs made first
            return found
    raise RuntimeError("could not draw an unused pass code")  # 31⁷ codes: never in practice


async def set_age_band(session: AsyncSession, resident: Resident, band: AgeBand | None) -> None:
    own = await pass_of(session, resident)
    own.age_band = band
    session.add(own)
    await session.flush()


async def holder_of(session: AsyncSession, code: str) -> int | None:
    """The resident id behind a normalised code."""
    return await session.scalar(select(ResidentPass.resident_id).where(ResidentPass.code == code))
