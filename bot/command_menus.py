"""Command menus Telegram shows beside the input field: the residents', in each language, and each
team member's own (the resident commands plus those of their role)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import BotCommand
from aiogram.types import BotCommandScopeChat
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import SUPPORTED_LOCALES
from bot.settings import Settings
from catalogue.residents import languages_of
from catalogue.team import Permission
from catalogue.team import Role
from catalogue.team import may
from catalogue.team import team_members

RESIDENT_COMMANDS = (
    ("start", __("start again")),
    ("menu", __("main menu")),
    ("tracks", __("change category or track")),
    ("my", __("my subscriptions and reminders")),
    ("pass", __("my pass for check-in at the door")),
    ("passport", __("my learning passport and certificates")),
    ("about_me", __("optional facts about me for the city's statistics")),
    ("survey", __("what I would like to learn")),
    ("settings", __("reminder times, quiet hours, time zone, digest")),
    ("language", __("change language")),
    ("privacy", __("what I keep about you; export or delete it")),
    ("help", __("what I can do")),
    ("cancel", __("stop what you are doing")),
)


def resident_commands(i18n: I18n, locale: str) -> list[BotCommand]:
    with i18n.context(), i18n.use_locale(locale):
        return [BotCommand(command=name, description=str(text)) for name, text in RESIDENT_COMMANDS]


async def publish_commands(bot: Bot, i18n: I18n) -> None:
    """One menu per language, plus the default for interfaces in other languages."""
    for locale in SUPPORTED_LOCALES:
        await bot.set_my_commands(resident_commands(i18n, locale), language_code=locale)
    await bot.set_my_commands(resident_commands(i18n, i18n.default_locale))


logger = logging.getLogger(__name__)

# (command, description, permission that makes it appear)
TEAM_COMMANDS = (
    ("programme", __("manage the programme"), Permission.MANAGE_PROGRAMME),
    ("import", __("import a CSV, JSON or ICS file"), Permission.MANAGE_PROGRAMME),
    ("broadcast", __("announce to residents"), Permission.BROADCAST),
    ("team", __("the team and invitations"), Permission.MANAGE_TEAM),
    ("checkin", __("check people in at the door"), Permission.CHECK_IN),
    ("attend", __("check codes in to a session in one line"), Permission.CHECK_IN),
    ("count", __("record a headcount of drop-in visitors"), Permission.CHECK_IN),
    ("undo", __("take back my last check-in entry"), Permission.CHECK_IN),
    ("report", __("attendance reports and exports"), Permission.VIEW_REPORTS),
    ("completion", __("what completes a track or festival"), Permission.MANAGE_PROGRAMME),
    ("revoke", __("revoke a certificate"), Permission.REVOKE_CERTIFICATES),
)


def commands_for(role: Role, i18n: I18n, locale: str) -> list[BotCommand]:
    with i18n.context(), i18n.use_locale(locale):
        own = [
            BotCommand(command=name, description=str(text))
            for name, text, permission in TEAM_COMMANDS
            if may(role, permission)
        ]
        return own + [
            BotCommand(command=name, description=str(text)) for name, text in RESIDENT_COMMANDS
        ]


async def publish_member_commands(
    bot: Bot, i18n: I18n, telegram_id: int, role: Role, locale: str
) -> bool:
    """Show this person the menu of their role (or the residents' one); False if unreachable."""
    scope = BotCommandScopeChat(chat_id=telegram_id)
    try:
        if role is Role.RESIDENT:
            await bot.delete_my_commands(scope=scope)
        else:
            await bot.set_my_commands(commands_for(role, i18n, locale), scope=scope)
    except (TelegramBadRequest, TelegramForbiddenError) as error:
        # An administrator who has never opened the bot has no chat yet.
        logger.info("No command menu for %s: %s", telegram_id, error.message)
        return False
    return True


async def publish_team_commands(
    bot: Bot, i18n: I18n, session: AsyncSession, settings: Settings
) -> int:
    """On start: every administrator and team member gets their menu. Returns how many."""
    people: dict[int, Role] = {
        member.telegram_id: member.role for member in await team_members(session)
    }
    people.update(dict.fromkeys(settings.admin_ids, Role.ADMIN))
    languages = await languages_of(session, people)
    published = 0
    for telegram_id, role in people.items():
        locale = languages.get(telegram_id, settings.default_locale)
        published += await publish_member_commands(bot, i18n, telegram_id, role, locale)
    return published
