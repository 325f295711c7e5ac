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
from bot.middlewares.outages import FoldOutageTracebacks
from bot.middlewares.outages import HoldPollingWhileDown
from bot.middlewares.outages import Outages
from bot.settings import Settings
from bot.settings import SettingsError
from bot.startup.dispatcher import create_bot
from bot.startup.dispatcher import create_dispatcher
from bot.startup.metrics import Metrics
from bot.startup.metrics import RequestMetrics
from bot.startup.mini_app import MiniApp
from bot.startup.retries import RetryRequests
from bot.startup.sending import create_broadcast_runner
from bot.startup.sending import create_outbox_worker
from bot.startup.shared_state import TableChangesRelay
from bot.startup.shared_state import connect_redis
from bot.startup.shared_state import redacted
from catalogue.database import apply_migrations
from catalogue.database import create_engine
from catalogue.database import create_session_maker
from catalogue.exchange.seeding import load_demo_if_empty
from catalogue.table_changes import table_changes
from scheduler import create_scheduler
from scheduler.outbox import OutboxWorker
from scheduler.stopping import cancel_and_wait

logger = logging.getLogger(__name__)

# Seconds a stopping process gives the updates it is handling to finish.
SHUTDOWN_GRACE = 20.0
# Seconds the database has to answer on start.
CONNECT_TIMEOUT = 15.0
# Loggers whose tracebacks of an unreachable database become the outage's one line a change.
WORKER_LOGGERS = ("scheduler", "apscheduler", "handlers", "bot")


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
    # Redis or the database away: bot/middlewares/outages.py.
    outages: Outages | None = None

    async def close(self) -> None:
        if self.outages is not None:
            await self.outages.database.stop()
        if self.relay is not None:
            await self.relay.stop()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


async def create_app(settings: Settings) -> App:
    """Migrated database, demo catalogue when empty, compiled translations, the dispatcher."""
    redis = await connect_redis(settings)  # first: an unreachable Redis stops start-up at once
    try:
        engine = await reach_database(settings.database_url)
    except SettingsError:
        if redis is not None:
            await redis.aclose()
        raise
    await apply_migrations(engine)
    session_maker = create_session_maker(engine)
    outages = Outages.of(session_maker)
    if settings.load_demo:
        async with session_maker.begin() as session:
            today = datetime.now(settings.city_zone).date()
            report = await load_demo_if_empty(session, today, settings.city_zone)
        if report is not None:
            logger.info("Loaded the demo catalogue: %d records", report.total)
    i18n = create_i18n(settings.default_locale)
    metrics, in_flight = Metrics(), InFlightUpdates()
    dispatcher = create_dispatcher(
        settings,
        session_maker,
        i18n,
        redis=redis,
        metrics=metrics,
        in_flight=in_flight,
        outages=outages,
    )
    relay = None
    if redis is not None:
        relay = TableChangesRelay(
            redis, table_changes(engine), settings.redis_prefix, outages.redis
        )
        await relay.start()
    return App(
        settings, engine, session_maker, i18n, dispatcher, redis, metrics, in_flight, relay, outages
    )


async def reach_database(url: str) -> AsyncEngine:
    """The engine, once it made a connection; if none can be made, one line naming
    `DATABASE_URL` (its password hidden) and why."""
    engine: AsyncEngine | None = None
    try:
        engine = create_engine(url)
        async with asyncio.timeout(CONNECT_TIMEOUT), engine.connect():
            pass
    except Exception as error:  # whatever stops the connection, the answer is the same
        if engine is not None:
            await engine.dispose()
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise SettingsError(f"Cannot reach DATABASE_URL {redacted(url)}: {reason}") from None
    return engine


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


def create_reply_bot(settings: Settings, metrics: Metrics, outages: Outages | None = None) -> Bot:
    bot = create_bot(settings)
    if outages is not None:  # long polling takes no updates while the database is away
        bot.session.middleware(HoldPollingWhileDown(outages.database))
    bot.session.middleware(
        RetryRequests(on_retry=lambda reason: metrics.retries.labels(reason).inc())
    )
    bot.session.middleware(RequestMetrics(metrics, "replies"))
    return bot


def fold_outage_tracebacks(outages: Outages) -> None:
    """The workers' failures while the database is away: one line per change, not per tick."""
    fold = FoldOutageTracebacks(outages.database)
    logging.getLogger("apscheduler.executors.default")  # named only once the scheduler starts
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in WORKER_LOGGERS:
            named = logging.getLogger(name)
            for earlier in [f for f in named.filters if isinstance(f, FoldOutageTracebacks)]:
                named.removeFilter(earlier)  # an earlier app of this process (tests, benches)
            named.addFilter(fold)


def prepare_to_run(app: App) -> Running:
    """The bots, the scheduler and the outbox, started and stopped with the dispatcher.

    Shared by long polling (below) and webhook mode (bot/startup/webhook.py).
    """
    bot = create_reply_bot(app.settings, app.metrics, app.outages)
    if app.outages is not None:
        fold_outage_tracebacks(app.outages)
    outbox_bot = create_bot(app.settings)
    outbox_bot.session.middleware(RequestMetrics(app.metrics, "outbox"))
    scheduler = create_scheduler(app.settings.city_zone, app.session_maker)
    # Reminders, notices, digests and broadcasts: sent from the outbox through one limiter.
    gate = app.dispatcher["broadcast_gate"]  # Pause and Cancel hold in this process's senders
    outbox = create_outbox_worker(app.settings, app.session_maker, app.i18n, outbox_bot, gate=gate)
    app.dispatcher["delivery"] = outbox.delivery
    # Organisers' broadcasts: feeds the outbox page by page and keeps their progress current.
    broadcasts = create_broadcast_runner(
        app.settings, app.session_maker, app.i18n, outbox_bot, outbox.delivery.limiter, outbox.wake,
        gate=gate,
    )  # fmt: skip

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
        await cancel_and_wait(menus)
        await broadcasts.stop()
        await outbox.stop()
        scheduler.shutdown(wait=False)

    app.dispatcher.startup.register(on_startup)
    app.dispatcher.shutdown.register(on_shutdown)
    # The Mini App's pages and API (docs/mini-app.md), served beside the bot on WEB_PORT.
    search = app.dispatcher["catalogue_search"]
    mini_app = MiniApp(app.settings, app.session_maker, app.i18n, search)
    app.dispatcher.startup.register(mini_app.start)
    app.dispatcher.shutdown.register(mini_app.stop)
    return Running(bot, outbox_bot, scheduler, outbox)


async def run_polling(app: App) -> None:
    running = prepare_to_run(app)
    try:
        await app.dispatcher.start_polling(
            running.bot, allowed_updates=app.dispatcher.resolve_used_update_types()
        )
    finally:
        await running.close()
