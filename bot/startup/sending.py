"""The bot's sending side, built from its Settings: the outbox worker and the broadcast runner.

scheduler/ is given plain values (`SchedulerConfig`) and the drawings of what it sends
(bot/startup/outbox_drawings.py) rather than reading `Settings` or the screens itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.settings import Settings
from bot.startup.outbox_drawings import BroadcastDrawings
from bot.startup.outbox_drawings import outbox_renderers
from scheduler.broadcast_runner import BroadcastRunner
from scheduler.config import SchedulerConfig
from scheduler.delivery import Delivery
from scheduler.delivery import OutboundLimiter
from scheduler.outbox import OutboxWorker


def scheduler_config(settings: Settings) -> SchedulerConfig:
    return SchedulerConfig(
        city_zone=settings.city_zone,
        outbound_rate=settings.outbound_rate,
        outbox_lease_seconds=settings.outbox_lease_seconds,
        allow_paid_broadcast=settings.allow_paid_broadcast,
        paid_broadcast_rate=settings.paid_broadcast_rate,
    )


def create_outbox_worker(
    settings: Settings,
    session_maker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    bot: Bot,
    **options: Any,
) -> OutboxWorker:
    """The process's one limiter, Delivery and worker, with the renderers of every kind."""
    config = scheduler_config(settings)
    limiter = OutboundLimiter(config.outbound_rate, paid_rate=config.paid_rate)
    delivery = Delivery(bot, session_maker, limiter)
    renderers = outbox_renderers(i18n, config.city_zone, settings.survey_topics)
    # `gate=` the dispatcher's `broadcast_gate`, so organisers' presses hold in this worker.
    return OutboxWorker(session_maker, delivery, config, renderers, **options)


def create_broadcast_runner(
    settings: Settings,
    session_maker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    bot: Bot,
    limiter: OutboundLimiter | None = None,
    wake: Callable[[], None] | None = None,
    **options: Any,
) -> BroadcastRunner:
    """Organisers' broadcasts: fed into the outbox page by page, their progress kept current."""
    drawings = BroadcastDrawings(i18n)
    config = scheduler_config(settings)
    return BroadcastRunner(session_maker, bot, config, drawings, limiter, wake, **options)
