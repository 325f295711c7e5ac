"""mini app: the door's scans, idempotent by the device's id

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 21:30:00.000000

`door_scan` remembers each scan (or headcount) a volunteer's device sent, by the id the device
made, with its first answer, so a batch sent again counts once (catalogue/checkin/device_scans.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import catalogue.models

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "door_scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=20), nullable=False),
        sa.Column("created_at", catalogue.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["offer_session.id"],
            name=op.f("fk_door_scan_session_id_offer_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_door_scan")),
        sa.UniqueConstraint("volunteer_id", "device_id", name=op.f("uq_door_scan_volunteer_id")),
    )
    with op.batch_alter_table("door_scan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_door_scan_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("door_scan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_door_scan_session_id"))
    op.drop_table("door_scan")
