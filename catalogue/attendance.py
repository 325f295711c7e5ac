"""Who came: personal passes, check-in at the door, headcounts, self check-in, feedback.

* A resident's **pass** is a short code (`K7QM-4XPD`): seven characters drawn at random from an
  alphabet without look-alikes (no 0/O, 1/I/L), then a check character that catches any one
  mistyped character and any two neighbours swapped. Codes are not sequential and not
  guessable (31⁷ ≈ 27 billion bodies); only a volunteer's check-in turns one into a person.
* A **check-in** is one row per (session, resident): the database's unique constraint is what
  makes "the same resident at the same session counts once", however many volunteers type the
  code at once. Every row is inserted with `ON CONFLICT DO NOTHING … RETURNING`, and each
  code's answer comes from that outcome, never from a read made before it.
* Every volunteer action (one message of codes, one scan, one headcount) is an **entry**;
  `/undo` deletes the volunteer's latest entry and, through it, its check-ins.
* **Headcounts** of drop-in events are anonymous numbers on an entry: no resident involved.
  Check-ins, passes and feedback point at `resident` (ON DELETE CASCADE), so /forget_me finds
  and deletes them; entries and headcounts stay as the city's anonymous records.
* **Self check-in**: a volunteer shows a QR of a deep link with a random token (only its hash
  is stored) that expires after `SELF_CHECK_IN_TTL`, and never later than the session's end.

All functions take the database session first and work in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Column, Field, SQLModel

from catalogue.models import (
    Offer,
    OfferSession,
    Resident,
    SessionStatus,
    Track,
    TrackStep,
    Venue,
    _enum_column,
    _foreign_key,
    _string_column,
    _utc_column,
    utc_now,
)
from scheduler.models import Attendance, AttendanceStatus, OutboxMessage
from scheduler.outbox import Conflict, NewMessage, enqueue_many, skip_pending

# -- codes

PASS_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_BODY = 7  # random characters; an eighth checks them
CODE_LENGTH = CODE_BODY + 1
PASS_PREFIX = "pass_"  # deep link of a pass: /start pass_K7QM4XPD
SELF_PREFIX = "ci_"  # deep link of a session's self check-in: /start ci_<token>
SELF_TOKEN_BYTES = 12
SELF_CHECK_IN_TTL = timedelta(minutes=15)
MAX_CODES_PER_MESSAGE = 50
MAX_HEADCOUNT = 10_000
UNDO_WINDOW = timedelta(hours=24)
FEEDBACK = "feedback"  # outbox kind of the prompt sent after an attended session
FEEDBACK_COMMENT_LIMIT = 1000

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


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- tables


def _optional_enum_column(enum: type[StrEnum]) -> Column:
    values = sa.Enum(
        enum, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
    )
    return Column(values, nullable=True)


class AgeBand(StrEnum):
    """Told by the resident on /pass, optionally, for the city's statistics only."""

    UNDER_18 = "u18"
    FROM_18 = "18-29"
    FROM_30 = "30-44"
    FROM_45 = "45-59"
    FROM_60 = "60+"


class CheckInMethod(StrEnum):
    CODE = "code"  # a volunteer typed the pass code
    SCAN = "scan"  # a volunteer scanned the resident's QR (a deep link)
    SELF = "self"  # the resident scanned the session's self check-in QR
    HEADCOUNT = "headcount"  # anonymous: a number of people, nobody named


class ResidentPass(SQLModel, table=True):
    __tablename__ = "resident_pass"

    resident_id: int = Field(
        sa_column=_foreign_key("resident.id", ondelete="CASCADE", primary_key=True)
    )
    code: str = Field(sa_column=_string_column(CODE_LENGTH, unique=True))
    age_band: AgeBand | None = Field(default=None, sa_column=_optional_enum_column(AgeBand))
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())


class AttendanceEntry(SQLModel, table=True):
    """One thing a volunteer did at the door (or one self check-in); `/undo` takes it back."""

    __tablename__ = "attendance_entry"
    __table_args__ = (
        sa.Index("ix_attendance_entry_volunteer_id_id", "volunteer_id", "id"),
        sa.CheckConstraint("people >= 0", name="people_not_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=_foreign_key("offer_session.id", ondelete="CASCADE", index=True)
    )
    # Telegram id of the volunteer; None for a self check-in.
    volunteer_id: int | None = Field(default=None, sa_column=Column(sa.BigInteger, nullable=True))
    method: CheckInMethod = Field(sa_column=_enum_column(CheckInMethod))
    # Anonymous people counted (method "headcount"); 0 for entries of named check-ins.
    people: int = 0
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())


class CheckIn(SQLModel, table=True):
    """A resident came to a session: at most one row per (session, resident)."""

    __tablename__ = "check_in"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "resident_id"),
        sa.Index("ix_check_in_resident_id_checked_in_at", "resident_id", "checked_in_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=_foreign_key("offer_session.id", ondelete="CASCADE"))
    resident_id: int = Field(sa_column=_foreign_key("resident.id", ondelete="CASCADE"))
    entry_id: int = Field(
        sa_column=_foreign_key("attendance_entry.id", ondelete="CASCADE", index=True)
    )
    # Had a seat for the session when checked in; False: a walk-in.
    registered: bool = False
    # The resident's first check-in ever (kept true on their earliest row through /undo).
    first_visit: bool = False
    # Who they said they were at the time (for the aggregates; never shown per person).
    category_id: int | None = Field(default=None, sa_column=Column(sa.Integer, nullable=True))
    age_band: AgeBand | None = Field(default=None, sa_column=_optional_enum_column(AgeBand))
    checked_in_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())


class CheckInToken(SQLModel, table=True):
    """A session's self check-in QR: the token's hash, valid until `expires_at`."""

    __tablename__ = "check_in_token"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=_foreign_key("offer_session.id", ondelete="CASCADE", index=True)
    )
    token_hash: str = Field(sa_column=_string_column(64, unique=True))
    created_by: int = Field(sa_column=Column(sa.BigInteger, nullable=False))
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())
    expires_at: datetime = Field(sa_column=_utc_column())


class SessionFeedback(SQLModel, table=True):
    __tablename__ = "session_feedback"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "resident_id"),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="score_1_to_5"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=_foreign_key("offer_session.id", ondelete="CASCADE"))
    resident_id: int = Field(sa_column=_foreign_key("resident.id", ondelete="CASCADE"))
    score: int
    comment: str | None = Field(
        default=None, sa_column=_string_column(FEEDBACK_COMMENT_LIMIT, nullable=True)
    )
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())


# -- outcomes and problems


class Answer(StrEnum):
    """What one code (or scan) did."""

    CHECKED_IN = "checked_in"
    WALK_IN = "walk_in"  # not registered for the session: checked in as a walk-in
    ALREADY = "already"
    UNKNOWN = "unknown"  # a well-formed code nobody holds
    MALFORMED = "malformed"  # cannot be a pass code


NEW = (Answer.CHECKED_IN, Answer.WALK_IN)


class Problem(StrEnum):
    NO_SESSION = "no_session"
    NOT_TODAY = "not_today"
    CANCELLED = "cancelled"
    OVER = "over"  # the session has ended (self check-in QR)
    NO_CODES = "no_codes"
    TOO_MANY_CODES = "too_many_codes"
    BAD_NUMBER = "bad_number"
    TOKEN_UNKNOWN = "token_unknown"
    TOKEN_EXPIRED = "token_expired"


class CheckInError(Exception):
    def __init__(self, problem: Problem, offer_session: OfferSession | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.offer_session = offer_session


@dataclass(frozen=True)
class CodeAnswer:
    typed: str
    answer: Answer
    code: str | None = None  # normalised, when well-formed


@dataclass(frozen=True)
class Batch:
    """The answers to one message of codes, in the order typed."""

    answers: list[CodeAnswer]
    checked_in: int  # the session's check-ins now, all volunteers together
    entry_id: int | None  # None when nothing new was recorded

    @property
    def new(self) -> int:
        return sum(answer.answer in NEW for answer in self.answers)


@dataclass(frozen=True)
class TodaySession:
    session: OfferSession
    offer: Offer
    venue: Venue | None


@dataclass(frozen=True)
class Counts:
    registered: int
    checked_in: int
    walk_ins: int
    headcount: int


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
            _insert(session)(table)
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


# -- which session


def day_bounds(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Today in the city, as [start, end) instants."""
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(), tzinfo=zone)
    return start, datetime.combine(today + timedelta(days=1), time(), tzinfo=zone)


def is_today(offer_session: OfferSession, now: datetime, zone: ZoneInfo) -> bool:
    start, end = day_bounds(now, zone)
    return offer_session.starts_at < end and offer_session.ends_at > start


async def sessions_today(
    session: AsyncSession, now: datetime, zone: ZoneInfo, venue_id: int | None = None
) -> list[TodaySession]:
    """Sessions that take place (at least partly) today in the city, cancelled ones left out."""
    start, end = day_bounds(now, zone)
    query = (
        select(OfferSession, Offer, Venue)
        .join(Offer, Offer.id == OfferSession.offer_id)
        .outerjoin(Venue, Venue.id == OfferSession.venue_id)
        .where(
            OfferSession.starts_at < end,
            OfferSession.ends_at > start,
            OfferSession.status != SessionStatus.CANCELLED,
        )
        .order_by(OfferSession.starts_at, OfferSession.id)
    )
    if venue_id is not None:
        query = query.where(OfferSession.venue_id == (venue_id or None))
    rows = await session.execute(query)
    return [TodaySession(offer_session, offer, venue) for offer_session, offer, venue in rows]


def matching(items: Iterable[TodaySession], words: str) -> list[TodaySession]:
    """Today's sessions whose title or venue (any language) contains every word typed."""
    wanted = [word.casefold() for word in words.split() if word]

    def text_of(item: TodaySession) -> str:
        parts = list(item.offer.title.values())
        if item.venue is not None:
            parts += [*item.venue.name.values(), item.venue.district or ""]
        return " ".join(parts).casefold()

    return [item for item in items if all(word in text_of(item) for word in wanted)]


async def find_session(session: AsyncSession, reference: str) -> OfferSession | None:
    """A session by its number ("12", "#12") or the city's id for it."""
    reference = reference.strip().removeprefix("#")
    if reference.isascii() and reference.isdigit() and len(reference) < 10:
        found = await session.get(OfferSession, int(reference))
        if found is not None:
            return found
    if not reference or len(reference) > 80:
        return None
    return await session.scalar(select(OfferSession).where(OfferSession.external_id == reference))


async def open_session(
    session: AsyncSession, reference: str | int, now: datetime, zone: ZoneInfo
) -> OfferSession:
    """A session volunteers may check people in to right now; CheckInError says why not."""
    if isinstance(reference, int):
        offer_session = await session.get(OfferSession, reference)
    else:
        offer_session = await find_session(session, reference)
    if offer_session is None:
        raise CheckInError(Problem.NO_SESSION)
    if offer_session.status == SessionStatus.CANCELLED:
        raise CheckInError(Problem.CANCELLED, offer_session)
    if not is_today(offer_session, now, zone):
        raise CheckInError(Problem.NOT_TODAY, offer_session)
    return offer_session


async def session_facts(session: AsyncSession, session_id: int) -> TodaySession | None:
    row = (
        await session.execute(
            select(OfferSession, Offer, Venue)
            .join(Offer, Offer.id == OfferSession.offer_id)
            .outerjoin(Venue, Venue.id == OfferSession.venue_id)
            .where(OfferSession.id == session_id)
        )
    ).first()
    return TodaySession(*row) if row is not None else None


async def counts(session: AsyncSession, session_id: int) -> Counts:
    checked_in, walk_ins = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(sa.case((CheckIn.registered.is_(False), 1), else_=0)), 0),
            ).where(CheckIn.session_id == session_id)
        )
    ).one()
    registered = await session.scalar(
        select(func.count()).where(
            Attendance.session_id == session_id, Attendance.status == AttendanceStatus.GOING
        )
    )
    headcount = await session.scalar(
        select(func.coalesce(func.sum(AttendanceEntry.people), 0)).where(
            AttendanceEntry.session_id == session_id,
            AttendanceEntry.method == CheckInMethod.HEADCOUNT,
        )
    )
    return Counts(registered or 0, checked_in or 0, walk_ins or 0, headcount or 0)


async def checked_in_count(session: AsyncSession, session_id: int) -> int:
    return await session.scalar(select(func.count()).where(CheckIn.session_id == session_id)) or 0


# -- checking in


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


@dataclass(frozen=True)
class _Holder:
    resident_id: int
    telegram_id: int
    category_id: int | None
    age_band: AgeBand | None
    registered: bool  # has a seat for the session being checked in to
    first_visit: bool  # never checked in anywhere before


async def _new_entry(
    session: AsyncSession,
    offer_session: OfferSession,
    method: CheckInMethod,
    volunteer_id: int | None,
    now: datetime,
    people: int = 0,
) -> int:
    table = AttendanceEntry.__table__
    return await session.scalar(
        table.insert()
        .values(
            session_id=offer_session.id,
            volunteer_id=volunteer_id,
            method=method,
            people=people,
            created_at=now,
        )
        .returning(table.c.id)
    )


async def _record(
    session: AsyncSession,
    offer_session: OfferSession,
    holders: Sequence[_Holder],
    method: CheckInMethod,
    volunteer_id: int | None,
    now: datetime,
) -> tuple[dict[int, Answer], int | None]:
    """Insert check-ins; each holder's answer comes from whether their row went in."""
    if not holders:
        return {}, None
    by_id = {holder.resident_id: holder for holder in holders}
    entry_id = await _new_entry(session, offer_session, method, volunteer_id, now)
    # Sorted by resident: two volunteers' overlapping batches lock rows in the same order.
    rows = [
        {
            "session_id": offer_session.id,
            "resident_id": resident_id,
            "entry_id": entry_id,
            "registered": by_id[resident_id].registered,
            "first_visit": by_id[resident_id].first_visit,
            "category_id": by_id[resident_id].category_id,
            "age_band": by_id[resident_id].age_band,
            "checked_in_at": now,
        }
        for resident_id in sorted(by_id)
    ]
    table = CheckIn.__table__
    statement = (
        _insert(session)(table)
        .on_conflict_do_nothing(index_elements=["session_id", "resident_id"])
        .returning(table.c.resident_id)
    )
    # Parameters apart from the statement: one cached statement, whatever the batch size.
    inserted = set((await session.execute(statement, rows)).scalars())
    if not inserted:
        await session.execute(delete(AttendanceEntry).where(AttendanceEntry.id == entry_id))
        entry_id = None
    else:
        await _plan_feedback(session, offer_session, [by_id[i] for i in sorted(inserted)], now)
    answers = {
        resident_id: (
            Answer.ALREADY
            if resident_id not in inserted
            else Answer.CHECKED_IN
            if holder.registered
            else Answer.WALK_IN
        )
        for resident_id, holder in by_id.items()
    }
    return answers, entry_id


def _has_seat(session_id: int | sa.BindParameter[int]) -> sa.Exists:
    return (
        select(Attendance.id)
        .where(
            Attendance.session_id == session_id,
            Attendance.resident_id == Resident.id,
            Attendance.status == AttendanceStatus.GOING,
        )
        .exists()
    )


def _first_visit() -> sa.ColumnElement[bool]:
    return ~select(CheckIn.id).where(CheckIn.resident_id == Resident.id).exists()


def _holders_statement() -> sa.Select:
    session_id = sa.bindparam("session_id")
    so_far = select(func.count()).where(CheckIn.session_id == session_id).scalar_subquery()
    return (
        select(
            so_far,
            ResidentPass.code,
            Resident.id,
            Resident.telegram_id,
            Resident.category_id,
            ResidentPass.age_band,
            _has_seat(session_id),
            _first_visit(),
        )
        .join(Resident, Resident.id == ResidentPass.resident_id)
        .where(ResidentPass.code.in_(sa.bindparam("codes", expanding=True)))
    )


# Built once: at the door every code runs it, and building it cost more than running it.
HOLDERS = _holders_statement()


async def _holders(
    session: AsyncSession, codes: Iterable[str], session_id: int
) -> tuple[dict[str, _Holder], int | None]:
    """Who holds each code and whether they have a seat, and the session's check-ins so far
    (None when no code is known): one query."""
    codes = list(codes)
    if not codes:
        return {}, None
    parameters = {"session_id": session_id, "codes": codes}
    rows = (await session.execute(HOLDERS, parameters)).all()
    if not rows:
        return {}, None
    return {code: _Holder(*holder) for _so_far, code, *holder in rows}, rows[0][0]


async def check_in_codes(
    session: AsyncSession,
    offer_session: OfferSession,
    typed: Sequence[str],
    volunteer_id: int,
    now: datetime,
    method: CheckInMethod = CheckInMethod.CODE,
) -> Batch:
    """Check in every code of one message; one answer per item typed, in order.

    More than MAX_CODES_PER_MESSAGE items: nothing is recorded (CheckInError).
    """
    if not typed:
        raise CheckInError(Problem.NO_CODES, offer_session)
    if len(typed) > MAX_CODES_PER_MESSAGE:
        raise CheckInError(Problem.TOO_MANY_CODES, offer_session)
    normalised = [normalise_code(item) for item in typed]
    holders, before = await _holders(
        session, {code for code in normalised if code}, offer_session.id
    )
    by_resident, entry_id = await _record(
        session, offer_session, list(holders.values()), method, volunteer_id, now
    )
    answers: list[CodeAnswer] = []
    seen: set[str] = set()
    for item, code in zip(typed, normalised, strict=True):
        if code is None:
            answers.append(CodeAnswer(item, Answer.MALFORMED))
        elif code not in holders:
            answers.append(CodeAnswer(item, Answer.UNKNOWN, code))
        elif code in seen:  # typed twice in one message: counted once
            answers.append(CodeAnswer(item, Answer.ALREADY, code))
        else:
            seen.add(code)
            answers.append(CodeAnswer(item, by_resident[holders[code].resident_id], code))
    if before is None:
        total = await checked_in_count(session, offer_session.id)
    else:  # as counted with the codes, plus ours (others' at this moment show next time)
        total = before + sum(answer in NEW for answer in by_resident.values())
    return Batch(answers, total, entry_id)


async def check_in_resident(
    session: AsyncSession,
    offer_session: OfferSession,
    resident: Resident,
    method: CheckInMethod,
    volunteer_id: int | None,
    now: datetime,
) -> Answer:
    """A self check-in: one resident."""
    age_band, registered, first_visit = (
        await session.execute(
            select(ResidentPass.age_band, _has_seat(offer_session.id), _first_visit())
            .select_from(Resident)
            .outerjoin(ResidentPass, ResidentPass.resident_id == Resident.id)
            .where(Resident.id == resident.id)
        )
    ).one()
    holder = _Holder(
        resident.id, resident.telegram_id, resident.category_id, age_band, registered, first_visit
    )
    answers, _entry = await _record(session, offer_session, [holder], method, volunteer_id, now)
    return answers[resident.id]


async def record_headcount(
    session: AsyncSession,
    offer_session: OfferSession,
    people: int,
    volunteer_id: int,
    now: datetime,
) -> int:
    """Count `people` anonymous visitors; returns the session's headcount so far."""
    if not 1 <= people <= MAX_HEADCOUNT:
        raise CheckInError(Problem.BAD_NUMBER, offer_session)
    await _new_entry(
        session, offer_session, CheckInMethod.HEADCOUNT, volunteer_id, now, people=people
    )
    return (await counts(session, offer_session.id)).headcount


@dataclass(frozen=True)
class Undone:
    session: TodaySession
    method: CheckInMethod
    people: int  # check-ins taken back, or the headcount


async def undo_last(session: AsyncSession, volunteer_id: int, now: datetime) -> Undone | None:
    """Take back the volunteer's latest entry of the last UNDO_WINDOW; None if there is none."""
    entry = await session.scalar(
        select(AttendanceEntry)
        .where(
            AttendanceEntry.volunteer_id == volunteer_id,
            AttendanceEntry.created_at > now - UNDO_WINDOW,
        )
        .order_by(AttendanceEntry.id.desc())
        .limit(1)
        .with_for_update()
    )
    if entry is None:
        return None
    taken = (
        await session.execute(
            select(CheckIn.resident_id, CheckIn.first_visit).where(CheckIn.entry_id == entry.id)
        )
    ).all()
    residents = [resident_id for resident_id, _first in taken]
    await session.execute(delete(CheckIn).where(CheckIn.entry_id == entry.id))
    gone = await session.execute(delete(AttendanceEntry).where(AttendanceEntry.id == entry.id))
    if not gone.rowcount:  # a second /undo at the same moment took it
        return None
    for resident_id in sorted(resident_id for resident_id, first in taken if first):
        # Their first visit was taken back: the earliest one left is their first now.
        earliest = (
            select(CheckIn.id)
            .where(CheckIn.resident_id == resident_id)
            .order_by(CheckIn.checked_in_at, CheckIn.id)
            .limit(1)
            .scalar_subquery()
        )
        await session.execute(
            sa.update(CheckIn)
            .where(CheckIn.id == earliest)
            .values(first_visit=True)
            .execution_options(synchronize_session=False)
        )
    if residents:
        await skip_pending(
            session,
            "check-in undone",
            OutboxMessage.kind == FEEDBACK,
            OutboxMessage.session_id == entry.session_id,
            OutboxMessage.resident_id.in_(residents),
        )
    facts = await session_facts(session, entry.session_id)
    assert facts is not None  # the entry's foreign key keeps the session
    people = entry.people if entry.method == CheckInMethod.HEADCOUNT else len(residents)
    return Undone(facts, entry.method, people)


# -- self check-in


@dataclass(frozen=True)
class SelfCheckIn:
    token: str  # shown once, in the QR; only its hash is stored
    expires_at: datetime

    @property
    def payload(self) -> str:
        return SELF_PREFIX + self.token


async def open_self_check_in(
    session: AsyncSession, offer_session: OfferSession, created_by: int, now: datetime
) -> SelfCheckIn:
    if offer_session.ends_at <= now:
        raise CheckInError(Problem.OVER, offer_session)
    token = secrets.token_urlsafe(SELF_TOKEN_BYTES)
    expires_at = min(now + SELF_CHECK_IN_TTL, offer_session.ends_at)
    session.add(
        CheckInToken(
            session_id=offer_session.id,
            token_hash=hash_token(token),
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return SelfCheckIn(token, expires_at)


async def self_check_in(
    session: AsyncSession, token: str, resident: Resident, now: datetime
) -> tuple[Answer, OfferSession]:
    """A resident scanned a session's QR; CheckInError if the token is unknown or expired."""
    found = await session.scalar(
        select(CheckInToken).where(CheckInToken.token_hash == hash_token(token))
    )
    if found is None:
        raise CheckInError(Problem.TOKEN_UNKNOWN)
    offer_session = await session.get(OfferSession, found.session_id)
    assert offer_session is not None  # the token's foreign key keeps the session
    if offer_session.status == SessionStatus.CANCELLED:
        raise CheckInError(Problem.CANCELLED, offer_session)
    if found.expires_at <= now or offer_session.ends_at <= now:
        raise CheckInError(Problem.TOKEN_EXPIRED, offer_session)
    answer = await check_in_resident(
        session, offer_session, resident, CheckInMethod.SELF, None, now
    )
    return answer, offer_session


# -- feedback


async def _plan_feedback(
    session: AsyncSession, offer_session: OfferSession, holders: Sequence[_Holder], now: datetime
) -> None:
    """One prompt per attended session, due when it ends (the renderer minds quiet hours)."""
    due = max(now, offer_session.ends_at)
    await enqueue_many(
        session,
        [
            NewMessage(
                kind=FEEDBACK,
                chat_id=holder.telegram_id,
                dedupe_key=f"{FEEDBACK}:{offer_session.id}:{holder.resident_id}",
                due_at=due,
                resident_id=holder.resident_id,
                session_id=offer_session.id,
                anchor_at=offer_session.ends_at,
            )
            for holder in holders
        ],
        # Checked in again after an /undo: the skipped prompt is due again; a sent one stays.
        Conflict.REFRESH,
    )


async def attended(session: AsyncSession, resident_id: int, session_id: int) -> bool:
    found = await session.scalar(
        select(CheckIn.id).where(
            CheckIn.session_id == session_id, CheckIn.resident_id == resident_id
        )
    )
    return found is not None


async def rate_session(
    session: AsyncSession, resident: Resident, session_id: int, score: int, now: datetime
) -> bool:
    """Keep the resident's 1–5 for a session they attended; False if they did not attend."""
    if not 1 <= score <= 5 or not await attended(session, resident.id, session_id):
        return False
    table = SessionFeedback.__table__
    statement = _insert(session)(table).values(
        session_id=session_id, resident_id=resident.id, score=score, created_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["session_id", "resident_id"], set_={"score": statement.excluded.score}
    )
    await session.execute(statement)
    return True


async def comment_on_session(
    session: AsyncSession, resident: Resident, session_id: int, comment: str
) -> bool:
    found = await session.scalar(
        select(SessionFeedback).where(
            SessionFeedback.session_id == session_id, SessionFeedback.resident_id == resident.id
        )
    )
    if found is None:
        return False
    found.comment = comment.strip()[:FEEDBACK_COMMENT_LIMIT] or None
    session.add(found)
    await session.flush()
    return True


# -- learning tracks


@dataclass(frozen=True)
class TrackStepState:
    offer: Offer
    done: bool
    next_session: OfferSession | None


@dataclass(frozen=True)
class TrackProgress:
    track: Track
    steps: list[TrackStepState] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def next_step(self) -> TrackStepState | None:
        """The first step not done that has a session ahead, else the first step not done."""
        open_steps = [step for step in self.steps if not step.done]
        ahead = [step for step in open_steps if step.next_session is not None]
        return (ahead or open_steps or [None])[0]


async def track_progress(
    session: AsyncSession, resident: Resident, now: datetime
) -> TrackProgress | None:
    """The resident's track, step by step: a step is done once they attended any session
    of its offer. None when they have not chosen a track."""
    if resident.track_id is None:
        return None
    track = await session.get(Track, resident.track_id)
    if track is None:
        return None
    offers = list(
        await session.scalars(
            select(Offer)
            .join(TrackStep, TrackStep.offer_id == Offer.id)
            .where(TrackStep.track_id == track.id)
            .order_by(TrackStep.position, Offer.id)
        )
    )
    offer_ids = [offer.id for offer in offers]
    done = set(
        await session.scalars(
            select(OfferSession.offer_id)
            .join(CheckIn, CheckIn.session_id == OfferSession.id)
            .where(CheckIn.resident_id == resident.id, OfferSession.offer_id.in_(offer_ids))
            .distinct()
        )
    )
    upcoming: dict[int, OfferSession] = {}
    for offer_session in await session.scalars(
        select(OfferSession)
        .where(
            OfferSession.offer_id.in_(offer_ids),
            OfferSession.starts_at > now,
            OfferSession.status != SessionStatus.CANCELLED,
        )
        .order_by(OfferSession.starts_at)
    ):
        upcoming.setdefault(offer_session.offer_id, offer_session)
    steps = [TrackStepState(offer, offer.id in done, upcoming.get(offer.id)) for offer in offers]
    return TrackProgress(track, steps)
