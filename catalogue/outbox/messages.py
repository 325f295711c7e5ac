"""The outbox table and the writes that fill it, inside the caller's transaction.

The truth about every reminder, digest, notice and broadcast is an `OutboxMessage` row: whom
it is for, when it is due, and whether it was sent. `enqueue_many` adds rows (a unique
`dedupe_key` makes queueing the same message twice impossible) and `skip_pending` withdraws
them; the outbox worker (scheduler/outbox.py) claims, sends and records them. APScheduler only
decides when to look.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import or_
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import JSON
from sqlmodel import Column
from sqlmodel import Field
from sqlmodel import SQLModel

from catalogue.models import _enum_column
from catalogue.models import _foreign_key
from catalogue.models import _string_column
from catalogue.models import _utc_column
from catalogue.models import utc_now


class OutboxState(StrEnum):
    PENDING = "pending"  # waiting for its due time
    CLAIMED = "claimed"  # a process is sending it, until `claimed_until`
    SENT = "sent"  # Telegram accepted it
    FAILED = "failed"  # will not be sent: blocked bot, bad request, attempts used up
    SKIPPED = "skipped"  # no longer wanted: unsubscribed, session begun or cancelled, …


class OutboxMessage(SQLModel, table=True):
    """One message to one chat, due at a time; at most one row per `dedupe_key`."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        sa.Index("ix_outbox_message_state_due_at", "state", "due_at"),
        sa.Index("ix_outbox_message_broadcast_id_state", "broadcast_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Which renderer turns the row into a message at send time ("reminder", "text", …).
    kind: str = Field(sa_column=_string_column(32))
    chat_id: int = Field(sa_column=Column(sa.BigInteger, nullable=False))
    resident_id: int | None = Field(
        default=None,
        sa_column=_foreign_key("resident.id", ondelete="CASCADE", nullable=True, index=True),
    )
    # The session a reminder or notice is about: deleted sessions take their messages along.
    session_id: int | None = Field(
        default=None,
        sa_column=_foreign_key("offer_session.id", ondelete="CASCADE", nullable=True, index=True),
    )
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False, default=dict))
    due_at: datetime = Field(sa_column=_utc_column())
    # What `due_at` was computed from (a session's start): when it moves, so does the message.
    anchor_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    state: OutboxState = Field(default=OutboxState.PENDING, sa_column=_enum_column(OutboxState))
    attempts: int = 0
    claimed_by: str | None = Field(default=None, sa_column=_string_column(64, nullable=True))
    claimed_until: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    last_error: str | None = Field(default=None, sa_column=_string_column(300, nullable=True))
    dedupe_key: str = Field(sa_column=_string_column(160, unique=True))
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())
    # The organisers' broadcast this message is part of (catalogue/outbox/broadcasts.py).
    broadcast_id: int | None = Field(default=None, sa_column=Column(sa.Integer, nullable=True))


INSERT_CHUNK = 500  # rows per INSERT statement (PostgreSQL allows 32767 parameters)


class Conflict(StrEnum):
    """What `enqueue_many` does when a row with the same dedupe key is already there."""

    KEEP = "keep"  # leave it: the message is queued or went out already
    REFRESH = "refresh"  # a pending or skipped one takes the new due time and payload
    # …and a sent or failed one is queued again if its anchor moved (a reminder for a
    # session's new time is a new reminder); used for reminders.
    MOVE = "move"


@dataclass(frozen=True)
class NewMessage:
    kind: str
    chat_id: int
    dedupe_key: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    resident_id: int | None = None
    session_id: int | None = None
    anchor_at: datetime | None = None


async def enqueue_many(
    session: AsyncSession, messages: Iterable[NewMessage], conflict: Conflict = Conflict.KEEP
) -> None:
    """Queue messages in the caller's transaction; the dedupe key decides about duplicates."""
    rows = [
        {
            "kind": message.kind,
            "chat_id": message.chat_id,
            "dedupe_key": message.dedupe_key,
            "due_at": message.due_at,
            "payload": message.payload,
            "resident_id": message.resident_id,
            "session_id": message.session_id,
            "anchor_at": message.anchor_at,
            "state": OutboxState.PENDING,
            "attempts": 0,
            "created_at": utc_now(),
        }
        for message in messages
    ]
    if not rows:
        return
    statement = _enqueue_statement(
        session.bind.dialect.name if session.bind is not None else "postgresql", conflict
    )
    for start in range(0, len(rows), INSERT_CHUNK):
        # Rows apart from the statement: compiled once, sent as one multi-row INSERT.
        await session.execute(statement, rows[start : start + INSERT_CHUNK])


@functools.cache
def _enqueue_statement(dialect: str, conflict: Conflict) -> Any:
    table = OutboxMessage.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    if conflict is Conflict.KEEP:
        return statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
    new = statement.excluded

    def state_is(*states: OutboxState) -> Any:  # not IN (…): executemany cannot expand lists
        return or_(*(table.c.state == state for state in states))

    requeue = state_is(OutboxState.PENDING, OutboxState.SKIPPED)
    if conflict is Conflict.MOVE:
        moved = table.c.anchor_at.is_distinct_from(new.anchor_at) & state_is(
            OutboxState.SENT, OutboxState.FAILED, OutboxState.CLAIMED
        )
        requeue = requeue | moved
    return statement.on_conflict_do_update(
        index_elements=["dedupe_key"],
        set_={
            "due_at": new.due_at,
            "anchor_at": new.anchor_at,
            "payload": new.payload,
            "state": OutboxState.PENDING,
            "attempts": 0,
            "claimed_by": None,
            "claimed_until": None,
            "last_error": None,
        },
        where=requeue,
    )


async def skip_pending(session: AsyncSession, reason: str, *conditions: Any) -> int:
    """Mark pending rows matching `conditions` skipped (unsubscribed, reminders off, …)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.PENDING, *conditions)
        .values(state=OutboxState.SKIPPED, last_error=reason[:300])
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# 400 descriptions that mean "this chat cannot get messages from us".
UNREACHABLE = ("chat not found", "user is deactivated", "bot was blocked", "peer_id_invalid")
