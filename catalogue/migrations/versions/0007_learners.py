"""learners: consented facts, completion rules and completions, certificates, survey answers

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 21:30:00.000000

Tables of catalogue/learners/tables.py (docs/learning-record.md names every column).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import catalogue.models

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, catalogue.models.UTCDateTime(timezone=True), nullable=nullable)


def _resident_key(table: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["resident_id"],
        ["resident.id"],
        name=op.f(f"fk_{table}_resident_id_resident"),
        ondelete=ondelete,
    )


def _target_keys(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["festival_id"],
            ["festival.id"],
            name=op.f(f"fk_{table}_festival_id_festival"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["track_id"], ["track.id"], name=op.f(f"fk_{table}_track_id_track"), ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "completion_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("festival_id", sa.Integer(), nullable=True),
        sa.Column("required_offer_ids", sa.JSON(), nullable=False),
        sa.Column("min_steps", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        _utc("updated_at"),
        sa.CheckConstraint("min_steps >= 1", name=op.f("ck_completion_rule_min_steps_positive")),
        *_target_keys("completion_rule"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_completion_rule")),
        sa.UniqueConstraint("festival_id", name=op.f("uq_completion_rule_festival_id")),
        sa.UniqueConstraint("track_id", name=op.f("uq_completion_rule_track_id")),
    )
    op.create_table(
        "completion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("festival_id", sa.Integer(), nullable=True),
        _utc("completed_at"),
        *_target_keys("completion"),
        _resident_key("completion", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_completion")),
        sa.UniqueConstraint("resident_id", "festival_id", name="uq_completion_resident_festival"),
        sa.UniqueConstraint("resident_id", "track_id", name="uq_completion_resident_track"),
    )
    with op.batch_alter_table("completion", schema=None) as batch_op:
        batch_op.create_index("ix_completion_completed_at", ["completed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_completion_festival_id"), ["festival_id"])
        batch_op.create_index(batch_op.f("ix_completion_resident_id"), ["resident_id"])
        batch_op.create_index(batch_op.f("ix_completion_track_id"), ["track_id"])

    op.create_table(
        "learner_facts",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        _utc("asked_at"),
        _utc("consented_at", nullable=True),
        sa.Column(
            "gender",
            sa.Enum(
                "woman", "man", "other", "undisclosed", name="gender", native_enum=False, length=20
            ),
            nullable=True,
        ),
        sa.Column("home_district", sa.String(length=120), nullable=True),
        _utc("updated_at"),
        _resident_key("learner_facts"),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_learner_facts")),
    )
    op.create_table(
        "learner_group",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=60), nullable=False),
        _resident_key("learner_group"),
        sa.PrimaryKeyConstraint("resident_id", "group_key", name=op.f("pk_learner_group")),
    )
    with op.batch_alter_table("learner_group", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_learner_group_group_key"), ["group_key"])

    op.create_table(
        "survey_answer",
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("wish", sa.String(length=300), nullable=True),
        _utc("answered_at"),
        _resident_key("survey_answer"),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_survey_answer")),
    )
    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=22), nullable=False),
        sa.Column("completion_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("printed_name", sa.String(length=80), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        _utc("issued_at"),
        _utc("revoked_at", nullable=True),
        sa.Column("revoked_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["completion_id"],
            ["completion.id"],
            name=op.f("fk_certificate_completion_id_completion"),
            ondelete="CASCADE",
        ),
        _resident_key("certificate"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate")),
        sa.UniqueConstraint("code", name=op.f("uq_certificate_code")),
        sa.UniqueConstraint("completion_id", name=op.f("uq_certificate_completion_id")),
    )
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_resident_id"), ["resident_id"])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_resident_id"))
    op.drop_table("certificate")
    op.drop_table("survey_answer")
    with op.batch_alter_table("learner_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learner_group_group_key"))
    op.drop_table("learner_group")
    op.drop_table("learner_facts")
    with op.batch_alter_table("completion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_completion_track_id"))
        batch_op.drop_index(batch_op.f("ix_completion_resident_id"))
        batch_op.drop_index(batch_op.f("ix_completion_festival_id"))
        batch_op.drop_index("ix_completion_completed_at")
    op.drop_table("completion")
    op.drop_table("completion_rule")
