"""What every part of the Mini App's server needs, handed over once through the application."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from catalogue.residents import KnownResidents
from catalogue.search.engine import CatalogueSearch


@dataclass
class WebContext:
    """The database, the city, the translations, and how initData is checked."""

    sessions: async_sessionmaker[AsyncSession]
    i18n: I18n
    city_zone: ZoneInfo
    default_locale: str
    admin_ids: frozenset[int]
    # The key initData is signed with: the bot's token, or the development key of a tokenless run.
    signing_key: str
    max_age: float  # seconds initData stays valid (WEB_APP_MAX_AGE)
    public_url: str  # WEB_APP_URL, or the local address
    bot_username: str | None = None  # for share links; None when unknown (the local run)
    development: bool = False  # the local, tokenless run
    known_residents: KnownResidents | None = None
    # The chat's search index (the dispatcher's own), so both search the same way.
    catalogue_search: CatalogueSearch = field(default_factory=CatalogueSearch)

    def locale_of(self, wanted: str | None) -> str:
        return wanted if wanted in self.i18n.available_locales else self.default_locale


WEB_CONTEXT = web.AppKey("web_context", WebContext)
