"""The Mini App beside the bot: its HTTP server, started and stopped with the bot in polling,
webhook and local mode, and the chat's menu button that opens it.

With a token, the server checks initData against it, and when `WEB_APP_URL` is set the chat's
menu button (`setChatMenuButton`) opens the Programme. Without a token (the local chat), the
server signs two links with a development key of this process, one as the local chat's
resident and one as an administrator, and prints them beside the chat.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import quote

from aiogram import Bot
from aiogram.types import MenuButtonWebApp
from aiogram.types import WebAppInfo
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.settings import Settings
from bot.webapp.auth import sign_init_data
from bot.webapp.context import WebContext
from bot.webapp.server import MiniAppServer
from bot.webapp.server import web_context
from catalogue.search.engine import CatalogueSearch

logger = logging.getLogger(__name__)

LOCAL_ADMIN_ID = 2  # the administrator of the local Door (the local chat's resident is 1)
# The local links stay good while the process runs (a token-less run never takes Telegram's).
LOCAL_MAX_AGE = timedelta(days=3650).total_seconds()
WEB_APP_VERSION = "8.0"  # what the local links tell the WebApp script the client supports


class MiniApp:
    """The Mini App's server for this app, and what start-up tells Telegram about it."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        i18n: I18n,
        catalogue_search: CatalogueSearch,
    ) -> None:
        context = web_context(settings, sessions, i18n, catalogue_search)
        if context.development:
            context.admin_ids = context.admin_ids | {LOCAL_ADMIN_ID}
            context.max_age = LOCAL_MAX_AGE
        self.settings = settings
        self.i18n = i18n
        self.server = MiniAppServer(context, settings.web_host, settings.web_port)

    @property
    def context(self) -> WebContext:
        return self.server.context

    async def start(self, bot: Bot | None = None) -> None:
        """Listen; with a bot, learn its username (share links) and set the menu button.

        A taken port (a second process on the same host) leaves the bot serving the chat, and
        says so once: give each process its own `WEB_PORT`."""
        try:
            await self.server.start()
        except OSError as error:
            logger.error(
                "The Mini App is not served: cannot listen on WEB_HOST %s, WEB_PORT %s (%s)",
                self.server.host,
                self.server.port,
                error.strerror or error,
            )
            return
        if bot is None:
            return
        try:
            self.context.bot_username = (await bot.me()).username
            if self.settings.web_app_url:
                await self.publish_menu_button(bot)
        except Exception:  # the Mini App still serves; the chat's menu keeps its commands
            logger.exception("Could not set the chat's Mini App menu button")

    async def publish_menu_button(self, bot: Bot) -> None:
        with self.i18n.context(), self.i18n.use_locale(self.settings.default_locale):
            text = _("Programme")
        url = f"{self.settings.web_app_url}/app/"
        await bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(text=text, web_app=WebAppInfo(url=url))
        )

    async def stop(self) -> None:
        await self.server.stop()

    @property
    def serving(self) -> bool:
        return self.server.serving

    def local_link(self, page: str, user_id: int, first_name: str, language: str) -> str:
        """A page of the local Mini App opened as `user_id`, signed with the development key."""
        user = {"id": user_id, "first_name": first_name, "language_code": language}
        init_data = sign_init_data(self.context.signing_key, user)
        fragment = (
            f"tgWebAppData={quote(init_data, safe='')}"
            f"&tgWebAppVersion={WEB_APP_VERSION}&tgWebAppPlatform=unknown"
        )
        return f"{self.server.local_url}{page}#{fragment}"

    def local_links(self, resident_id: int, language: str) -> list[str]:
        """The lines printed beside the local chat."""
        resident = self.local_link("/app/", resident_id, "Resident", language)
        door = self.local_link("/app/door", LOCAL_ADMIN_ID, "Administrator", language)
        return [
            f"Mini App (as the local chat's resident): {resident}",
            f"Mini App Door (as an administrator): {door}",
            f"Programme for any browser: {self.server.local_url}/programme",
        ]
