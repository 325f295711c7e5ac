"""`learncity run --webhook`: Telegram posts updates to us over HTTPS (aiohttp).

Routes:

* `POST <path of WEBHOOK_URL>`: an update. Without the right `X-Telegram-Bot-Api-Secret-Token`
  header (`WEBHOOK_SECRET`) the answer is 401 and nothing is handled; a body that is not an
  update gets 400. A good one is answered 200 at once and handled in the background, so
  Telegram never times out waiting (a redelivery is dropped by bot/middlewares/dedupe.py anyway).
* `GET /healthz`: database, Redis, scheduler and outbox worker; 200 when all are well, 503
  otherwise, with a JSON body saying which.
* `GET /metrics`: Prometheus text format (bot/startup/metrics.py).

Several processes may serve the same bot behind a load balancer: with `REDIS_URL` they share
FSM state, flood control and the update ledger; the outbox and the scheduled upkeep already
run once across processes through PostgreSQL.

Stopping (SIGTERM or SIGINT): the listening socket closes, updates being handled finish
(up to `SHUTDOWN_GRACE` seconds), then the outbox worker and the scheduler stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from typing import Any

from aiogram import Bot
from aiogram import Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy import text

from bot.startup.app import SHUTDOWN_GRACE
from bot.startup.app import App
from bot.startup.app import Running
from bot.startup.app import prepare_to_run
from bot.startup.metrics import CONTENT_TYPE
from catalogue.models import utc_now

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_TIMEOUT = 3.0  # seconds for each dependency to answer /healthz


class TelegramWebhook:
    """Checks the secret, validates the update, hands it to the dispatcher in the background."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret: str) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.secret = secret
        self.tasks: set[asyncio.Task[None]] = set()

    async def handle(self, request: web.Request) -> web.Response:
        if not secrets.compare_digest(request.headers.get(SECRET_HEADER, ""), self.secret):
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            payload = await request.json()
            update = Update.model_validate(payload, context={"bot": self.bot})
        except (ValueError, ValidationError, UnicodeDecodeError) as error:
            logger.warning("Webhook: a post that is not an update: %s", str(error)[:200])
            return web.json_response({"error": "not a Telegram update"}, status=400)
        task = asyncio.create_task(self._feed(update), name=f"update-{update.update_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return web.json_response({})

    async def _feed(self, update: Update) -> None:
        try:
            result = await self.dispatcher.feed_update(self.bot, update)
            if isinstance(result, TelegramMethod):
                await self.dispatcher.silent_call_request(self.bot, result)
        except Exception:  # the error router answers the resident; this is the last resort
            logger.exception("Update %s failed outside the handlers", update.update_id)

    async def finish(self, timeout: float) -> None:
        """Let the updates being handled finish; cancel what is still running after `timeout`."""
        if not self.tasks:
            return
        _done, pending = await asyncio.wait(set(self.tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("Stopped %d updates that did not finish in time", len(pending))
            await asyncio.wait(pending)


async def health(app: App, running: Running) -> tuple[bool, dict[str, Any]]:
    """What /healthz reports: each dependency "ok" or what is wrong with it."""
    report: dict[str, Any] = {}

    async def database() -> None:
        async with app.session_maker() as session:
            await session.execute(text("SELECT 1"))

    async def redis(client: Redis) -> None:
        await client.ping()

    checks = {"database": database()}
    if app.redis is not None:
        checks["redis"] = redis(app.redis)
    else:
        report["redis"] = "not used"
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check, HEALTH_TIMEOUT)
            report[name] = "ok"
        except Exception as error:
            report[name] = f"{type(error).__name__}: {error}"[:200]
    report["scheduler"] = "ok" if running.scheduler.running else "stopped"
    report["outbox"] = "ok" if running.outbox.running else "stopped"
    if report["database"] == "ok":
        from scheduler.outbox_queue import queue_depth

        with contextlib.suppress(Exception):
            async with app.session_maker() as session:
                report["outbox_queue_depth"] = await queue_depth(session, utc_now())
    healthy = all(report[name] == "ok" for name in ("database", "scheduler", "outbox")) and (
        report["redis"] in ("ok", "not used")
    )
    report["status"] = "ok" if healthy else "failing"
    return healthy, report


def create_web_app(app: App, running: Running) -> tuple[web.Application, TelegramWebhook]:
    secret = app.settings.webhook_secret.get_secret_value() if app.settings.webhook_secret else ""
    webhook = TelegramWebhook(app.dispatcher, running.bot, secret)

    async def healthz(_request: web.Request) -> web.Response:
        healthy, report = await health(app, running)
        return web.json_response(report, status=200 if healthy else 503)

    async def metrics(_request: web.Request) -> web.Response:
        await app.metrics.refresh(app.session_maker)
        return web.Response(body=app.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    web_app = web.Application(client_max_size=2**20)
    web_app.router.add_post(app.settings.webhook_path, webhook.handle)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)
    return web_app, webhook


async def run_webhook(app: App) -> None:
    settings = app.settings
    running = prepare_to_run(app)
    web_app, webhook = create_web_app(app, running)
    runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    hooks = {**app.dispatcher.workflow_data, "dispatcher": app.dispatcher, "bot": running.bot}
    await app.dispatcher.emit_startup(**hooks)
    try:
        await runner.setup()
        site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
        await site.start()
        await running.bot.set_webhook(
            settings.webhook_url or "",
            secret_token=webhook.secret,
            allowed_updates=app.dispatcher.resolve_used_update_types(),
        )
        logger.info(
            "Serving the webhook on %s:%s%s",
            settings.webhook_host,
            settings.webhook_port,
            settings.webhook_path,
        )
        await stop.wait()
        logger.info("Stopping: finishing the updates being handled")
        await site.stop()  # no new posts; Telegram keeps them for another process or later
        await webhook.finish(SHUTDOWN_GRACE)
    finally:
        try:
            await app.dispatcher.emit_shutdown(**hooks)
        finally:
            await runner.cleanup()
            await running.close()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
    logger.info("Stopped")
