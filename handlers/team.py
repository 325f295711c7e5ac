"""/team: administrators list the team, invite organisers and volunteers, revoke and remove."""

from __future__ import annotations

import logging
from datetime import timedelta

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
from catalogue.team import list_team
from catalogue.team import remove_member
from catalogue.team import revoke_invite
from catalogue.team import team_member

router = protect(Router(name=__name__), Permission.MANAGE_TEAM)
logger = logging.getLogger(__name__)


@router.message(Command("team"))
@router.callback_query(ShowTeam.filter())
async def show_team(
    event: Message | CallbackQuery,
    bot: Bot,
    i18n: I18n,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    if isinstance(event, Message):
        # An administrator who first wrote to the bot after it started gets their menu now.
        await publish_member_commands(bot, i18n, event.from_user.id, Role.ADMIN, viewer.locale)
    await _show_team(event, session, settings, viewer)


async def _show_team(
    event: Message | CallbackQuery, session: AsyncSession, settings: Settings, viewer: Viewer
) -> None:
    people = await list_team(session, settings.admin_ids)
    await show(event, team_screens.team(viewer, people))


@router.callback_query(NewInvite.filter())
async def invite(
    callback: CallbackQuery,
    callback_data: NewInvite,
    callback_answer: CallbackAnswer,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    if callback_data.role not in INVITABLE_ROLES:
        callback_answer.text = _("This button is out of date.")
        return
    created = await create_invite(
        session,
        callback_data.role,
        created_by=callback.from_user.id,
        ttl=timedelta(hours=settings.invite_ttl_hours),
    )
    link = await create_start_link(bot, created.payload)
    await show(callback, team_screens.invite_created(viewer, created.invite, link))


@router.callback_query(RevokeInvite.filter())
async def revoke(
    callback: CallbackQuery,
    callback_data: RevokeInvite,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    if await revoke_invite(session, callback_data.invite_id):
        callback_answer.text = _("The invitation is withdrawn; the link no longer works.")
    else:
        callback_answer.text = _("This invitation was already used, withdrawn or removed.")
    await _show_team(callback, session, settings, viewer)


@router.callback_query(RemoveMember.filter())
async def remove(
    callback: CallbackQuery,
    callback_data: RemoveMember,
    callback_answer: CallbackAnswer,
    bot: Bot,
    i18n: I18n,
    session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
) -> None:
    member = await team_member(session, callback_data.telegram_id)
    if member is None:
        callback_answer.text = _("This person is no longer in the team.")
    elif not callback_data.confirmed:
        await show(callback, team_screens.confirm_removal(member))
        return
    else:
        await remove_member(session, member.telegram_id)
        callback_answer.text = _("Removed from the team.")
        await _tell_removed(bot, i18n, session, settings, member)
    await _show_team(callback, session, settings, viewer)


async def _tell_removed(
    bot: Bot, i18n: I18n, session: AsyncSession, settings: Settings, member: TeamMember
) -> None:
    locale = await resident_language(session, member.telegram_id) or settings.default_locale
    await publish_member_commands(bot, i18n, member.telegram_id, Role.RESIDENT, locale)
    with i18n.use_locale(locale):
        text = _(
            "Your role in the festival team ({role}) has ended. Thank you for your help!"
        ).format(role=team_screens.role_label(member.role))
    try:
        await bot.send_message(member.telegram_id, text)
    except (TelegramBadRequest, TelegramForbiddenError) as error:
        logger.info("Could not tell %s about the removal: %s", member.telegram_id, error.message)
