"""Start-up and shutdown shared by every way of running the bot."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from aiogram import Bot, Dispatcher
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.commands import publish_commands
from bot.dispatcher import create_bot, create_dispatcher
from bot.i18n import create_i18n
from bot.settings import Settings
from catalogue.database import apply_migrations, create_engine, create_session_maker
from catalogue.seeding import load_demo_if_empty
from scheduler import create_scheduler

logger = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    session_maker: async_sessionmaker[AsyncSession]
    i18n: I18n
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.engine.dispose()


async def create_app(settings: Settings) -> App:
    """Migrated database, demo catalogue when empty, compiled translations, the dispatcher."""
    engine = create_engine(settings.database_url)
    await apply_migrations(engine)
    session_maker = create_session_maker(engine)
    if settings.load_demo:
        async with session_maker.begin() as session:
            today = datetime.now(settings.city_zone).date()
            report = await load_demo_if_empty(session, today, settings.city_zone)
        if report is not None:
            logger.info("Loaded the demo catalogue: %d records", report.total)
    i18n = create_i18n(settings.default_locale)
    dispatcher = create_dispatcher(settings, session_maker, i18n)
    return App(settings, engine, session_maker, i18n, dispatcher)


async def run_polling(app: App) -> None:
    bot = create_bot(app.settings)
    scheduler = create_scheduler(app.settings, app.session_maker)

    async def on_startup(bot: Bot) -> None:
        await publish_commands(bot, app.i18n)
        scheduler.start()

    async def on_shutdown() -> None:
        scheduler.shutdown(wait=False)

    app.dispatcher.startup.register(on_startup)
    app.dispatcher.shutdown.register(on_shutdown)
    try:
        await app.dispatcher.start_polling(
            bot, allowed_updates=app.dispatcher.resolve_used_update_types()
        )
    finally:
        await bot.session.close()
