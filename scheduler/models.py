"""Tables of the time-driven side: the outbox of outgoing messages, subscriptions and seats.

The truth about every reminder, digest, notice and broadcast is an `OutboxMessage` row: whom
it is for, when it is due, and whether it was sent. APScheduler only decides when to look.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from catalogue.models import (
    _enum_column,
    _foreign_key,
    _string_column,
    _utc_column,
    utc_now,
)


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
    # The organisers' broadcast this message is part of (scheduler/broadcasts.py).
    broadcast_id: int | None = Field(default=None, sa_column=Column(sa.Integer, nullable=True))


class SubscriptionKind(StrEnum):
    OFFER = "offer"  # every session of the offer, including ones added later
    TRACK = "track"  # new offers in the track
    FESTIVAL = "festival"  # new offers in the festival


class Subscription(SQLModel, table=True):
    """A resident follows an offer, a track or a festival."""

    __table_args__ = (sa.UniqueConstraint("resident_id", "kind", "target_id"),)

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(sa_column=_foreign_key("resident.id", ondelete="CASCADE"))
    kind: SubscriptionKind = Field(sa_column=_enum_column(SubscriptionKind))
    target_id: int = Field(index=True)
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())


class AttendanceStatus(StrEnum):
    GOING = "going"  # has a seat (or the session has no capacity): gets reminders
    WAITLISTED = "waitlisted"  # the session was full: promoted in order when a seat frees up
    DECLINED = "declined"  # pressed "Can't come" or unsubscribed: keeps no seat


class Attendance(SQLModel, table=True):
    """A resident's subscription to one session: a seat, a place in the queue, or a "no"."""

    __table_args__ = (sa.UniqueConstraint("resident_id", "session_id"),)

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(sa_column=_foreign_key("resident.id", ondelete="CASCADE"))
    session_id: int = Field(
        sa_column=_foreign_key("offer_session.id", ondelete="CASCADE", index=True)
    )
    status: AttendanceStatus = Field(sa_column=_enum_column(AttendanceStatus, index=True))
    # Came from following the whole offer (unfollowing it removes these, not single picks).
    via_offer: bool = False
    confirmed_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # Waitlist order: first come, first promoted.
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())
    updated_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())
