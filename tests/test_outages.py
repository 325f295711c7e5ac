"""Degraded, not dead (issue 14, items 13 and 14): Redis or the database going away mid-run.

Nothing shared is stopped: Redis is a `redis-server` of this test's own on a free port, stopped
and started again; the database is PostgreSQL behind a TCP proxy of this test's own that is
cut and restored; start-up is tried against a closed port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram import Dispatcher
from aiogram.types import Message
from aiogram.types import Update
from aiohttp.test_utils import TestClient
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession

from bot.middlewares.database import DatabaseSessionMiddleware
from bot.middlewares.outages import DatabaseOutage
from bot.middlewares.outages import database_unreachable
from bot.settings import Settings
from bot.startup.app import App
from bot.startup.app import create_app
from bot.startup.app import prepare_to_run
from bot.startup.app import run_polling
from bot.startup.dispatcher import create_bot
from bot.startup.offline_api import OfflineSession
from bot.startup.offline_api import OfflineTelegram
from bot.startup.offline_api import message_update
from bot.startup.webhook import SECRET_HEADER
from bot.startup.webhook import create_web_app
from catalogue.database import create_engine
from catalogue.database import create_session_maker
from catalogue.team import Role
from catalogue.team import TeamMember
from tests.conftest import _empty_postgres
from tests.fake_bot_api import FakeBotApi
from tests.resident_chat import ResidentChat

ROOT = Path(__file__).resolve().parent.parent
SECRET = "outage-secret"
OUTAGES = "bot.middlewares.outages"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """A redis-server of this test's own: stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = tempfile.mkdtemp(prefix="learncity-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.folder],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(200):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            subprocess.run(["sleep", "0.02"], check=True)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def own_redis() -> AsyncIterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = OwnRedis()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)


class CuttableProxy:
    """A TCP proxy in front of PostgreSQL: `cut()` drops every connection and stops listening,
    as a database server that went away; `restore()` listens again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, up_writer}

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, ConnectionError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


@pytest.fixture
async def proxied_postgres(postgres_url: str) -> AsyncIterator[tuple[str, CuttableProxy]]:
    await _empty_postgres(postgres_url)
    host_port = postgres_url.split("@", 1)[1].split("/", 1)[0]
    proxy = CuttableProxy(int(host_port.rsplit(":", 1)[1]))
    await proxy.restore()
    yield postgres_url.replace(host_port, f"127.0.0.1:{proxy.port}"), proxy
    if proxy.server is not None and proxy.server.is_serving():
        await proxy.cut()


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi()
    await server.start()
    yield server
    await server.stop()


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == OUTAGES]


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info]


# -- Redis away


async def test_without_redis_residents_are_answered_and_the_log_stays_quiet(
    settings: Settings, own_redis: OwnRedis, user_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    # As in the report: the bot's default language is Russian, the resident's English.
    app = await create_app(
        settings.model_copy(
            update={
                "redis_url": own_redis.url,
                "default_locale": "ru",
                "flood_limit": 5,
                "load_demo": False,
            }
        )
    )
    chat = ResidentChat(app, user_id, language_code="en")
    try:
        await chat.send("/start")
        await chat.press("English")
        own_redis.stop()
        caplog.clear()
        answers = []
        for text in ["/menu", "/help", "/menu", "hello", "/my", "/menu"]:
            answers.append((await chat.send(text)).text)
        assert not [a for a in answers if "Sorry" in a or "Извините" in a], answers
        assert all(a for a in answers)
        assert "Learning City" in answers[0], "in English, the resident's language"
        warnings = outage_lines(caplog)
        assert len(warnings) == 1, warnings
        assert "Redis is unreachable" in warnings[0]
        assert not tracebacks(caplog)
        # A redelivery is still dropped: the ledger in memory stands in.
        update = message_update(next(chat.update_ids), user_id, 1, "/menu", "en")
        await chat._feed(update)
        sent = len(chat.calls("sendMessage"))
        await chat._feed(update)
        assert len(chat.calls("sendMessage")) == sent
        # Flood control still counts, in memory.
        for _ in range(10):
            await chat._send("/menu")
        assert any("very fast" in c.params["text"] for c in chat.calls("sendMessage"))

        own_redis.start()
        await asyncio.sleep(2.1)  # Redis is not asked again for two seconds after a failure
        await chat.send("/menu")
        assert any("Redis is back" in line for line in outage_lines(caplog))
    finally:
        await chat.close()
        await app.close()


async def test_a_form_that_lived_in_redis_is_lost_and_said_so_once(
    settings: Settings, own_redis: OwnRedis, user_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    app = await create_app(
        settings.model_copy(update={"redis_url": own_redis.url, "load_demo": False})
    )
    async with app.session_maker.begin() as session:
        session.add(TeamMember(telegram_id=user_id, role=Role.ORGANISER, display_name="Olga"))
    chat = ResidentChat(app, user_id, language_code="en")
    lost = "the form you were filling in is lost"
    try:
        await chat.send("/programme")
        await chat.press("New offer")
        assert await app.dispatcher.storage.get_state(chat_key(app, user_id)) is not None
        own_redis.stop()
        await chat.send("Pottery for beginners")
        notices = [c for c in chat.calls("sendMessage") if lost in c.params["text"]]
        assert len(notices) == 1
        await chat.send("/menu")
        await chat.send("something")
        assert len([c for c in chat.calls("sendMessage") if lost in c.params["text"]]) == 1
        # A form begun while Redis is away goes on in memory...
        await chat.send("/programme")
        await chat.press("New offer")
        await chat.send("Woodwork")
        step_in_memory = await app.dispatcher.storage.get_state(chat_key(app, user_id))
        assert step_in_memory is not None
        assert "title" not in step_in_memory
        # ...and is written back when Redis answers again.
        own_redis.start()
        await asyncio.sleep(2.1)
        await chat.send("/help")
        assert await app.dispatcher.storage.redis.get_state(chat_key(app, user_id)) == (
            step_in_memory
        )
    finally:
        await chat.close()
        await app.close()


def chat_key(app: App, user_id: int):
    from aiogram.fsm.storage.base import StorageKey

    bot_id = (
        int(app.settings.bot_token.get_secret_value().split(":")[0])
        if (app.settings.bot_token)
        else 100000
    )
    return StorageKey(bot_id=bot_id, chat_id=user_id, user_id=user_id)


# -- the database away


async def served_webhook(app: App, bot_api: FakeBotApi):
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


@pytest.mark.postgres
async def test_webhook_answers_503_while_the_database_is_away_and_nothing_is_lost(
    settings: Settings,
    proxied_postgres: tuple[str, CuttableProxy],
    bot_api: FakeBotApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, proxy = proxied_postgres
    app = await create_app(settings.model_copy(update={"database_url": url, "load_demo": False}))
    running, client = await served_webhook(app, bot_api)
    await app.dispatcher.emit_startup(bot=running.bot)  # the outbox and scheduler tick too
    resident = 7171

    async def post(update_id: int, text: str) -> int:
        update = message_update(update_id, resident, update_id, text, "en")
        response = await client.post("/telegram", json=update, headers={SECRET_HEADER: SECRET})
        return response.status

    try:
        assert await post(1, "/start") == 200
        await bot_api.wait_until(lambda: len(bot_api.calls("sendMessage")) == 1)
        caplog.clear()
        await proxy.cut()
        assert await post(2, "/menu") == 503, "Telegram is told to deliver it again"
        assert await post(3, "/help") == 503
        health = await client.get("/healthz")
        report = await health.json()
        assert health.status == 503
        assert report["database"] == "unreachable"
        body = await health.text()
        assert str(proxy.port) not in body
        assert "refused" not in body.lower()
        await asyncio.sleep(1.5)  # the outbox and the probe try meanwhile
        assert len(bot_api.calls("sendMessage")) == 1, "nothing handled meanwhile"
        assert not tracebacks(caplog), [r.getMessage() for r in tracebacks(caplog)]
        down = [line for line in outage_lines(caplog) if "unreachable" in line]
        assert len(down) == 1, down

        await proxy.restore()
        await bot_api.wait_until(lambda: not app.outages.database.down, timeout=10)
        assert [line for line in outage_lines(caplog) if "is back" in line]
        # Telegram's redeliveries are handled now (the ledger forgot them).
        assert await post(2, "/menu") == 200
        assert await post(3, "/help") == 200
        await bot_api.wait_until(lambda: len(bot_api.calls("sendMessage")) == 3)
    finally:
        await app.dispatcher.emit_shutdown(bot=running.bot)
        await client.close()
        await running.close()
        await app.close()


@pytest.mark.postgres
async def test_polling_stops_while_the_database_is_away_and_loses_nothing(
    settings: Settings,
    proxied_postgres: tuple[str, CuttableProxy],
    bot_api: FakeBotApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, proxy = proxied_postgres
    app = await create_app(
        settings.model_copy(
            update={"database_url": url, "load_demo": False, "bot_api_url": bot_api.url,
                    "bot_token": SecretStr("123456:outage-token")}
        )
    )  # fmt: skip
    polling = asyncio.create_task(run_polling(app))
    resident = 7272
    try:
        await bot_api.wait_until(lambda: bot_api.polls > 0)
        bot_api.send_text(resident, "/start")
        await bot_api.wait_until(lambda: len(bot_api.calls("sendMessage")) == 1)
        caplog.clear()
        await proxy.cut()
        bot_api.send_text(resident, "/help")
        await bot_api.wait_until(lambda: app.outages.database.down, timeout=10)
        polls = bot_api.polls
        await asyncio.sleep(2.5)  # a poll a second at most, if polling went on
        assert bot_api.polls <= polls + 1, "no more updates are asked for"
        assert len(bot_api.calls("sendMessage")) == 1
        assert not tracebacks(caplog), [r.getMessage() for r in tracebacks(caplog)]

        await proxy.restore()
        await bot_api.wait_until(lambda: len(bot_api.calls("sendMessage")) == 2, timeout=15)
        assert "What I" in bot_api.screen(resident), "the update held meanwhile is answered"
        bot_api.send_text(resident, "/menu")
        await bot_api.wait_until(lambda: len(bot_api.calls("sendMessage")) == 3, timeout=15)
        changes = [line for line in outage_lines(caplog) if "unreachable" in line or "back" in line]
        assert len(changes) == 2, changes
    finally:
        await app.dispatcher.stop_polling()
        await asyncio.wait_for(polling, 20)
        await app.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://learncity:s3cret-word@127.0.0.1:{closed}/learncity",
        "sqlite+aiosqlite:////proc/no-such-folder/s3cret-word/learncity.sqlite3",
    ],
    ids=["postgres-closed-port", "sqlite-impossible-path"],
)
def test_start_up_with_an_unreachable_database_prints_one_line(tmp_path: Path, url: str) -> None:
    closed = free_port()
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"BOT_TOKEN", "REDIS_URL", "WEBHOOK_URL", "LOG_FORMAT"}
    }
    environment.update(
        DATABASE_URL=url.format(closed=closed),
        DEFAULT_LOCALE="en",
        BOT_TOKEN="123456:unreachable-test",
        BOT_API_URL="http://127.0.0.1:9",
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0]
    if url.startswith("postgresql"):
        assert "s3cret-word" not in lines[0], "the password is hidden"
    assert "Traceback" not in result.stderr


async def test_only_database_failures_are_folded_into_the_outage(caplog) -> None:
    """A worker's traceback is folded into the outage's one line only when the database could
    not be reached; Telegram's network errors and wrong queries keep their traceback."""
    from sqlalchemy.exc import IntegrityError

    from bot.middlewares.outages import FoldOutageTracebacks

    outage = DatabaseOutage(session_maker=None)  # type: ignore[arg-type]
    worker = logging.getLogger("tests.outage_worker")
    worker.addFilter(FoldOutageTracebacks(outage))
    closed = create_engine(f"postgresql+asyncpg://learncity@127.0.0.1:{free_port()}/learncity")
    try:
        with caplog.at_level(logging.WARNING):
            for error in [
                ConnectionRefusedError("Telegram is away"),  # not on the way to a database
                IntegrityError("INSERT …", {}, Exception("duplicate key")),
            ]:
                try:
                    raise error
                except Exception:
                    worker.exception("a tick failed")
            assert not outage.down
            assert len(tracebacks(caplog)) == 2
            try:
                async with closed.connect():
                    pass
            except OSError:
                worker.exception("a tick failed")
            assert outage.down
            assert len(tracebacks(caplog)) == 2, "folded: no third traceback"
            assert [line for line in outage_lines(caplog) if "unreachable" in line]
    finally:
        worker.filters.clear()
        await closed.dispose()
        await outage.stop()


@dataclass
class OneHandler:
    """The real session middleware and commit-before-sending around one handler of a test's,
    on PostgreSQL behind the cuttable proxy; `attempts` counts the handler's starts."""

    proxy: CuttableProxy
    dispatcher: Dispatcher
    bot: Bot
    telegram: OfflineTelegram
    outage: DatabaseOutage
    engine: AsyncEngine
    attempts: list[int] = field(default_factory=list)

    async def feed(self, text: str) -> Any:
        update = Update.model_validate(message_update(1, 5151, 1, text))
        return await self.dispatcher.feed_update(self.bot, update)

    def said(self) -> list[str]:
        return [call.params["text"] for call in self.telegram.accepted()]


Handle = Callable[[Message, AsyncSession, OneHandler], Awaitable[None]]


@contextlib.asynccontextmanager
async def one_handler(
    proxied_postgres: tuple[str, CuttableProxy], handle: Handle
) -> AsyncIterator[OneHandler]:
    url, proxy = proxied_postgres
    engine = create_engine(url)
    session_maker = create_session_maker(engine)
    outage = DatabaseOutage(session_maker)
    outage.probe_every = 0.1
    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(DatabaseSessionMiddleware(session_maker, outage))
    telegram = OfflineTelegram()
    bot = create_bot(Settings(bot_token=None, load_demo=False), OfflineSession(telegram))
    rig = OneHandler(proxy, dispatcher, bot, telegram, outage, engine)

    async def counted(message: Message, session: AsyncSession) -> None:
        rig.attempts.append(len(rig.attempts) + 1)
        await handle(message, session, rig)

    dispatcher.message.register(counted)
    try:
        yield rig
    finally:
        await outage.stop()
        await bot.session.close()
        await engine.dispose()


@pytest.mark.postgres
async def test_an_update_that_meets_the_outage_before_speaking_is_handled_afresh_once(
    proxied_postgres: tuple[str, CuttableProxy],
) -> None:
    async def note(message: Message, session: AsyncSession, _rig: OneHandler) -> None:
        await session.execute(text("CREATE TABLE IF NOT EXISTS held (id int)"))
        await session.execute(text("INSERT INTO held VALUES (1)"))
        await message.answer("noted")

    async with one_handler(proxied_postgres, note) as rig:
        await rig.proxy.cut()
        feeding = asyncio.create_task(rig.feed("note this"))
        await _wait_until(lambda: rig.outage.down)
        assert not rig.said(), "nothing is said while the database is away"
        await rig.proxy.restore()
        await asyncio.wait_for(feeding, 15)
        assert rig.attempts == [1, 2], "handled afresh once the database is back"
        assert rig.said() == ["noted"]
        async with rig.engine.connect() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM held")) == 1


@pytest.mark.postgres
async def test_an_update_that_meets_the_outage_after_speaking_is_never_handled_twice(
    proxied_postgres: tuple[str, CuttableProxy],
) -> None:
    async def speak_then_lose(message: Message, session: AsyncSession, rig: OneHandler) -> None:
        await session.execute(text("SELECT 1"))
        await message.answer("first words")
        await rig.proxy.cut()
        await session.execute(text("SELECT 2"))

    async with one_handler(proxied_postgres, speak_then_lose) as rig:
        with pytest.raises((OSError, DBAPIError)) as raised:  # the error router's to answer
            await rig.feed("hello")
        assert database_unreachable(raised.value)
        assert rig.attempts == [1]
        assert rig.said() == ["first words"]


async def _wait_until(condition: Callable[[], bool], checks: int = 500) -> None:
    for _ in range(checks):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("the condition did not come true in time")
