"""the seat table: `attendance` (a resident's seat at a session) is renamed `seat`

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 19:00:00.000000

The rows are kept, and so are their ids. Everything named after the table follows it: the
primary key, the unique constraint, the foreign keys, the indexes and, on PostgreSQL, the
sequence that numbers the rows. `attendance_entry` and `check_in` do mean attendance: they
keep their names.

PostgreSQL renames in place. SQLite keeps a constraint's name in the table's own CREATE
statement, so there the table is rebuilt under the new names and the rows copied into it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import catalogue.models

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "id", "resident_id", "session_id", "status", "via_offer", "confirmed_at", "created_at",
    "updated_at",
)  # fmt: skip
INDEXED = ("session_id", "status")


def upgrade() -> None:
    """Upgrade schema."""
    _rename("attendance", "seat")


def downgrade() -> None:
    """Downgrade schema."""
    _rename("seat", "attendance")


def _rename(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(old, new)
    else:
        _rename_in_place(old, new)


def _names(table: str) -> dict[str, str]:
    """The names the naming convention (catalogue/models.py) gives the table's constraints."""
    names = {
        "pk": f"pk_{table}",
        "uq": f"uq_{table}_resident_id",
        "fk_resident": f"fk_{table}_resident_id_resident",
        "fk_session": f"fk_{table}_session_id_offer_session",
    }
    names.update({f"ix_{column}": f"ix_{table}_{column}" for column in INDEXED})
    return names


def _rename_in_place(old: str, new: str) -> None:
    before, after = _names(old), _names(new)
    op.rename_table(old, new)
    for key in ("pk", "uq", "fk_resident", "fk_session"):
        # A primary key's or a unique constraint's index is renamed with it.
        op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT {before[key]} TO {after[key]}")
    for column in INDEXED:
        op.execute(f"ALTER INDEX {before[f'ix_{column}']} RENAME TO {after[f'ix_{column}']}")
    # The id's default, nextval(<sequence>), follows the sequence itself, not its name.
    op.execute(f"ALTER SEQUENCE {old}_id_seq RENAME TO {new}_id_seq")


def _rebuild(old: str, new: str) -> None:
    names = _names(new)
    op.create_table(
        new,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "going",
                "waitlisted",
                "declined",
                name="seatstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("via_offer", sa.Boolean(), nullable=False),
        sa.Column("confirmed_at", catalogue.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", catalogue.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", catalogue.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=names["fk_resident"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["offer_session.id"], name=names["fk_session"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=names["pk"]),
        sa.UniqueConstraint("resident_id", "session_id", name=names["uq"]),
    )
    columns = ", ".join(COLUMNS)
    op.execute(f"INSERT INTO {new} ({columns}) SELECT {columns} FROM {old}")
    op.drop_table(old)  # and its indexes
    for column in INDEXED:
        op.create_index(names[f"ix_{column}"], new, [column], unique=False)
