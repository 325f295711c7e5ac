"""Scans made on a volunteer's device (the Mini App's door), counted once however often sent.

The Mini App keeps scans made offline on the phone and sends them when the network returns;
an answer lost on the way makes it send the batch again. Each scan carries an id the device
made, and `door_scan` remembers every id with its answer: the first time an id arrives its
code is checked in through `check_in_codes` (the same rules as /checkin, one entry per scan, so
undo takes back one scan); every later time the first answer is given back and nothing is
counted. Two copies of a batch arriving at once meet at the table's unique key: the second
waits for the first's transaction and then finds its answer.

Only the answer is kept, never the code, so /forget_me leaves nothing here that names anyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Column
from sqlmodel import Field
from sqlmodel import SQLModel

from catalogue.checkin.answers import Answer
from catalogue.checkin.door import check_in_codes
from catalogue.checkin.door import record_headcount
from catalogue.checkin.tables import CheckInMethod
from catalogue.checkin.today import counts
from catalogue.database import dialect_insert
from catalogue.models import OfferSession
from catalogue.models import _foreign_key
from catalogue.models import _string_column
from catalogue.models import _utc_column
from catalogue.models import utc_now

DEVICE_ID_LENGTH = 64
HEADCOUNT = "headcount"  # the answer kept for a headcount sent with a device id
PENDING = "pending"  # inside the transaction that is checking the scan in; never committed


class DoorScan(SQLModel, table=True):
    """One scan (or headcount) a volunteer's device sent, by the id the device gave it."""

    __tablename__ = "door_scan"
    __table_args__ = (sa.UniqueConstraint("volunteer_id", "device_id"),)

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(sa_column=Column(sa.BigInteger, nullable=False))
    device_id: str = Field(sa_column=_string_column(DEVICE_ID_LENGTH))
    session_id: int = Field(
        sa_column=_foreign_key("offer_session.id", ondelete="CASCADE", index=True)
    )
    answer: str = Field(sa_column=_string_column(20))
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())


@dataclass(frozen=True)
class ScanAnswer:
    device_id: str
    answer: Answer
    code: str | None  # normalised; None when malformed, or for a repeat
    repeat: bool  # the id was seen before: its first answer, nothing counted again
    # The resident this scan checked in, id → chat (empty unless newly checked in).
    newcomers: dict[int, int] = field(default_factory=dict)


async def _claim(
    session: AsyncSession, volunteer_id: int, device_id: str, session_id: int, now: datetime
) -> bool:
    """Note the id as ours to check in; False when it was noted before (a repeat)."""
    table = DoorScan.__table__
    statement = (
        dialect_insert(session)(table)
        .values(
            volunteer_id=volunteer_id,
            device_id=device_id,
            session_id=session_id,
            answer=PENDING,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["volunteer_id", "device_id"])
        .returning(table.c.id)
    )
    return (await session.execute(statement)).scalar() is not None


async def _settle(session: AsyncSession, volunteer_id: int, device_id: str, answer: str) -> None:
    await session.execute(
        update(DoorScan)
        .where(DoorScan.volunteer_id == volunteer_id, DoorScan.device_id == device_id)
        .values(answer=answer)
        .execution_options(synchronize_session=False)
    )


async def _first_answer(session: AsyncSession, volunteer_id: int, device_id: str) -> str:
    return await session.scalar(
        select(DoorScan.answer).where(
            DoorScan.volunteer_id == volunteer_id, DoorScan.device_id == device_id
        )
    )


async def check_in_scans(
    session: AsyncSession,
    offer_session: OfferSession,
    scans: Sequence[tuple[str, str]],
    volunteer_id: int,
    now: datetime,
) -> list[ScanAnswer]:
    """Check in a batch of (device id, scanned text), in order; ids seen before count nothing."""
    answers = []
    for device_id, text in scans:
        if not await _claim(session, volunteer_id, device_id, offer_session.id, now):
            first = await _first_answer(session, volunteer_id, device_id)
            answer = Answer.ALREADY if first in (HEADCOUNT, PENDING) else Answer(first)
            answers.append(ScanAnswer(device_id, answer, None, True))
            continue
        batch = await check_in_codes(
            session, offer_session, [text], volunteer_id, now, method=CheckInMethod.SCAN
        )
        (one,) = batch.answers
        await _settle(session, volunteer_id, device_id, one.answer)
        answers.append(ScanAnswer(device_id, one.answer, one.code, False, batch.newcomers))
    return answers


async def headcount_once(
    session: AsyncSession,
    offer_session: OfferSession,
    device_id: str,
    people: int,
    volunteer_id: int,
    now: datetime,
) -> tuple[int, bool]:
    """Count `people` once per device id; the session's headcount and whether it was a repeat."""
    if not await _claim(session, volunteer_id, device_id, offer_session.id, now):
        return (await counts(session, offer_session.id)).headcount, True
    total = await record_headcount(session, offer_session, people, volunteer_id, now)
    await _settle(session, volunteer_id, device_id, HEADCOUNT)
    return total, False
