"""The festival team: who may do what, and the one-time links that bring people into it.

Administrators are named by `ADMIN_IDS` (settings) and are never stored; organisers and
volunteers are rows of `team_member`, added by redeeming an invitation an administrator made.
An invitation is a random token shown once as a deep link (`/start inv_<token>`); only its
SHA-256 is stored, it works once, and it expires.

Every privileged action asks `may(role, permission)`; `role_of` is the one place a person's
role is worked out, so handlers, filters and the later volunteer check-in all agree.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Column
from sqlmodel import Field
from sqlmodel import SQLModel

from catalogue.errors import ProblemError
from catalogue.models import _enum_column
from catalogue.models import _string_column
from catalogue.models import _utc_column
from catalogue.models import utc_now
from catalogue.queries import Window

INVITE_PREFIX = "inv_"
TOKEN_BYTES = 24  # 32 URL-safe characters: a deep link's payload may hold 64


class Role(StrEnum):
    RESIDENT = "resident"
    VOLUNTEER = "volunteer"
    ORGANISER = "organiser"
    ADMIN = "admin"


class Permission(StrEnum):
    MANAGE_TEAM = "manage_team"
    MANAGE_PROGRAMME = "manage_programme"
    BROADCAST = "broadcast"
    CHECK_IN = "check_in"  # volunteers at the door (handlers/checkin_volunteer.py)
    VIEW_REPORTS = "view_reports"  # attendance reports and exports for the city's monitoring
    REVOKE_CERTIFICATES = "revoke_certificates"  # administrators only (catalogue/learners/)


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.RESIDENT: frozenset(),
    Role.VOLUNTEER: frozenset({Permission.CHECK_IN}),
    Role.ORGANISER: frozenset(
        {
            Permission.MANAGE_PROGRAMME,
            Permission.BROADCAST,
            Permission.CHECK_IN,
            Permission.VIEW_REPORTS,
        }
    ),
    Role.ADMIN: frozenset(Permission),
}
# Roles an administrator can hand out through an invitation.
INVITABLE_ROLES = (Role.ORGANISER, Role.VOLUNTEER)


def may(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"

    telegram_id: int = Field(sa_column=Column(sa.BigInteger, primary_key=True, autoincrement=False))
    role: Role = Field(sa_column=_enum_column(Role))
    display_name: str = Field(default="", sa_column=_string_column(120))
    invited_by: int | None = Field(default=None, sa_column=Column(sa.BigInteger, nullable=True))
    joined_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())


class TeamInvite(SQLModel, table=True):
    __tablename__ = "team_invite"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=_string_column(64, unique=True))
    role: Role = Field(sa_column=_enum_column(Role))
    created_by: int = Field(sa_column=Column(sa.BigInteger, nullable=False))
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())
    expires_at: datetime = Field(sa_column=_utc_column())
    used_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    used_by: int | None = Field(default=None, sa_column=Column(sa.BigInteger, nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))

    def is_open(self, now: datetime) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > now


class InviteProblem(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


class TeamError(ProblemError[InviteProblem | str]):
    """A team change that cannot be made; `problem` says which."""


@dataclass(frozen=True)
class NewInvite:
    invite: TeamInvite
    token: str  # shown once; only its hash is stored

    @property
    def payload(self) -> str:
        return INVITE_PREFIX + self.token


# People and open invitations on one page of /team: a page fits in one Telegram message
# whatever the team's size (150 members were once 13,771 characters and 158 buttons).
TEAM_PAGE_SIZE = 10


@dataclass(frozen=True)
class TeamPage:
    """One page of the team: members first, then open invitations, numbered across pages."""

    admins: list[int]
    members: list[TeamMember]
    invites: list[TeamInvite]
    page: int
    pages: int
    member_count: int
    invite_count: int


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def role_of(session: AsyncSession, telegram_id: int, admin_ids: Iterable[int]) -> Role:
    if telegram_id in admin_ids:
        return Role.ADMIN
    role = await session.scalar(
        select(TeamMember.role).where(TeamMember.telegram_id == telegram_id)
    )
    return role_from(telegram_id, Role(role) if role is not None else None, admin_ids)


def role_from(telegram_id: int, member_role: Role | None, admin_ids: Iterable[int]) -> Role:
    """Administrators come from the settings; everyone else's role from the team table."""
    if telegram_id in admin_ids:
        return Role.ADMIN
    return member_role or Role.RESIDENT


async def create_invite(
    session: AsyncSession, role: Role, created_by: int, ttl: timedelta, now: datetime | None = None
) -> NewInvite:
    if role not in INVITABLE_ROLES:
        raise TeamError(f"cannot invite as {role}")
    now = now or utc_now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invite = TeamInvite(
        token_hash=hash_token(token),
        role=role,
        created_by=created_by,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(invite)
    await session.flush()
    return NewInvite(invite, token)


async def redeem_invite(
    session: AsyncSession,
    token: str,
    telegram_id: int,
    display_name: str,
    now: datetime | None = None,
) -> TeamMember:
    """Spend the invitation and make its holder a team member; TeamError says why not.

    The spending is one conditional UPDATE, so two people racing with one link cannot both win.
    """
    now = now or utc_now()
    invite = await session.scalar(
        select(TeamInvite).where(TeamInvite.token_hash == hash_token(token))
    )
    if invite is None:
        raise TeamError(InviteProblem.UNKNOWN)
    spent = await session.execute(
        update(TeamInvite)
        .where(
            TeamInvite.id == invite.id,
            TeamInvite.used_at.is_(None),
            TeamInvite.revoked_at.is_(None),
            TeamInvite.expires_at > now,
        )
        .values(used_at=now, used_by=telegram_id)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        await session.refresh(invite)
        if invite.revoked_at is not None:
            raise TeamError(InviteProblem.REVOKED)
        if invite.used_at is not None:
            raise TeamError(InviteProblem.USED)
        raise TeamError(InviteProblem.EXPIRED)
    member = await session.get(TeamMember, telegram_id)
    if member is None:
        member = TeamMember(telegram_id=telegram_id, role=invite.role, joined_at=now)
    member.role = invite.role
    member.display_name = display_name[:120]
    member.invited_by = invite.created_by
    session.add(member)
    await session.flush()
    return member


async def revoke_invite(session: AsyncSession, invite_id: int, now: datetime | None = None) -> bool:
    """Close an invitation that is still open; False if it was already used, revoked or gone."""
    result = await session.execute(
        update(TeamInvite)
        .where(
            TeamInvite.id == invite_id,
            TeamInvite.used_at.is_(None),
            TeamInvite.revoked_at.is_(None),
        )
        .values(revoked_at=now or utc_now())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def team_member(session: AsyncSession, telegram_id: int) -> TeamMember | None:
    """The person's row in the team; None if they are not in it (administrators are not)."""
    return await session.get(TeamMember, telegram_id)


async def remove_member(session: AsyncSession, telegram_id: int) -> TeamMember | None:
    """Take someone's role away; returns who it was, or None if they were not in the team."""
    member = await session.get(TeamMember, telegram_id)
    if member is None:
        return None
    await session.execute(delete(TeamMember).where(TeamMember.telegram_id == telegram_id))
    return member


async def team_page(
    session: AsyncSession,
    admin_ids: Iterable[int],
    page: int = 0,
    per_page: int = TEAM_PAGE_SIZE,
    now: datetime | None = None,
) -> TeamPage:
    """Page `page` (counted from 0, kept within the pages there are) of the team."""
    now = now or utc_now()
    still_open = (
        TeamInvite.used_at.is_(None),
        TeamInvite.revoked_at.is_(None),
        TeamInvite.expires_at > now,
    )
    member_count = await session.scalar(select(sa.func.count()).select_from(TeamMember)) or 0
    invite_count = (
        await session.scalar(select(sa.func.count()).select_from(TeamInvite).where(*still_open))
        or 0
    )
    window = Window.of(member_count + invite_count, page, per_page)
    page, pages, first = window.page, window.pages, window.first
    members = list(
        await session.scalars(
            select(TeamMember)
            .order_by(TeamMember.role, TeamMember.joined_at, TeamMember.telegram_id)
            .offset(first)
            .limit(per_page)
        )
    )
    invites: list[TeamInvite] = []
    if len(members) < per_page:
        invites = list(
            await session.scalars(
                select(TeamInvite)
                .where(*still_open)
                .order_by(TeamInvite.created_at, TeamInvite.id)
                .offset(max(0, first - member_count))
                .limit(per_page - len(members))
            )
        )
    return TeamPage(sorted(admin_ids), members, invites, page, pages, member_count, invite_count)


async def team_members(session: AsyncSession) -> list[TeamMember]:
    return list(await session.scalars(select(TeamMember)))


async def forget_member(session: AsyncSession, telegram_id: int) -> tuple[int, int]:
    """`/forget_me` in the team: their membership deleted, and their Telegram id taken out of
    the invitations they used and of the members they brought in (those rows stay, as the
    city's records). Returns (memberships deleted, rows anonymised)."""
    deleted = await session.execute(delete(TeamMember).where(TeamMember.telegram_id == telegram_id))
    used = await session.execute(
        update(TeamInvite).where(TeamInvite.used_by == telegram_id).values(used_by=None)
    )
    brought = await session.execute(
        update(TeamMember).where(TeamMember.invited_by == telegram_id).values(invited_by=None)
    )
    return deleted.rowcount or 0, (used.rowcount or 0) + (brought.rowcount or 0)
