"""gnlc report pack

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 21:30:00.000000

PLACEHOLDER: reserved for one feature's tables so that parallel work keeps one linear chain.
"""

from collections.abc import Sequence

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""


def downgrade() -> None:
    """Downgrade schema."""
