"""The periodic upkeep of reminders and the outbox, on the process's APScheduler.

`add_reminder_jobs` puts the upkeep on the scheduler (in memory, deterministic ids: nothing is
pickled, the truth is in our tables). With several processes on one PostgreSQL, the upkeep
runs in one of them at a time (a transaction-level advisory lock); sending is shared through
the outbox (scheduler/outbox.py), whose worker the composition root builds.
"""

from __future__ import annotations

import logging
import zlib
from datetime import timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from catalogue.learners.survey import plan_survey_offers
from catalogue.models import utc_now
from catalogue.subscriptions import subscribe_followers_to_new_sessions
from scheduler.outbox_queue import forget_finished
from scheduler.planning import announce_new_offers
from scheduler.planning import plan_digests
from scheduler.planning import resync_reminders

logger = logging.getLogger(__name__)

UPKEEP_JOB = "reminders-upkeep"
CLEANUP_JOB = "outbox-cleanup"
UPKEEP_EVERY = timedelta(minutes=5)


def add_reminder_jobs(
    scheduler: AsyncIOScheduler,
    city_zone: ZoneInfo,
    session_maker: async_sessionmaker[AsyncSession],
) -> None:
    arguments = {"city_zone": city_zone, "session_maker": session_maker}
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
        kwargs={"session_maker": session_maker},
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


async def upkeep(city_zone: ZoneInfo, session_maker: async_sessionmaker[AsyncSession]) -> None:
    """New sessions of followed offers, reminders of moved sessions, announcements, digests,
    and the survey for residents whose first week is over."""
    now, zone = utc_now(), city_zone
    async with session_maker.begin() as session:
        if not await leader(session, UPKEEP_JOB):
            return
        joined = await subscribe_followers_to_new_sessions(session, now, zone)
        moved = await resync_reminders(session, now, zone)
        announced = await announce_new_offers(session, now, zone)
        digests = await plan_digests(session, now, zone)
        surveys = await plan_survey_offers(session, now)
    if joined or moved:
        logger.info("Upkeep: %d new sessions of followed offers, %d moved reminders", joined, moved)
    logger.debug(
        "Upkeep: %d announcements, %d digests, %d surveys planned", announced, digests, surveys
    )


async def cleanup(session_maker: async_sessionmaker[AsyncSession]) -> None:
    async with session_maker.begin() as session:
        if await leader(session, CLEANUP_JOB):
            forgotten = await forget_finished(session, utc_now())
            logger.info("Outbox: forgot %d finished messages", forgotten)
