"""/team: administrators list the team page by page, invite organisers and volunteers, revoke
and remove."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import Command
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.team import NewInvite
from bot.callbacks.team import RemoveMember
from bot.callbacks.team import RevokeInvite
from bot.callbacks.team import ShowTeam
from bot.command_menus import publish_member_commands
from bot.middlewares.hand_over import HandOver
from bot.permissions import protect
from bot.screens import team as team_screens
from bot.screens.view import Viewer
from bot.screens.view import show
from bot.settings import Settings
from catalogue.residents import resident_language
from catalogue.team import INVITABLE_ROLES
from catalogue.team import Permission
from catalogue.team import Role
from catalogue.team import TeamMember
from catalogue.team import create_invite
from catalogue.team import remove_member
from catalogue.team import revoke_invite
from catalogue.team import team_member
from catalogue.team import team_page

logger = logging.getLogger(__name__)


class TeamDesk:
    """What the team's handlers pass around (the bot, the session, the settings, how the
    administrator reads, the press's answer), handed to each as `desk` (a `HandOver`)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.bot: Bot = data["bot"]
        self.i18n: I18n = data["i18n"]
        self.session: AsyncSession = data["session"]
        self.settings: Settings = data["settings"]
        self.viewer: Viewer = data["viewer"]
        self.callback_answer: CallbackAnswer | None = data.get("callback_answer")

    @classmethod
    def of(cls, data: dict[str, Any]) -> TeamDesk | None:
        try:
            return cls(data)
        except KeyError:
            return None

    def answer(self, text: str) -> None:
        """The button press's answer (a toast)."""
        if self.callback_answer is not None:
            self.callback_answer.text = text

    async def show_team(self, event: Message | CallbackQuery, page: int = 0) -> None:
        people = await team_page(self.session, self.settings.admin_ids, page)
        await show(event, team_screens.team(self.viewer, people))

    async def tell_removed(self, member: TeamMember) -> None:
        """The person's menu back to the residents' one, and a word of thanks."""
        locale = (
            await resident_language(self.session, member.telegram_id)
            or self.settings.default_locale
        )
        await publish_member_commands(
            self.bot, self.i18n, member.telegram_id, Role.RESIDENT, locale
        )
        with self.i18n.use_locale(locale):
            text = _(
                "Your role in the festival team ({role}) has ended. Thank you for your help!"
            ).format(role=team_screens.role_label(member.role))
        try:
            await self.bot.send_message(member.telegram_id, text)
        except (TelegramBadRequest, TelegramForbiddenError) as error:
            logger.info(
                "Could not tell %s about the removal: %s", member.telegram_id, error.message
            )


router = protect(Router(name=__name__), Permission.MANAGE_TEAM)
router.message.middleware(HandOver("desk", TeamDesk.of))
router.callback_query.middleware(HandOver("desk", TeamDesk.of))


@router.message(Command("team"))
async def team_command(message: Message, desk: TeamDesk) -> None:
    # An administrator who first wrote to the bot after it started gets their menu now.
    await publish_member_commands(
        desk.bot, desk.i18n, message.from_user.id, Role.ADMIN, desk.viewer.locale
    )
    await desk.show_team(message)


@router.callback_query(ShowTeam.filter())
async def show_team(callback: CallbackQuery, callback_data: ShowTeam, desk: TeamDesk) -> None:
    await desk.show_team(callback, callback_data.page)


@router.callback_query(NewInvite.filter())
async def invite(callback: CallbackQuery, callback_data: NewInvite, desk: TeamDesk) -> None:
    if callback_data.role not in INVITABLE_ROLES:
        desk.answer(_("This button is out of date."))
        return
    created = await create_invite(
        desk.session,
        callback_data.role,
        created_by=callback.from_user.id,
        ttl=timedelta(hours=desk.settings.invite_ttl_hours),
    )
    link = await create_start_link(desk.bot, created.payload)
    await show(callback, team_screens.invite_created(desk.viewer, created.invite, link))


@router.callback_query(RevokeInvite.filter())
async def revoke(callback: CallbackQuery, callback_data: RevokeInvite, desk: TeamDesk) -> None:
    if await revoke_invite(desk.session, callback_data.invite_id):
        desk.answer(_("The invitation is withdrawn; the link no longer works."))
    else:
        desk.answer(_("This invitation was already used, withdrawn or removed."))
    await desk.show_team(callback, callback_data.page)


@router.callback_query(RemoveMember.filter())
async def remove(callback: CallbackQuery, callback_data: RemoveMember, desk: TeamDesk) -> None:
    member = await team_member(desk.session, callback_data.telegram_id)
    if member is None:
        desk.answer(_("This person is no longer in the team."))
    elif not callback_data.confirmed:
        await show(callback, team_screens.confirm_removal(member, callback_data.page))
        return
    else:
        await remove_member(desk.session, member.telegram_id)
        desk.answer(_("Removed from the team."))
        await desk.tell_removed(member)
    await desk.show_team(callback, callback_data.page)
