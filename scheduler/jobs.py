"""Wiring the reminder machinery into a running bot: the outbox worker and periodic jobs.

`run_polling` (bot/startup/app.py) builds one `OutboxWorker` per process with
`create_outbox_worker` and starts it with the bot; `add_reminder_jobs` puts the periodic
upkeep on the process's APScheduler (in memory, deterministic ids: nothing is pickled, the
truth is in our tables). With several processes on one PostgreSQL, the upkeep runs in one
of them at a time (a transaction-level advisory lock); sending is shared through the outbox.
"""

from __future__ import annotations

import logging
import zlib
from datetime import timedelta

from aiogram import Bot
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import scheduler.feedback  # (registers the feedback prompt after an attended session)
import scheduler.renderers  # noqa: F401  (registers the renderers of every kind)
from bot.settings import Settings
from catalogue.models import utc_now
from catalogue.subscriptions import subscribe_followers_to_new_sessions
from scheduler.delivery import Delivery, OutboundLimiter
from scheduler.outbox import OutboxWorker, forget_finished
from scheduler.planning import announce_new_offers, plan_digests, resync_reminders

logger = logging.getLogger(__name__)

UPKEEP_JOB = "reminders-upkeep"
CLEANUP_JOB = "outbox-cleanup"
UPKEEP_EVERY = timedelta(minutes=5)


def create_outbox_worker(
    settings: Settings,
    session_maker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    bot: Bot,
    **options: object,
) -> OutboxWorker:
    """The process's one limiter, Delivery and worker."""
    paid_rate = settings.paid_broadcast_rate if settings.allow_paid_broadcast else None
    limiter = OutboundLimiter(settings.outbound_rate, paid_rate=paid_rate)
    delivery = Delivery(bot, session_maker, limiter)
    return OutboxWorker(session_maker, delivery, settings, i18n, **options)  # type: ignore[arg-type]


def add_reminder_jobs(
    scheduler: AsyncIOScheduler,
    settings: Settings,
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    arguments = {"settings": settings, "session_maker": session_maker}
    scheduler.add_job(
        upkeep,
        IntervalTrigger(seconds=UPKEEP_EVERY.total_seconds()),
        kwargs=arguments,
        id=UPKEEP_JOB,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        next_run_time=utc_now() + timedelta(seconds=2),  # soon after start, then every 5 min
    )
    scheduler.add_job(
        cleanup,
        IntervalTrigger(hours=24),
        kwargs=arguments,
        id=CLEANUP_JOB,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )


async def leader(session: AsyncSession, name: str) -> bool:
    """True in the one process that may run job `name` now (PostgreSQL advisory lock, held
    until the transaction ends); always True on SQLite, which has one process."""
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return True
    key = zlib.crc32(name.encode())
    return bool(await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}))


async def upkeep(settings: Settings, session_maker: async_sessionmaker[AsyncSession]) -> None:
    """New sessions of followed offers, reminders of moved sessions, announcements, digests."""
    now, zone = utc_now(), settings.city_zone
    async with session_maker.begin() as session:
        if not await leader(session, UPKEEP_JOB):
            return
        joined = await subscribe_followers_to_new_sessions(session, now, zone)
        moved = await resync_reminders(session, now, zone)
        announced = await announce_new_offers(session, now, zone)
        digests = await plan_digests(session, now, zone)
    if joined or moved:
        logger.info("Upkeep: %d new sessions of followed offers, %d moved reminders", joined, moved)
    logger.debug("Upkeep: %d announcements, %d digests planned", announced, digests)


async def cleanup(settings: Settings, session_maker: async_sessionmaker[AsyncSession]) -> None:
    async with session_maker.begin() as session:
        if await leader(session, CLEANUP_JOB):
            forgotten = await forget_finished(session, utc_now())
            logger.info("Outbox: forgot %d finished messages", forgotten)
