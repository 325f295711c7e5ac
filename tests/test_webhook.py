"""Webhook mode's HTTP side: the secret, bad posts, /healthz and /metrics.

The aiohttp application of `learncity run --webhook` is served on a local port; the bot it
builds talks to a local Bot API server. (tests/test_end_to_end.py runs the whole process.)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.startup.app import App
from bot.startup.app import Running
from bot.startup.app import create_app
from bot.startup.app import prepare_to_run
from bot.startup.offline_api import message_update
from bot.startup.webhook import SECRET_HEADER
from bot.startup.webhook import create_web_app
from tests.conftest import RedisSpace
from tests.fake_bot_api import FakeBotApi

SECRET = "webhook-test-secret"
RESIDENT = 5151


@dataclass
class Served:
    app: App
    running: Running
    client: TestClient
    bot_api: FakeBotApi

    async def post(self, body: object, secret: str | None = SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        response = await self.client.post("/telegram", json=body, headers=headers)
        return response.status

    async def start(self) -> None:
        await self.app.dispatcher.emit_startup(bot=self.running.bot)

    async def stop(self) -> None:
        await self.app.dispatcher.emit_shutdown(bot=self.running.bot)


async def serve(app: App, bot_api: FakeBotApi) -> tuple[Running, TestClient]:
    app.settings = app.settings.model_copy(
        update={
            "bot_api_url": bot_api.url,
            "webhook_url": "https://bot.example.org/telegram",
            "webhook_secret": SecretStr(SECRET),
        }
    )
    running = prepare_to_run(app)
    web_app, _webhook = create_web_app(app, running)
    client = TestClient(TestServer(web_app))
    await client.start_server()
    return running, client


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def served(app: App, bot_api: FakeBotApi) -> AsyncIterator[Served]:
    running, client = await serve(app, bot_api)
    yield Served(app, running, client, bot_api)
    await client.close()
    await running.close()


async def test_posts_without_the_secret_are_refused(served: Served) -> None:
    update = message_update(1, RESIDENT, 1, "/start", "en")
    assert await served.post(update, secret=None) == 401
    assert await served.post(update, secret="guess") == 401
    await asyncio.sleep(0.2)
    assert not served.bot_api.calls("sendMessage"), "nothing was handled"


async def test_a_post_that_is_not_an_update_gets_400(served: Served) -> None:
    assert await served.post({"hello": "world"}) == 400
    assert await served.post([1, 2, 3]) == 400
    response = await served.client.post(
        "/telegram", data=b"\xff\xfe not json", headers={SECRET_HEADER: SECRET}
    )
    assert response.status == 400


async def test_an_update_is_answered_at_once_and_handled(served: Served) -> None:
    assert await served.post(message_update(1, RESIDENT, 1, "/start", "en")) == 200
    await served.bot_api.wait_until(lambda: bool(served.bot_api.calls("sendMessage")))
    assert "Choose your language" in served.bot_api.screen(RESIDENT)
    # Telegram delivers it again: no second answer.
    assert await served.post(message_update(1, RESIDENT, 1, "/start", "en")) == 200
    await asyncio.sleep(0.3)
    assert len(served.bot_api.calls("sendMessage")) == 1


async def test_health_reports_each_dependency(served: Served) -> None:
    response = await served.client.get("/healthz")
    assert response.status == 503, "the scheduler and the outbox have not started yet"
    report = await response.json()
    assert report["database"] == "ok"
    assert report["scheduler"] == "stopped"

    await served.start()
    response = await served.client.get("/healthz")
    report = await response.json()
    assert response.status == 200, report
    assert report == {
        "status": "ok",
        "database": "ok",
        "redis": "not used",
        "scheduler": "ok",
        "outbox": "ok",
        "outbox_queue_depth": 0,
    }
    await served.stop()
    response = await served.client.get("/healthz")
    assert response.status == 503


async def test_metrics_in_prometheus_format(served: Served) -> None:
    await served.post(message_update(1, RESIDENT, 1, "/start", "en"))
    await served.post(message_update(1, RESIDENT, 1, "/start", "en"))
    metrics = served.app.metrics
    await served.bot_api.wait_until(
        lambda: (
            metrics.value("learncity_updates_dropped_total", reason="duplicate") == 1
            and metrics.value("learncity_updates_total", type="message") == 1
        )
    )
    response = await served.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    body = await response.text()
    for line in [
        'learncity_updates_total{type="message"} 1.0',
        'learncity_updates_dropped_total{reason="duplicate"} 1.0',
        'learncity_updates_dropped_total{reason="flood"} 0.0',
        'learncity_telegram_requests_total{outcome="ok",sender="replies"} 1.0',
        'learncity_telegram_rate_limited_total{sender="replies"} 0.0',
        'learncity_telegram_rate_limited_total{sender="outbox"} 0.0',
        "learncity_outbox_queue_depth 0.0",
        "learncity_updates_in_flight 0.0",
    ]:
        assert line in body, line
    assert "learncity_update_seconds_bucket" in body


async def test_queue_depth_counts_what_is_due(served: Served) -> None:
    from datetime import timedelta

    from catalogue.models import utc_now
    from catalogue.outbox.messages import NewMessage
    from catalogue.outbox.messages import enqueue_many

    now = utc_now()
    async with served.app.session_maker.begin() as session:
        await enqueue_many(
            session,
            [
                NewMessage("text", RESIDENT, f"due-{n}", now - timedelta(minutes=1), {"text": "x"})
                for n in range(3)
            ]
            + [NewMessage("text", RESIDENT, "later", now + timedelta(days=1), {"text": "y"})],
        )
    body = await (await served.client.get("/metrics")).text()
    assert "learncity_outbox_queue_depth 3.0" in body


@pytest.mark.redis
async def test_health_with_redis_and_without_it(
    settings, redis_space: RedisSpace, bot_api: FakeBotApi
) -> None:
    app = await create_app(redis_space.settings(settings))
    running, client = await serve(app, bot_api)
    await app.dispatcher.emit_startup(bot=running.bot)
    report = await (await client.get("/healthz")).json()
    assert report["redis"] == "ok"
    working = app.redis
    app.redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    response = await client.get("/healthz")
    report = await response.json()
    assert response.status == 503
    assert report["redis"] == "unreachable", "named, without the error's text"
    await app.redis.aclose()
    app.redis = working
    await app.dispatcher.emit_shutdown(bot=running.bot)
    await client.close()
    await running.close()
    await app.close()


def test_the_route_follows_the_webhook_url(settings) -> None:
    assert settings.model_copy(update={"webhook_url": "https://x.org/tg/hook"}).webhook_path == (
        "/tg/hook"
    )
    assert settings.model_copy(update={"webhook_url": "https://x.org"}).webhook_path == "/"
    assert isinstance(web.Application(), web.Application)


# -- malformed posts (issue 14, item 15): 401 or 400, never 500


async def raw_post(served: Served, headers: bytes, body: bytes) -> int:
    """A request written byte by byte: what an HTTP client library would refuse to send."""
    host, port = served.client.server.host, served.client.server.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /telegram HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + headers
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def test_a_secret_with_non_ascii_characters_is_refused(served: Served) -> None:
    body = json.dumps(message_update(1, RESIDENT, 1, "/start", "en")).encode()
    for secret in ["пароль".encode(), b"\xff\xfe", "webhook-test-secretё".encode()]:
        assert (
            await raw_post(served, SECRET_HEADER.encode() + b": " + secret + b"\r\n", body) == 401
        )
    assert (
        await raw_post(served, SECRET_HEADER.encode() + b": " + SECRET.encode() + b"\r\n", body)
        == 200
    )
    await served.bot_api.wait_until(lambda: bool(served.bot_api.calls("sendMessage")))


async def test_deep_or_huge_json_with_the_right_secret_gets_400(served: Served) -> None:
    deep = b"[" * 10_000 + b"]" * 10_000
    nested = {"update_id": 1, "x": {}}
    level = nested["x"]
    for _ in range(100):
        level["x"] = {}
        level = level["x"]
    huge_id = message_update(2, 10**30, 1, "/start", "en")
    for body in [deep, b'{"update_id": 1, "a": ' + deep + b"}", json.dumps(nested).encode()]:
        headers = SECRET_HEADER.encode() + b": " + SECRET.encode() + b"\r\n"
        assert await raw_post(served, headers, body) == 400
    assert await served.post(huge_id) == 400, "no Telegram id has 31 digits"
    await asyncio.sleep(0.2)
    assert not served.bot_api.calls("sendMessage")
