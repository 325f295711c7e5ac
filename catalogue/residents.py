"""Residents: who they are in the city's learning catalogue and what they picked."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Category
from catalogue.models import Resident
from catalogue.models import Track
from catalogue.table_changes import TableCache
from catalogue.table_changes import TableChanges
from catalogue.table_changes import detached_copy
from catalogue.table_changes import rows_changed_in
from catalogue.team import Role
from catalogue.team import TeamMember

# Built once: every update runs it.
_TELEGRAM_ID = bindparam("telegram_id")
RESIDENT_AND_TEAM_ROLE = select(
    Resident,
    select(TeamMember.role).where(TeamMember.telegram_id == _TELEGRAM_ID).scalar_subquery(),
).where(Resident.telegram_id == _TELEGRAM_ID)


class KnownResidents(TableCache[int, tuple[Resident, Role | None]]):
    """Residents and their team role by Telegram id: every update needs them, and they change
    seldom. Forgotten when a resident row is changed or deleted, or anything is written to the
    team; not when new residents register (a festival's first hour), as only residents found
    are kept."""

    def __init__(self, changes: TableChanges) -> None:
        # About 1 KB a resident: the default 10,000 is more than a minute of a busy festival.
        super().__init__(
            changes, (rows_changed_in(Resident.__tablename__), TeamMember.__tablename__)
        )


async def get_or_create_resident(
    session: AsyncSession, telegram_id: int, language: str
) -> Resident:
    resident, _member_role = await resident_and_team_role(session, telegram_id, language)
    return resident


async def resident_and_team_role(
    session: AsyncSession, telegram_id: int, language: str, known: KnownResidents | None = None
) -> tuple[Resident, Role | None]:
    """The resident behind an update (registered on first sight) and their role in the
    festival team (None: not in it), in one query (the team's commands need both), or from
    `known` without one."""
    if known is not None:
        found_before = known.get(session, telegram_id)
        if found_before is not None:
            resident, role = found_before
            return await session.merge(resident, load=False), role
        stamp = known.stamp()
    mine = {"telegram_id": telegram_id}
    found = (await session.execute(RESIDENT_AND_TEAM_ROLE, mine)).first()
    registered = found is None
    if registered:
        # Two updates of a new resident may be handled at once (in two processes, or two
        # tasks of one): the second insert yields to the first instead of failing.
        row = Resident(telegram_id=telegram_id, language=language).model_dump(exclude={"id"})
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await session.execute(
            insert(Resident).values(**row).on_conflict_do_nothing(index_elements=["telegram_id"])
        )
        found = (await session.execute(RESIDENT_AND_TEAM_ROLE, mine)).one()
    resident, member_role = found
    if not resident.is_active:
        # Marked inactive when Telegram refused a message (blocked bot); writing again undoes it.
        resident.is_active = True
        session.add(resident)
        await session.flush()
    role = Role(member_role) if member_role is not None else None
    if known is not None and not registered:  # this transaction may yet roll back
        known.keep(session, telegram_id, stamp, (detached_copy(resident), role))
    return resident, role


async def set_language(session: AsyncSession, resident: Resident, language: str) -> None:
    resident.language = language
    resident.language_chosen = True
    session.add(resident)
    await session.flush()


async def choose_category(
    session: AsyncSession, resident: Resident, category_id: int
) -> Category | None:
    """Remember the resident's category; None if it no longer exists."""
    category = await session.get(Category, category_id)
    if category is None:
        return None
    if resident.category_id != category.id:
        resident.category_id, resident.track_id = category.id, None
        session.add(resident)
        await session.flush()
    return category


async def choose_track(session: AsyncSession, resident: Resident, track_id: int) -> Track | None:
    """Make the track the resident's own (and its category theirs); None if it is gone."""
    track = await session.get(Track, track_id)
    if track is None:
        return None
    resident.category_id, resident.track_id = track.category_id, track.id
    session.add(resident)
    await session.flush()
    return track


async def resident_language(session: AsyncSession, telegram_id: int) -> str | None:
    """The language the bot speaks with this person, without registering anyone."""
    return await session.scalar(
        select(Resident.language).where(Resident.telegram_id == telegram_id)
    )


async def chosen_category(session: AsyncSession, resident: Resident) -> Category | None:
    """The category the resident chose; None if none was chosen or it has been removed."""
    return await session.get(Category, resident.category_id) if resident.category_id else None


async def chosen_track(session: AsyncSession, resident: Resident) -> Track | None:
    """The resident's own track; None if none was chosen or it has been removed."""
    return await session.get(Track, resident.track_id) if resident.track_id else None


async def languages_of(session: AsyncSession, telegram_ids: Iterable[int]) -> dict[int, str]:
    """The language the bot speaks with each of these people who have written to it."""
    wanted = list(telegram_ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(Resident.telegram_id, Resident.language).where(Resident.telegram_id.in_(wanted))
    )
    return dict(rows.all())
