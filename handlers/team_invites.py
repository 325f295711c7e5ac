"""`/start inv_<token>`: joining the festival team through an administrator's invitation.

Included before `handlers.start`, whose plain /start would otherwise answer first.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram import F
from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.filters import CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.command_menus import publish_member_commands
from bot.screens import team as team_screens
from bot.screens.errors import refusal_notice
from bot.screens.view import Viewer
from bot.screens.view import notice
from bot.screens.view import show
from bot.settings import Settings
from catalogue.models import Resident
from catalogue.team import INVITE_PREFIX
from catalogue.team import Role
from catalogue.team import TeamError
from catalogue.team import redeem_invite
from catalogue.team import role_of

router = Router(name=__name__)


@router.message(CommandStart(deep_link=True, magic=F.args.startswith(INVITE_PREFIX)))
async def join_team(
    message: Message,
    command: CommandObject,
    bot: Bot,
    i18n: I18n,
    session: AsyncSession,
    settings: Settings,
    resident: Resident,
    viewer: Viewer,
) -> None:
    token = (command.args or "").removeprefix(INVITE_PREFIX)
    if await role_of(session, message.from_user.id, settings.admin_ids) is Role.ADMIN:
        # An administrator testing the link must not spend it for the real invitee.
        await show(message, notice(team_screens.already_admin()))
        return
    try:
        member = await redeem_invite(
            session, token, message.from_user.id, message.from_user.full_name
        )
    except TeamError as error:
        # The would-be member gets a way on (the menu), not just the reason.
        await show(message, refusal_notice(error, viewer))
        return
    await publish_member_commands(bot, i18n, member.telegram_id, member.role, resident.language)
    await show(message, notice(team_screens.welcome_to_team(member.role)))
