"""promises: when a comment after a session was written, for the organisers' daily digest

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 21:30:00.000000

`session_feedback.commented_at`: the moment the resident wrote (or last changed) the comment
that goes with their score. The organisers' daily message of comments
(catalogue/checkin/feedback.py) takes the comments written since the day before. Comments
already there keep NULL: they were written before organisers were sent any.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import catalogue.models

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("session_feedback") as table:
        table.add_column(sa.Column("commented_at", catalogue.models.UTCDateTime(), nullable=True))
        table.create_index("ix_session_feedback_commented_at", ["commented_at"])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("session_feedback") as table:
        table.drop_index("ix_session_feedback_commented_at")
        table.drop_column("commented_at")
