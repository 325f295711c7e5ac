"""The Mini App's HTTP server: one aiohttp application for the pages, the API and the feeds.

`create_web_app` builds it from a `WebContext`; `MiniAppServer` runs it beside the bot on
`WEB_HOST:WEB_PORT`, in polling, webhook and local mode alike (bot/startup/mini_app.py). The
routes are listed in docs/mini-app.md.
"""

from __future__ import annotations

import logging

from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.settings import Settings
from bot.webapp import api_door
from bot.webapp import api_feeds
from bot.webapp import api_me
from bot.webapp import api_programme
from bot.webapp import pages
from bot.webapp.api_base import error_response
from bot.webapp.auth import development_key
from bot.webapp.context import WEB_CONTEXT
from bot.webapp.context import WebContext
from catalogue.residents import KnownResidents
from catalogue.search.engine import CatalogueSearch
from catalogue.table_changes import table_changes

logger = logging.getLogger(__name__)

MAX_BODY = 256 * 1024  # a batch of 50 scans is a few kilobytes
COMPRESS_FROM = 1024  # bytes; smaller answers are not worth it


@web.middleware
async def api_errors_as_json(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Unknown `/api/` paths and wrong methods answer JSON, as the rest of the API does."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if not request.path.startswith("/api/") or error.status < 400:
            raise
        code = "not_found" if error.status == 404 else "bad_request"
        return error_response(error.status, code, error.reason)


@web.middleware
async def compressed(request: web.Request, handler: web.Handler) -> web.StreamResponse:
    """Pages, JSON and feeds gzipped for clients that accept it: a week of a large festival is
    a few hundred kilobytes as text, a tenth of that on the wire."""
    response = await handler(request)
    if isinstance(response, web.Response) and len(response.body or b"") > COMPRESS_FROM:
        response.enable_compression()
    return response


def web_context(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    i18n: I18n,
    catalogue_search: CatalogueSearch | None = None,
) -> WebContext:
    """The Mini App's context from the settings: with a token, initData must be Telegram's;
    without one, a development key of this process signs the local links."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    local_url = f"http://{settings.web_host}:{settings.web_port}"
    return WebContext(
        sessions=sessions,
        i18n=i18n,
        city_zone=settings.city_zone,
        default_locale=settings.default_locale,
        admin_ids=settings.admin_ids,
        signing_key=token or development_key(),
        max_age=settings.web_app_max_age,
        public_url=settings.web_app_url or local_url,
        development=token is None,
        known_residents=KnownResidents(table_changes(sessions.kw["bind"])),
        catalogue_search=catalogue_search or CatalogueSearch(),
    )


def create_web_app(context: WebContext) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[api_errors_as_json, compressed])
    app[WEB_CONTEXT] = context
    api_me.add_routes(app)
    api_programme.add_routes(app)
    api_door.add_routes(app)
    api_feeds.add_routes(app)
    pages.setup(app, context)
    return app


class MiniAppServer:
    """The Mini App's listener, started and stopped with the bot."""

    def __init__(self, context: WebContext, host: str, port: int) -> None:
        self.context = context
        self.host, self.port = host, port
        self.app = create_web_app(context)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        logger.info("Serving the Mini App on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def serving(self) -> bool:
        return self._runner is not None

    @property
    def local_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"
