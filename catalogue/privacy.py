"""What the bot keeps about one person, all of it as JSON, and forgetting it.

The person's data is found, not listed: the `resident` row, every row of every table with a
foreign key to `resident` (discovered from `SQLModel.metadata`, so a table added later by any
feature is exported and forgotten without a change here), and their team membership, which
names them by Telegram id.

Forgetting deletes all of that, except what the city's reports count, which stays anonymous:

* **Attendance** (`COUNTED`): their check-ins, their feedback scores and their seats at sessions
  that have started are moved to an anonymous stand-in, a new `resident` row with a new id, a
  random Telegram id no real chat can have (below -2**53), no settings, inactive (so nothing
  is ever sent to it). What the person told about themselves goes: the age band and the
  category on each check-in, the comments. So unique learners (distinct
  `check_in.resident_id`), attendances, first-time learners, registrations and no-shows, and
  feedback do not change; the breakdowns by age band, category, gender, district and group
  count them as "not told". The stand-in cannot be traced back: its id is new, its Telegram
  id random, and every row that named the person (pass code, answers, survey, certificates,
  subscriptions) is deleted. Entries a volunteer made at the door keep the stand-in's Telegram
  id instead of theirs, so the volunteers and their hours are counted the same.
* Messages of organisers' broadcasts already sent, failed or skipped stay as rows without
  resident, chat or content, so a broadcast's counts ("sent to 1,204 residents") hold.
* Broadcasts and invitations a team member made stay, as the city's records, and so does every
  row whose link to the resident is ON DELETE SET NULL (a completed track): the link is set
  to NULL.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.team import TeamMember
from catalogue.team import forget_member

RESIDENT_TABLE = "resident"
EXPORT_FORMAT = 1

# Telegram ids have at most 52 significant bits: a stand-in's is below all of them.
STAND_IN_CHAT_LIMIT = -(2**53)


def personal_links() -> list[tuple[sa.Table, sa.Column[Any]]]:
    """(table, column) for every foreign key to `resident.id`, children before parents."""
    import catalogue.tables  # noqa: F401  (every table module, so all tables are known)

    links = []
    for table in reversed(SQLModel.metadata.sorted_tables):
        for key in table.foreign_keys:
            if key.column.table.name == RESIDENT_TABLE and table.name != RESIDENT_TABLE:
                links.append((table, key.parent))
    return links


def _team_member_table() -> sa.Table:
    import catalogue.tables  # noqa: F401

    return SQLModel.metadata.tables["team_member"]


# -- export


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(result: sa.CursorResult[Any] | sa.Result[Any]) -> list[dict[str, Any]]:
    return [{key: _plain(value) for key, value in row.items()} for row in result.mappings()]


async def export_resident(session: AsyncSession, resident: Resident) -> dict[str, Any]:
    """Everything kept about the resident, table by table, as plain JSON values."""
    resident_table = SQLModel.metadata.tables[RESIDENT_TABLE]
    me = _rows(
        await session.execute(select(resident_table).where(resident_table.c.id == resident.id))
    )
    tables: dict[str, list[dict[str, Any]]] = {}
    for table, column in personal_links():
        rows = _rows(await session.execute(select(table).where(column == resident.id)))
        if rows:
            tables.setdefault(table.name, []).extend(rows)
    team = _team_member_table()
    membership = _rows(
        await session.execute(select(team).where(team.c.telegram_id == resident.telegram_id))
    )
    if membership:
        tables[team.name] = membership
    return {
        "format": EXPORT_FORMAT,
        "exported_at": utc_now().isoformat(),
        "resident": me[0] if me else {},
        "tables": dict(sorted(tables.items())),
    }


def export_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode()


# -- forgetting


def _kept_anonymous(column: sa.Column[Any]) -> bool:
    """A row whose link to the resident is ON DELETE SET NULL is a record the city keeps
    (e.g. a completed track, counted in reports): it loses the link, and stays."""
    return any(key.ondelete == "SET NULL" for key in column.foreign_keys)


@dataclass
class Forgotten:
    """What `forget_resident` did: rows deleted per table, and rows kept anonymous."""

    deleted: dict[str, int] = field(default_factory=dict)
    anonymised: int = 0

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def _has_started(table: sa.Table, now: datetime) -> sa.ColumnElement[bool]:
    """Seats of sessions still to come are given up, so someone else can take them."""
    from catalogue.models import OfferSession

    started = select(OfferSession.id).where(OfferSession.starts_at <= now)
    return table.c.session_id.in_(started)


@dataclass(frozen=True)
class Counted:
    """A table the reports count: its rows of a forgotten resident move to the stand-in, with
    `emptied` columns set to NULL, the rows `kept_if` selects (all when None)."""

    emptied: tuple[str, ...] = ()
    kept_if: Callable[[sa.Table, datetime], sa.ColumnElement[bool]] | None = None


COUNTED: dict[str, Counted] = {
    "check_in": Counted(emptied=("age_band", "category_id")),
    "session_feedback": Counted(emptied=("comment", "commented_at")),
    "seat": Counted(kept_if=_has_started),
}


@dataclass
class _StandIn:
    """The anonymous resident the counted rows move to, made when first needed."""

    session: AsyncSession
    row: Resident | None = None

    async def get(self) -> Resident:
        if self.row is None:
            self.row = Resident(
                telegram_id=STAND_IN_CHAT_LIMIT - secrets.randbelow(2**62),
                is_active=False,
                reminder_offsets=[],
                reminders_on=False,
                announcements_on=False,
            )
            self.session.add(self.row)
            await self.session.flush()
        return self.row


async def _keep_counted(session: AsyncSession, resident: Resident, now: datetime) -> int:
    """Move the rows `COUNTED` keeps to a stand-in (made only if there are any), and the
    entries they made at the door as a volunteer to its Telegram id: the volunteers and
    their hours stay counted. Their devices' scan records are deleted."""
    from catalogue.checkin.device_scans import DoorScan
    from catalogue.checkin.tables import AttendanceEntry

    stand_in = _StandIn(session)
    moved = 0
    for table, column in personal_links():
        counted = COUNTED.get(table.name)
        if counted is None:
            continue
        kept = column == resident.id
        if counted.kept_if is not None:
            kept = sa.and_(kept, counted.kept_if(table, now))
        if not await session.scalar(select(sa.exists().where(kept))):
            continue
        values = {column.name: (await stand_in.get()).id, **dict.fromkeys(counted.emptied)}
        result = await session.execute(update(table).where(kept).values(values))
        moved += result.rowcount or 0
    made = AttendanceEntry.volunteer_id == resident.telegram_id
    if await session.scalar(select(sa.exists().where(made))):
        result = await session.execute(
            update(AttendanceEntry)
            .where(made)
            .values(volunteer_id=(await stand_in.get()).telegram_id)
            .execution_options(synchronize_session=False)
        )
        moved += result.rowcount or 0
    await session.execute(delete(DoorScan).where(DoorScan.volunteer_id == resident.telegram_id))
    return moved


async def _anonymise_broadcast_history(session: AsyncSession, resident: Resident) -> int:
    """Broadcast messages already finished stay, nameless, so the broadcast's counts hold."""
    from catalogue.outbox.messages import OutboxMessage
    from catalogue.outbox.messages import OutboxState

    finished = [OutboxState.SENT, OutboxState.FAILED, OutboxState.SKIPPED]
    result = await session.execute(
        update(OutboxMessage)
        .where(
            (OutboxMessage.resident_id == resident.id)
            | (OutboxMessage.chat_id == resident.telegram_id),
            OutboxMessage.broadcast_id.is_not(None),
            OutboxMessage.state.in_(finished),
        )
        .values(
            resident_id=None,
            chat_id=0,
            payload={},
            last_error=None,
            # The dedupe key names the resident ("broadcast:<id>:<resident id>").
            dedupe_key=sa.literal("forgotten:", sa.String) + sa.cast(OutboxMessage.id, sa.String),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def forget_resident(
    session: AsyncSession, resident: Resident, now: datetime | None = None
) -> Forgotten:
    """Delete everything kept about the resident, keeping what reports count anonymous (see
    the module's docstring), in the caller's transaction. If they write to the bot again,
    they start afresh as a new resident."""
    from catalogue.outbox.messages import OutboxMessage

    report = Forgotten()
    report.anonymised = await _anonymise_broadcast_history(session, resident)
    report.anonymised += await _keep_counted(session, resident, now or utc_now())
    # Messages to their chat that are not tied to the resident row (e.g. a team notice).
    result = await session.execute(
        delete(OutboxMessage).where(OutboxMessage.chat_id == resident.telegram_id)
    )
    if result.rowcount:
        report.deleted[OutboxMessage.__tablename__] = result.rowcount
    for table, column in personal_links():
        if _kept_anonymous(column):
            result = await session.execute(
                update(table).where(column == resident.id).values({column.name: None})
            )
            report.anonymised += result.rowcount or 0
            continue
        result = await session.execute(delete(table).where(column == resident.id))
        if result.rowcount:
            report.deleted[table.name] = report.deleted.get(table.name, 0) + result.rowcount
    members, anonymised = await forget_member(session, resident.telegram_id)
    if members:
        report.deleted[TeamMember.__tablename__] = members
    report.anonymised += anonymised
    resident_table = SQLModel.metadata.tables[RESIDENT_TABLE]
    result = await session.execute(delete(resident_table).where(resident_table.c.id == resident.id))
    report.deleted[RESIDENT_TABLE] = result.rowcount or 0
    session.expunge(resident)
    return report
