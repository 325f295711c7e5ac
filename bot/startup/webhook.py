"""`learncity run --webhook`: Telegram posts updates to us over HTTPS (aiohttp).

Routes:

* `POST <path of WEBHOOK_URL>`: an update. Without the right `X-Telegram-Bot-Api-Secret-Token`
  header (`WEBHOOK_SECRET`, compared as bytes) the answer is 401 and nothing is handled; a
  body that is not an update (not JSON, nested deeper than `MAX_JSON_DEPTH`, a number no
  Telegram id can be, not an update's shape) gets 400. A good one is answered 200 as soon as it
  has its database connection and handled in the background, so Telegram never times out
  waiting (a redelivery is dropped by bot/middlewares/dedupe.py anyway). While the database
  cannot be reached the answer is 503 and nothing is handled: Telegram delivers it again.
* `GET /healthz`: database, Redis, scheduler and outbox worker; 200 when all are well, 503
  otherwise, with a JSON body saying which ("unreachable", never the error's text).
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
import hmac
import json
import logging
import signal
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram import Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy import text

from bot.middlewares.guards import Dropped
from bot.startup.app import SHUTDOWN_GRACE
from bot.startup.app import App
from bot.startup.app import Running
from bot.startup.app import prepare_to_run
from bot.startup.metrics import CONTENT_TYPE
from catalogue.models import utc_now
from scheduler.stopping import cancel_and_wait

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_TIMEOUT = 3.0  # seconds for each dependency to answer /healthz
# Telegram's updates nest about ten levels (a reply's message's keyboard's buttons…).
MAX_JSON_DEPTH = 32
# Telegram's ids and counts fit in 64 bits; anything larger is not from Telegram.
MAX_INTEGER = 2**63 - 1
# Seconds a post waits for its update to get a database connection before it is answered 200
# anyway (and handled as soon as it can be).
ADMISSION_TIMEOUT = 10.0


class NotAnUpdate(ValueError):
    """A body that parses as JSON but is no Telegram update."""


def parse_update_json(body: bytes) -> Any:
    """JSON of bounded depth and integers, or `NotAnUpdate`/`ValueError`."""
    try:
        payload = json.loads(body)
    except RecursionError:
        raise NotAnUpdate("nested too deep") from None
    stack = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise NotAnUpdate("nested too deep")
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
        elif isinstance(value, int) and abs(value) > MAX_INTEGER:
            raise NotAnUpdate("a number too large")
    return payload


class TelegramWebhook:
    """Checks the secret, validates the update, hands it to the dispatcher in the background."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        secret: str,
        database_down: Callable[[], bool] = lambda: False,
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.secret = secret
        self.database_down = database_down
        self.tasks: set[asyncio.Task[None]] = set()

    def authorised(self, request: web.Request) -> bool:
        """The secret header, compared as bytes: any header at all is refused, never an error."""
        expected = self.secret.encode()
        name = SECRET_HEADER.lower().encode()
        given = next((v for k, v in request.raw_headers if k.lower() == name), b"")
        return hmac.compare_digest(given, expected)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.authorised(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            payload = parse_update_json(await request.read())
            update = Update.model_validate(payload, context={"bot": self.bot})
        except (ValueError, ValidationError, UnicodeDecodeError) as error:
            logger.warning("Webhook: a post that is not an update: %s", str(error)[:200])
            return web.json_response({"error": "not a Telegram update"}, status=400)
        if self.database_down():
            return self.unavailable()
        admission: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._feed(update, admission), name=f"update-{update.update_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        # Answered once the update has its database connection (or was dropped before needing
        # one): an update Telegram hears 200 for is never lost to an unreachable database.
        await asyncio.wait(
            {admission, task}, timeout=ADMISSION_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if admission.done() and not admission.result():
            return self.unavailable()
        return web.json_response({})

    @staticmethod
    def unavailable() -> web.Response:
        return web.json_response(
            {"error": "the database is unreachable; deliver again later"}, status=503
        )

    async def _feed(self, update: Update, admission: asyncio.Future[bool] | None = None) -> None:
        try:
            result = await self.dispatcher.feed_update(self.bot, update, admission=admission)
            if result is Dropped.DATABASE:
                return
            if isinstance(result, TelegramMethod):
                await self.dispatcher.silent_call_request(self.bot, result)
        except Exception:  # the error router answers the resident; this is the last resort
            logger.exception("Update %s failed outside the handlers", update.update_id)

    async def finish(self, timeout: float) -> None:
        """Let the updates being handled finish; cancel what is still running after `timeout`."""
        if not self.tasks:
            return
        _done, pending = await asyncio.wait(set(self.tasks), timeout=timeout)
        if pending:
            logger.warning("Stopped %d updates that did not finish in time", len(pending))
            await cancel_and_wait(pending)


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
        except Exception as error:  # named, not described: /healthz is for anyone to read
            report[name] = "unreachable"
            logger.warning("/healthz: %s unreachable (%s)", name, type(error).__name__)
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
    outages = app.outages
    webhook = TelegramWebhook(
        app.dispatcher,
        running.bot,
        secret,
        database_down=(lambda: outages.database.down) if outages is not None else lambda: False,
    )

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
