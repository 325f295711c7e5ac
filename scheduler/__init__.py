"""Time-driven work. APScheduler decides *when*; what to do and what was done live in our tables."""

from __future__ import annotations

import logging
from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from catalogue.exchange.seeding import refresh_demo

logger = logging.getLogger(__name__)

DEMO_REFRESH_JOB = "demo-refresh"


def create_scheduler(
    city_zone: ZoneInfo, session_maker: async_sessionmaker[AsyncSession]
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        refresh_demo_job,
        CronTrigger(hour=0, minute=5, timezone=city_zone),
        kwargs={"city_zone": city_zone, "session_maker": session_maker},
        id=DEMO_REFRESH_JOB,
        replace_existing=True,
        coalesce=True,
        misfire_grace_time=3600,
    )
    from scheduler.jobs import add_reminder_jobs

    add_reminder_jobs(scheduler, city_zone, session_maker)
    return scheduler


async def refresh_demo_job(
    city_zone: ZoneInfo, session_maker: async_sessionmaker[AsyncSession]
) -> None:
    from scheduler.jobs import leader

    today = datetime.now(city_zone).date()
    async with session_maker.begin() as session:
        # Several bot processes on one PostgreSQL: one of them moves the demo programme.
        if not await leader(session, DEMO_REFRESH_JOB):
            return
        report = await refresh_demo(session, today, city_zone)
    if report is not None:
        logger.info("Demo programme moved to %s (%d records)", today, report.total)
