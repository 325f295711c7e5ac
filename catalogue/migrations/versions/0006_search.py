"""search: synonyms and what residents looked for and did not find

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 21:30:00.000000

Two tables of `catalogue/search/tables.py`:

* `search_synonym`: groups of words that mean the same to a resident, per language, seeded
  here with the obvious ones (`catalogue.search.synonyms.SEED`) and edited afterwards with
  `learncity catalogue synonyms`.
* `search_demand`: anonymous daily counts per normalised query: searched, found nothing,
  had a result opened.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The obvious synonyms, kept beside the code that reads them; the table is the city's after.
from catalogue.search.synonyms import SEED

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    synonym = op.create_table(
        "search_synonym",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_synonym")),
    )
    op.create_index(
        op.f("ix_search_synonym_language"), "search_synonym", ["language"], unique=False
    )
    op.create_table(
        "search_demand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("query", sa.String(length=120), nullable=False),
        sa.Column("example", sa.String(length=200), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("found_nothing", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_demand")),
        sa.UniqueConstraint("day", "query", name=op.f("uq_search_demand_day")),
    )
    op.create_index(op.f("ix_search_demand_day"), "search_demand", ["day"], unique=False)
    op.bulk_insert(
        synonym,
        [
            {"language": language, "words": words}
            for language, groups in SEED.items()
            for words in groups
        ],
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_search_demand_day"), table_name="search_demand")
    op.drop_table("search_demand")
    op.drop_index(op.f("ix_search_synonym_language"), table_name="search_synonym")
    op.drop_table("search_synonym")
