"""What a resident tells about themselves, if they like: asked once, changed at will.

The questions (age band, gender, home district, groups) are put to a resident once, at their
first /pass or check-in (`mark_asked` records it, so they are never pushed again), and are
always at hand under the menu's "About me". Nothing is kept before the resident agrees
(`consent`); withdrawing the agreement (`withdraw_consent`) erases every answer, the age band
on their pass and on their past check-ins included, and keeps the attendance itself, which then
counts as "not stated". /forget_me deletes the rows with the resident (catalogue/privacy.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.tables import AgeBand
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import ResidentPass
from catalogue.database import dialect_insert
from catalogue.learners.tables import Gender
from catalogue.learners.tables import LearnerFacts
from catalogue.learners.tables import LearnerGroup
from catalogue.models import Resident


@dataclass(frozen=True)
class Answers:
    """A resident's answers as they stand; `consented` False means none are kept."""

    asked: bool
    consented: bool
    age_band: AgeBand | None = None
    gender: Gender | None = None
    home_district: str | None = None
    groups: frozenset[str] = frozenset()


async def answers_of(session: AsyncSession, resident: Resident) -> Answers:
    facts = await session.get(LearnerFacts, resident.id, populate_existing=True)
    age_band = await session.scalar(
        select(ResidentPass.age_band).where(ResidentPass.resident_id == resident.id)
    )
    if facts is None:
        return Answers(asked=False, consented=False, age_band=age_band)
    if facts.consented_at is None:
        return Answers(asked=True, consented=False, age_band=age_band)
    groups = await session.scalars(
        select(LearnerGroup.group_key).where(LearnerGroup.resident_id == resident.id)
    )
    return Answers(
        asked=True,
        consented=True,
        age_band=age_band,
        gender=facts.gender,
        home_district=facts.home_district,
        groups=frozenset(groups),
    )


async def mark_asked(session: AsyncSession, resident: Resident, now: datetime) -> bool:
    """Record that the questions were put to the resident; True only the first time."""
    result = await session.execute(
        dialect_insert(session)(LearnerFacts.__table__)
        .values(resident_id=resident.id, asked_at=now, updated_at=now)
        .on_conflict_do_nothing()
    )
    return bool(result.rowcount)


async def mark_asked_many(
    session: AsyncSession, resident_ids: Sequence[int], now: datetime
) -> list[int]:
    """Record the asking for those never asked; returns who they were (one statement: a row
    goes in only for a resident who has none)."""
    if not resident_ids:
        return []
    statement = (
        dialect_insert(session)(LearnerFacts.__table__)
        .on_conflict_do_nothing()
        .returning(LearnerFacts.__table__.c.resident_id)
    )
    rows = [{"resident_id": i, "asked_at": now, "updated_at": now} for i in resident_ids]
    return sorted((await session.execute(statement, rows)).scalars())


async def _facts(session: AsyncSession, resident: Resident, now: datetime) -> LearnerFacts:
    await mark_asked(session, resident, now)
    facts = await session.get(LearnerFacts, resident.id, populate_existing=True)
    assert facts is not None
    return facts


async def consent(session: AsyncSession, resident: Resident, now: datetime) -> None:
    """The resident agreed to answer: their answers may be kept from now on."""
    facts = await _facts(session, resident, now)
    if facts.consented_at is None:
        facts.consented_at = facts.updated_at = now
        session.add(facts)
        await session.flush()


async def _consented(session: AsyncSession, resident: Resident, now: datetime) -> LearnerFacts:
    """The row to write an answer to: answering a question is agreeing to keep the answer."""
    await consent(session, resident, now)
    return await _facts(session, resident, now)


async def set_gender(
    session: AsyncSession, resident: Resident, gender: Gender | None, now: datetime
) -> None:
    await _answer(session, resident, now, gender=gender)


async def set_home_district(
    session: AsyncSession, resident: Resident, district: str | None, now: datetime
) -> None:
    await _answer(session, resident, now, home_district=district)


async def _answer(
    session: AsyncSession, resident: Resident, now: datetime, **values: object
) -> None:
    facts = await _consented(session, resident, now)
    for name, value in values.items():
        setattr(facts, name, value)
    facts.updated_at = now
    session.add(facts)
    await session.flush()


async def toggle_group(
    session: AsyncSession, resident: Resident, group_key: str, now: datetime
) -> bool:
    """Add the group to the resident's, or take it away; True when it is theirs now."""
    facts = await _consented(session, resident, now)
    facts.updated_at = now
    session.add(facts)
    mine = (LearnerGroup.resident_id == resident.id, LearnerGroup.group_key == group_key)
    removed = await session.execute(delete(LearnerGroup).where(*mine))
    if removed.rowcount:
        await session.flush()
        return False
    session.add(LearnerGroup(resident_id=resident.id, group_key=group_key))
    await session.flush()
    return True


async def clear_groups(session: AsyncSession, resident: Resident, now: datetime) -> None:
    """ "None of these": no group kept (and the answer given, so consent stands)."""
    facts = await _consented(session, resident, now)
    facts.updated_at = now
    session.add(facts)
    await session.execute(delete(LearnerGroup).where(LearnerGroup.resident_id == resident.id))
    await session.flush()


async def withdraw_consent(session: AsyncSession, resident: Resident, now: datetime) -> None:
    """Erase every answer; the attendance stays, with no age band on it any more."""
    await session.execute(delete(LearnerGroup).where(LearnerGroup.resident_id == resident.id))
    await session.execute(
        update(LearnerFacts)
        .where(LearnerFacts.resident_id == resident.id)
        .values(consented_at=None, gender=None, home_district=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(ResidentPass)
        .where(ResidentPass.resident_id == resident.id)
        .values(age_band=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(CheckIn)
        .where(CheckIn.resident_id == resident.id, CheckIn.age_band.is_not(None))
        .values(age_band=None)
        .execution_options(synchronize_session=False)
    )
    await session.flush()


async def consented_among(session: AsyncSession, resident_ids: Sequence[int]) -> set[int]:
    """Which of these residents agreed to answer."""
    if not resident_ids:
        return set()
    found = await session.scalars(
        select(LearnerFacts.resident_id).where(
            LearnerFacts.resident_id.in_(resident_ids), LearnerFacts.consented_at.is_not(None)
        )
    )
    return set(found)
