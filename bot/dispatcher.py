"""The one dispatcher factory: used by `learncity run`, the local chat, the tests and bench."""

from __future__ import annotations

from typing import TypedDict

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares import DatabaseSessionMiddleware, ResidentI18nMiddleware, ResidentMiddleware
from bot.settings import Settings
from handlers import feature_routers

OFFLINE_TOKEN = "100000:offline-local-chat"


class Services(TypedDict):
    """Long-lived objects every handler may ask for by parameter name."""

    settings: Settings
    session_maker: async_sessionmaker[AsyncSession]
    i18n: I18n


def create_dispatcher(
    settings: Settings,
    session_maker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    storage: BaseStorage | None = None,
) -> Dispatcher:
    services = Services(settings=settings, session_maker=session_maker, i18n=i18n)
    dispatcher = Dispatcher(storage=storage, **services)
    dispatcher.update.outer_middleware(DatabaseSessionMiddleware(session_maker))
    dispatcher.update.outer_middleware(ResidentMiddleware(settings))
    dispatcher.update.outer_middleware(ResidentI18nMiddleware(i18n))
    # Every button press is acknowledged, so no spinner hangs on the resident's phone.
    dispatcher.callback_query.middleware(CallbackAnswerMiddleware())
    dispatcher.include_routers(*feature_routers())
    return dispatcher


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    """A Bot for Telegram, a self-hosted Bot API server, or (with `session`) no network."""
    if session is None:
        session = AiohttpSession()
        if settings.bot_api_url:
            session.api = TelegramAPIServer.from_base(settings.bot_api_url.rstrip("/"))
    token = settings.bot_token.get_secret_value() if settings.bot_token else OFFLINE_TOKEN
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
