"""The door: volunteers check residents in by code or scan, count drop-in visitors, and undo.

* A check-in is one row per (session, resident), and the table's unique constraint is what
  counts a resident once however many volunteers type the code at once. Every row is inserted
  with `ON CONFLICT DO NOTHING … RETURNING`, and each code's answer comes from that outcome,
  never from a read made before it.
* Every volunteer action (one message of codes, one scan, one headcount) and every self
  check-in is an entry; `/undo` deletes the volunteer's latest entry and, through it, its
  check-ins.
* A headcount of a drop-in event is an anonymous number on an entry: no resident involved.
* A new check-in queues the resident's feedback prompt; an undone one withdraws it.

All functions take the database session first and work in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.answers import NEW
from catalogue.checkin.answers import Answer
from catalogue.checkin.answers import CheckInError
from catalogue.checkin.answers import Holder
from catalogue.checkin.answers import Problem
from catalogue.checkin.feedback import plan_feedback
from catalogue.checkin.feedback import withdraw_feedback
from catalogue.checkin.passes import normalise_code
from catalogue.checkin.tables import AttendanceEntry
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import CheckInMethod
from catalogue.checkin.tables import ResidentPass
from catalogue.checkin.today import TodaySession
from catalogue.checkin.today import checked_in_count
from catalogue.checkin.today import counts
from catalogue.checkin.today import session_facts
from catalogue.database import dialect_insert
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus

MAX_CODES_PER_MESSAGE = 50
MAX_HEADCOUNT = 10_000
UNDO_WINDOW = timedelta(hours=24)


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
    # The residents this message checked in (not those in already): resident id → their chat.
    newcomers: dict[int, int] = field(default_factory=dict)

    @property
    def new(self) -> int:
        return sum(answer.answer in NEW for answer in self.answers)


@dataclass(frozen=True)
class Undone:
    session: TodaySession
    method: CheckInMethod
    people: int  # check-ins taken back, or the headcount


# -- who holds the codes


def _has_seat(session_id: int | sa.BindParameter[int]) -> sa.Exists:
    return (
        select(Seat.id)
        .where(
            Seat.session_id == session_id,
            Seat.resident_id == Resident.id,
            Seat.status == SeatStatus.GOING,
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
) -> tuple[dict[str, Holder], int | None]:
    """Who holds each code and whether they have a seat, and the session's check-ins so far
    (None when no code is known): one query."""
    codes = list(codes)
    if not codes:
        return {}, None
    parameters = {"session_id": session_id, "codes": codes}
    rows = (await session.execute(HOLDERS, parameters)).all()
    if not rows:
        return {}, None
    return {code: Holder(*holder) for _so_far, code, *holder in rows}, rows[0][0]


async def _holder_of_resident(
    session: AsyncSession, offer_session: OfferSession, resident: Resident
) -> Holder:
    age_band, registered, first_visit = (
        await session.execute(
            select(ResidentPass.age_band, _has_seat(offer_session.id), _first_visit())
            .select_from(Resident)
            .outerjoin(ResidentPass, ResidentPass.resident_id == Resident.id)
            .where(Resident.id == resident.id)
        )
    ).one()
    return Holder(
        resident.id, resident.telegram_id, resident.category_id, age_band, registered, first_visit
    )


# -- recording


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


async def _insert_check_ins(
    session: AsyncSession, session_id: int, by_id: dict[int, Holder], entry_id: int, now: datetime
) -> set[int]:
    """One row per holder under the entry; the residents whose row went in."""
    # Sorted by resident: two volunteers' overlapping batches lock rows in the same order.
    rows = [
        {
            "session_id": session_id,
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
        dialect_insert(session)(table)
        .on_conflict_do_nothing(index_elements=["session_id", "resident_id"])
        .returning(table.c.resident_id)
    )
    # Parameters apart from the statement: one cached statement, whatever the batch size.
    return set((await session.execute(statement, rows)).scalars())


def _answer(holder: Holder, inserted: bool) -> Answer:
    if not inserted:
        return Answer.ALREADY
    return Answer.CHECKED_IN if holder.registered else Answer.WALK_IN


async def _record(
    session: AsyncSession,
    offer_session: OfferSession,
    holders: Sequence[Holder],
    method: CheckInMethod,
    volunteer_id: int | None,
    now: datetime,
) -> tuple[dict[int, Answer], int | None]:
    """Check the holders in under one new entry (None when nobody new came, and the entry is
    gone again); each holder's answer comes from whether their row went in."""
    if not holders:
        return {}, None
    by_id = {holder.resident_id: holder for holder in holders}
    entry_id = await _new_entry(session, offer_session, method, volunteer_id, now)
    inserted = await _insert_check_ins(session, offer_session.id, by_id, entry_id, now)
    if inserted:
        await plan_feedback(session, offer_session, [by_id[i] for i in sorted(inserted)], now)
    else:
        await session.execute(delete(AttendanceEntry).where(AttendanceEntry.id == entry_id))
    answers = {
        resident_id: _answer(holder, resident_id in inserted)
        for resident_id, holder in by_id.items()
    }
    return answers, entry_id if inserted else None


# -- checking in


def _answers_as_typed(
    typed: Sequence[str],
    normalised: Sequence[str | None],
    holders: dict[str, Holder],
    by_resident: dict[int, Answer],
) -> list[CodeAnswer]:
    """One answer per item typed, in order; a code typed twice in one message counts once."""
    answers: list[CodeAnswer] = []
    seen: set[str] = set()
    for item, code in zip(typed, normalised, strict=True):
        if code is None:
            answers.append(CodeAnswer(item, Answer.MALFORMED))
        elif code not in holders:
            answers.append(CodeAnswer(item, Answer.UNKNOWN, code))
        elif code in seen:
            answers.append(CodeAnswer(item, Answer.ALREADY, code))
        else:
            seen.add(code)
            answers.append(CodeAnswer(item, by_resident[holders[code].resident_id], code))
    return answers


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
    answers = _answers_as_typed(typed, normalised, holders, by_resident)
    newcomers = {
        holder.resident_id: holder.telegram_id
        for holder in holders.values()
        if by_resident[holder.resident_id] in NEW
    }
    if before is None:
        total = await checked_in_count(session, offer_session.id)
    else:  # as counted with the codes, plus ours (others' at this moment show next time)
        total = before + len(newcomers)
    return Batch(answers, total, entry_id, newcomers)


async def check_in_resident(
    session: AsyncSession,
    offer_session: OfferSession,
    resident: Resident,
    method: CheckInMethod,
    volunteer_id: int | None,
    now: datetime,
) -> Answer:
    """Check in one resident known already (a self check-in), not by a code typed."""
    holder = await _holder_of_resident(session, offer_session, resident)
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


# -- undo


async def _latest_entry(
    session: AsyncSession, volunteer_id: int, now: datetime
) -> AttendanceEntry | None:
    """The volunteer's latest entry of the last UNDO_WINDOW, locked for the undo."""
    return await session.scalar(
        select(AttendanceEntry)
        .where(
            AttendanceEntry.volunteer_id == volunteer_id,
            AttendanceEntry.created_at > now - UNDO_WINDOW,
        )
        .order_by(AttendanceEntry.id.desc())
        .limit(1)
        .with_for_update()
    )


async def _delete_entry(
    session: AsyncSession, entry: AttendanceEntry
) -> list[tuple[int, bool]] | None:
    """Delete the entry and its check-ins: the (resident, first visit) of each check-in taken
    back, or None when a second /undo at the same moment took the entry first."""
    taken = (
        await session.execute(
            select(CheckIn.resident_id, CheckIn.first_visit).where(CheckIn.entry_id == entry.id)
        )
    ).all()
    await session.execute(delete(CheckIn).where(CheckIn.entry_id == entry.id))
    gone = await session.execute(delete(AttendanceEntry).where(AttendanceEntry.id == entry.id))
    if not gone.rowcount:
        return None
    return [(resident_id, first) for resident_id, first in taken]


async def _restore_first_visits(session: AsyncSession, resident_ids: Iterable[int]) -> None:
    """Their first visit was taken back: the earliest check-in left is their first now."""
    for resident_id in sorted(resident_ids):
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


async def undo_last(session: AsyncSession, volunteer_id: int, now: datetime) -> Undone | None:
    """Take back the volunteer's latest entry of the last UNDO_WINDOW; None if there is none."""
    entry = await _latest_entry(session, volunteer_id, now)
    if entry is None:
        return None
    taken = await _delete_entry(session, entry)
    if taken is None:
        return None
    await _restore_first_visits(session, [resident_id for resident_id, first in taken if first])
    residents = [resident_id for resident_id, _first in taken]
    await withdraw_feedback(session, entry.session_id, residents)
    facts = await session_facts(session, entry.session_id)
    assert facts is not None  # the entry's foreign key keeps the session
    people = entry.people if entry.method == CheckInMethod.HEADCOUNT else len(residents)
    return Undone(facts, entry.method, people)
