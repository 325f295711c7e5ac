"""Start-up and shutdown shared by every way of running the bot."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from aiogram import Bot
from aiogram import Dispatcher
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.command_menus import publish_commands
from bot.command_menus import publish_team_commands
from bot.i18n import create_i18n
from bot.middlewares.guards import InFlightUpdates
from bot.settings import Settings
from bot.startup.dispatcher import create_bot
from bot.startup.dispatcher import create_dispatcher
from bot.startup.metrics import Metrics
from bot.startup.metrics import RequestMetrics
from bot.startup.retries import RetryRequests
from bot.startup.sending import create_broadcast_runner
from bot.startup.sending import create_outbox_worker
from bot.startup.shared_state import TableChangesRelay
from bot.startup.shared_state import connect_redis
from catalogue.database import apply_migrations
from catalogue.database import create_engine
from catalogue.database import create_session_maker
from catalogue.exchange.seeding import load_demo_if_empty
from catalogue.table_changes import table_changes
from scheduler import create_scheduler
from scheduler.outbox import OutboxWorker

logger = logging.getLogger(__name__)

# Seconds a stopping process gives the updates it is handling to finish.
SHUTDOWN_GRACE = 20.0


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    session_maker: async_sessionmaker[AsyncSession]
    i18n: I18n
    dispatcher: Dispatcher
    # Shared state of several processes (bot/startup/shared_state.py); None: this process alone.
    redis: Redis | None = None
    metrics: Metrics = field(default_factory=Metrics)
    in_flight: InFlightUpdates = field(default_factory=InFlightUpdates)
    # Tells other processes which tables this one wrote; None: this process alone.
    relay: TableChangesRelay | None = None

    async def close(self) -> None:
        if self.relay is not None:
            await self.relay.stop()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


async def create_app(settings: Settings) -> App:
    """Migrated database, demo catalogue when empty, compiled translations, the dispatcher."""
    redis = await connect_redis(settings)  # first: an unreachable Redis stops start-up at once
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
    metrics, in_flight = Metrics(), InFlightUpdates()
    dispatcher = create_dispatcher(
        settings, session_maker, i18n, redis=redis, metrics=metrics, in_flight=in_flight
    )
    relay = None
    if redis is not None:
        relay = TableChangesRelay(redis, table_changes(engine), settings.redis_prefix)
        await relay.start()
    return App(settings, engine, session_maker, i18n, dispatcher, redis, metrics, in_flight, relay)


@dataclass
class Running:
    """A bot at work: who answers updates, who sends in bulk, and the jobs beside them."""

    bot: Bot  # answers updates; its session retries Telegram's hiccups (bot/startup/retries.py)
    outbox_bot: Bot  # reminders, digests, broadcasts: paced and retried by scheduler.delivery
    scheduler: AsyncIOScheduler
    outbox: OutboxWorker

    async def close(self) -> None:
        await self.bot.session.close()
        await self.outbox_bot.session.close()


def create_reply_bot(settings: Settings, metrics: Metrics) -> Bot:
    bot = create_bot(settings)
    bot.session.middleware(
        RetryRequests(on_retry=lambda reason: metrics.retries.labels(reason).inc())
    )
    bot.session.middleware(RequestMetrics(metrics, "replies"))
    return bot


def prepare_to_run(app: App) -> Running:
    """The bots, the scheduler and the outbox, started and stopped with the dispatcher.

    Shared by long polling (below) and webhook mode (bot/startup/webhook.py).
    """
    bot = create_reply_bot(app.settings, app.metrics)
    outbox_bot = create_bot(app.settings)
    outbox_bot.session.middleware(RequestMetrics(app.metrics, "outbox"))
    scheduler = create_scheduler(app.settings.city_zone, app.session_maker)
    # Reminders, notices, digests and broadcasts: sent from the outbox through one limiter.
    outbox = create_outbox_worker(app.settings, app.session_maker, app.i18n, outbox_bot)
    app.dispatcher["delivery"] = outbox.delivery
    # Organisers' broadcasts: feeds the outbox page by page and keeps their progress current.
    broadcasts = create_broadcast_runner(
        app.settings, app.session_maker, app.i18n, outbox_bot, outbox.delivery.limiter, outbox.wake
    )

    menus: list[asyncio.Task[None]] = []

    async def publish_menus(bot: Bot) -> None:
        try:
            await publish_commands(bot, app.i18n)
            async with app.session_maker() as session:
                await publish_team_commands(bot, app.i18n, session, app.settings)
        except Exception:  # a bot without fresh menus still answers every command
            logger.exception("Could not publish the command menus")

    async def on_startup(bot: Bot) -> None:
        # A Telegram round trip per language and per team member: not worth delaying the first
        # poll for, as the menus of the last start are still shown meanwhile.
        menus.append(asyncio.create_task(publish_menus(bot), name="publish-menus"))
        scheduler.start()
        await outbox.start()
        await broadcasts.start()

    async def on_shutdown() -> None:
        # Updates being handled finish first: they may still queue messages.
        if not await app.in_flight.wait_idle(SHUTDOWN_GRACE):
            logger.warning("Stopping with %d updates still being handled", app.in_flight.count)
        for task in menus:
            task.cancel()
        await asyncio.gather(*menus, return_exceptions=True)
        await broadcasts.stop()
        await outbox.stop()
        scheduler.shutdown(wait=False)

    app.dispatcher.startup.register(on_startup)
    app.dispatcher.shutdown.register(on_shutdown)
    return Running(bot, outbox_bot, scheduler, outbox)


async def run_polling(app: App) -> None:
    running = prepare_to_run(app)
    try:
        await app.dispatcher.start_polling(
            running.bot, allowed_updates=app.dispatcher.resolve_used_update_types()
        )
    finally:
        await running.close()
