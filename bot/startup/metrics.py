"""Prometheus figures of one bot process, served at /metrics in webhook mode.

* `learncity_updates_total{type}`: updates handled, by type (message, callback_query, …);
* `learncity_update_errors_total{type}`: updates whose handler raised (the resident got an
  apology, the error was logged);
* `learncity_updates_dropped_total{reason}`: duplicates and flooding (bot/middlewares/guards.py);
* `learncity_update_seconds`: how long handling took; `learncity_updates_in_flight`;
* `learncity_telegram_requests_total{sender,outcome}`: Bot API requests, `sender` "replies"
  (answers to updates) or "outbox" (reminders, digests, broadcasts), `outcome` ok, 429, 5xx,
  network or refused;
* `learncity_telegram_rate_limited_total{sender}`: 429 "Too Many Requests" answers;
* `learncity_telegram_retries_total{reason}`: requests the session retried (bot/startup/retries.py);
* `learncity_outbox_queue_depth`: outgoing messages due and not yet sent, read from the
  database when scraped (`scheduler.outbox_queue.queue_depth`), so it is the same in every process.

Each `Metrics` has its own registry: tests and benchmarks build several apps in one process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from collections.abc import Callable
from functools import partial
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.exceptions import TelegramNetworkError
from aiogram.exceptions import TelegramRetryAfter
from aiogram.exceptions import TelegramServerError
from aiogram.methods import Response
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject
from aiogram.types import Update
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.middlewares.bot_api_calls import AroundBotApiCalls
from bot.middlewares.bot_api_calls import SendRequest
from bot.middlewares.guards import Dropped
from bot.middlewares.guards import InFlightUpdates
from catalogue.models import utc_now

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # Each figure in this Metrics' own registry, not prometheus_client's global one.
        counter = partial(Counter, registry=self.registry)
        gauge = partial(Gauge, registry=self.registry)
        self.updates = counter("learncity_updates", "Updates handled, by type", ["type"])
        self.update_errors = counter(
            "learncity_update_errors", "Updates whose handler raised", ["type"]
        )
        self.dropped = counter(
            "learncity_updates_dropped", "Updates not handled: duplicates and flooding", ["reason"]
        )
        self.update_seconds = Histogram(
            "learncity_update_seconds",
            "Time to handle one update",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.in_flight = gauge("learncity_updates_in_flight", "Updates being handled now")
        self.requests = counter(
            "learncity_telegram_requests",
            "Bot API requests by sender and outcome",
            ["sender", "outcome"],
        )
        self.rate_limited = counter(
            "learncity_telegram_rate_limited",
            "429 Too Many Requests answers from Telegram",
            ["sender"],
        )
        self.retries = counter(
            "learncity_telegram_retries",
            "Bot API requests retried by the session, by reason",
            ["reason"],
        )
        self.outbox_depth = gauge(
            "learncity_outbox_queue_depth", "Outgoing messages due and not yet sent (all processes)"
        )
        for reason in Dropped:
            self.dropped.labels(reason.value)
        for sender in ("replies", "outbox"):
            self.rate_limited.labels(sender)

    def track_in_flight(self, in_flight: InFlightUpdates) -> None:
        self.in_flight.set_function(lambda: in_flight.count)

    async def refresh(self, session_maker: async_sessionmaker[AsyncSession]) -> None:
        """Read the figures that live in the database (called when /metrics is scraped)."""
        from scheduler.outbox_queue import queue_depth

        try:
            async with session_maker() as session:
                self.outbox_depth.set(await queue_depth(session, utc_now()))
        except Exception:  # a scrape must answer even when the database does not
            logger.exception("Could not read the outbox queue depth")

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def value(self, name: str, **labels: str) -> float:
        """One sample's current value (tests, benchmarks); 0 if it was never recorded."""
        return self.registry.get_sample_value(name, labels) or 0.0


class UpdateMetrics(BaseMiddleware):
    """Counts every update by what became of it, and times it."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        started = time.perf_counter()
        try:
            result = await handler(event, data)
        except Exception:
            self.metrics.update_errors.labels(kind).inc()
            raise
        finally:
            self.metrics.update_seconds.observe(time.perf_counter() - started)
        if isinstance(result, Dropped):
            self.metrics.dropped.labels(result.value).inc()
        else:
            self.metrics.updates.labels(kind).inc()
        return result


class RequestMetrics(AroundBotApiCalls):
    """Counts Bot API requests by outcome; every attempt, so each 429 is seen."""

    def __init__(self, metrics: Metrics, sender: str) -> None:
        self.metrics = metrics
        self.sender = sender

    async def around(
        self, method: TelegramMethod[TelegramType], send: SendRequest[TelegramType]
    ) -> Response[TelegramType]:
        outcome = "cancelled"
        try:
            response = await send()
            outcome = "ok"
            return response
        except TelegramRetryAfter:
            outcome = "429"
            self.metrics.rate_limited.labels(self.sender).inc()
            raise
        except TelegramServerError:
            outcome = "5xx"
            raise
        except (TelegramNetworkError, TimeoutError):
            outcome = "network"
            raise
        except TelegramAPIError:
            outcome = "refused"
            raise
        finally:
            self.metrics.requests.labels(self.sender, outcome).inc()
