"""The resident behind an update, with their team role, and the language they are answered in."""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User
from aiogram.utils.i18n import I18nMiddleware

from bot.i18n import best_locale
from bot.middlewares.database import Handler
from bot.screens.view import Viewer
from bot.settings import Settings
from catalogue.residents import KnownResidents
from catalogue.residents import resident_and_team_role
from catalogue.team import role_from


class ResidentMiddleware(BaseMiddleware):
    """Finds (or registers) the resident behind the update and how to show things to them."""

    def __init__(self, settings: Settings, known_residents: KnownResidents) -> None:
        self.settings = settings
        self.known_residents = known_residents

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is not None and not user.is_bot:
            language = best_locale(user.language_code, self.settings.default_locale)
            resident, member_role = await resident_and_team_role(
                data["session"], user.id, language, self.known_residents
            )
            data["resident"] = resident
            # Read by bot/permissions.py: the team's handlers need no query of their own.
            data["role"] = role_from(user.id, member_role, self.settings.admin_ids)
            data["viewer"] = Viewer.of(resident, self.settings.city_zone)
        return await handler(event, data)


class ResidentI18nMiddleware(I18nMiddleware):
    """Speaks the resident's chosen language; before they choose, Telegram's interface language."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        resident = data.get("resident")
        return resident.language if resident is not None else self.i18n.default_locale
