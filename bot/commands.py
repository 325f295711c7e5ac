"""The command menu Telegram shows beside the input field, in each language."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __

from bot.settings import SUPPORTED_LOCALES

RESIDENT_COMMANDS = (
    ("start", __("start again")),
    ("menu", __("main menu")),
    ("tracks", __("change category or track")),
    ("my", __("my subscriptions and reminders")),
    ("pass", __("my pass for check-in at the door")),
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
