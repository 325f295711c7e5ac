"""Tables of the learning record: consented facts, completion, certificates, the survey.

* `learner_facts`: one row per resident who was asked the optional questions: when they were
  asked (asked once), whether they agreed (`consented_at`), their gender and home district.
  Their age band stays where it always was, on the pass (`resident_pass.age_band`).
* `learner_group`: the self-declared groups (`group_key`: a key of the city's list), one row
  per (resident, group).
* `completion_rule`: what completes a track or a festival, set by organisers: the steps
  (offers) that must be attended and how many steps in all.
* `completion`: a resident met a track's or festival's rule, and when. `resident_id` becomes
  NULL when the resident is forgotten, so the count of completed tracks does not change.
* `certificate`: the document of one completion, with the name the resident chose to print
  and a random unguessable `code` (the QR's `/start verify_<code>`); `revoked_at` once an
  administrator revokes it.
* `survey_answer`: what a resident wants to learn: topic keys and free text.

Everything that names a resident points at `resident` and is found by /export_me and
/forget_me (catalogue/privacy.py).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON
from sqlmodel import Column
from sqlmodel import Field
from sqlmodel import SQLModel

from catalogue.models import _foreign_key
from catalogue.models import _string_column
from catalogue.models import _utc_column
from catalogue.models import utc_now

DISTRICT_LENGTH = 120
GROUP_LENGTH = 60
PRINTED_NAME_LIMIT = 80
SURVEY_TEXT_LIMIT = 300
CERTIFICATE_CODE_LENGTH = 22  # secrets.token_urlsafe(16): 128 random bits


class Gender(StrEnum):
    WOMAN = "woman"
    MAN = "man"
    OTHER = "other"
    UNDISCLOSED = "undisclosed"  # "prefer not to say", said on purpose


class CompletionKind(StrEnum):
    TRACK = "track"
    FESTIVAL = "festival"


def _optional_gender_column() -> Column:
    values = sa.Enum(
        Gender, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
    )
    return Column(values, nullable=True)


def _subject_field(target: str, **options: bool) -> Any:
    """What a completion rule or a completion is about: a track or a festival (`target`, the
    other one NULL), gone with it."""
    return Field(
        default=None,
        sa_column=_foreign_key(target, ondelete="CASCADE", nullable=True, **options),
    )


class LearnerFacts(SQLModel, table=True):
    __tablename__ = "learner_facts"

    resident_id: int = Field(
        sa_column=_foreign_key("resident.id", ondelete="CASCADE", primary_key=True)
    )
    # When the questions were first put to the resident: they are offered once, on their own.
    asked_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())
    # When the resident agreed to answer; None: not (or no longer) agreed, and no answers kept.
    consented_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    gender: Gender | None = Field(default=None, sa_column=_optional_gender_column())
    home_district: str | None = Field(
        default=None, sa_column=_string_column(DISTRICT_LENGTH, nullable=True)
    )
    updated_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())


class LearnerGroup(SQLModel, table=True):
    __tablename__ = "learner_group"

    resident_id: int = Field(
        sa_column=_foreign_key("resident.id", ondelete="CASCADE", primary_key=True)
    )
    group_key: str = Field(sa_column=_string_column(GROUP_LENGTH, primary_key=True, index=True))


class CompletionRule(SQLModel, table=True):
    """What completes a track or a festival; without a row the default rule applies."""

    __tablename__ = "completion_rule"
    __table_args__ = (sa.CheckConstraint("min_steps >= 1", name="min_steps_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    track_id: int | None = _subject_field("track.id", unique=True)
    festival_id: int | None = _subject_field("festival.id", unique=True)
    # Offers (steps) that must each be attended.
    required_offer_ids: list[int] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, default=list)
    )
    # How many different steps (offers) must be attended in all, the required ones included.
    min_steps: int = 1
    # Telegram id of the organiser who set it.
    updated_by: int | None = Field(default=None, sa_column=Column(sa.BigInteger, nullable=True))
    updated_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())


class Completion(SQLModel, table=True):
    """A resident met a rule: one row per (resident, track) or (resident, festival)."""

    __tablename__ = "completion"
    __table_args__ = (
        # NULLs are distinct: anonymised rows and the other kind's rows are not constrained.
        sa.UniqueConstraint("resident_id", "track_id", name="uq_completion_resident_track"),
        sa.UniqueConstraint("resident_id", "festival_id", name="uq_completion_resident_festival"),
        sa.Index("ix_completion_completed_at", "completed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # NULL once the resident is forgotten: the completion still counts, anonymously.
    resident_id: int | None = Field(
        default=None,
        sa_column=_foreign_key("resident.id", ondelete="SET NULL", nullable=True, index=True),
    )
    track_id: int | None = _subject_field("track.id", index=True)
    festival_id: int | None = _subject_field("festival.id", index=True)
    # When the check-in that met the rule happened.
    completed_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())

    @property
    def kind(self) -> CompletionKind:
        return CompletionKind.TRACK if self.track_id is not None else CompletionKind.FESTIVAL


class Certificate(SQLModel, table=True):
    __tablename__ = "certificate"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=_string_column(CERTIFICATE_CODE_LENGTH, unique=True))
    completion_id: int = Field(
        sa_column=_foreign_key("completion.id", ondelete="CASCADE", unique=True)
    )
    resident_id: int = Field(sa_column=_foreign_key("resident.id", ondelete="CASCADE", index=True))
    printed_name: str = Field(sa_column=_string_column(PRINTED_NAME_LIMIT))
    language: str = Field(sa_column=_string_column(10))
    issued_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # Telegram id of the administrator who revoked it.
    revoked_by: int | None = Field(default=None, sa_column=Column(sa.BigInteger, nullable=True))


class SurveyAnswer(SQLModel, table=True):
    """A resident's answer to "what would you like to learn?": one row, changed at will."""

    __tablename__ = "survey_answer"

    resident_id: int = Field(
        sa_column=_foreign_key("resident.id", ondelete="CASCADE", primary_key=True)
    )
    topics: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, default=list)
    )
    wish: str | None = Field(
        default=None, sa_column=_string_column(SURVEY_TEXT_LIMIT, nullable=True)
    )
    answered_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())
