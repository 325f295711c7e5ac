"""Tables of check-in: passes, entries at the door, check-ins, self check-in tokens, feedback.

* `check_in` has one row per (session, resident): its unique constraint is what makes "the
  same resident at the same session counts once", however many volunteers type the code at
  once.
* `attendance_entry` is one volunteer action (a message of codes, a scan, a headcount) or one
  self check-in; a headcount is an anonymous number on an entry, no resident involved.
* Check-ins, passes and feedback point at `resident` (ON DELETE CASCADE), so /forget_me finds
  them: it deletes the pass and keeps check-ins and scores under an anonymous stand-in
  (catalogue/privacy.py); entries and headcounts stay as the city's anonymous records.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Column
from sqlmodel import Field
from sqlmodel import SQLModel

from catalogue.models import _enum_column
from catalogue.models import _foreign_key
from catalogue.models import _string_column
from catalogue.models import _utc_column
from catalogue.models import utc_now

CODE_BODY = 7  # random characters of a pass code; an eighth checks them
CODE_LENGTH = CODE_BODY + 1
FEEDBACK_COMMENT_LIMIT = 1000


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
    # When the comment was written: the organisers' daily digest of comments (migration 0009).
    commented_at: datetime | None = Field(
        default=None, sa_column=_utc_column(nullable=True, index=True)
    )
