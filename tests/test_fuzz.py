"""Thousands of random and malformed updates through the real dispatcher (hypothesis).

What is sent is drawn from what the bot understands, so new features are covered without a
change here: the commands of every router's `Command` filters, the prefixes and fields of
every `CallbackData` class in bot/*callbacks*.py, plus random text of every size, forged
button data, content types no handler expects (stickers, locations, polls, dice…), messages
in groups and channels, and inline queries, from a resident, a volunteer, an organiser and
an administrator.

After every batch: no exception reached the error router (or escaped the dispatcher), every
message the bot sent or edited keeps within Telegram's limits and is well-formed HTML, and the
database is consistent. A second test posts random bodies to the webhook: never a 5xx.

Under CI the examples are derandomised (the same on every run); locally each run explores
new ones. `FUZZ_EXAMPLES` sets how many batches (default 100 per database).
"""

from __future__ import annotations

import asyncio
import html
import importlib
import itertools
import json
import logging
import os
import re
import time
import traceback
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any

from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import Update
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from bot.settings import SUPPORTED_LOCALES
from bot.settings import Settings
from bot.startup.app import App
from bot.startup.app import create_app
from bot.startup.offline_api import BOT_USER
from bot.startup.offline_api import ApiCall
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.team import Role
from catalogue.team import TeamMember
from handlers import FEATURE_ROUTERS
from tests.resident_chat import ResidentChat

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=IN_CI,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BODIES = settings(max_examples=max(50, EXAMPLES), deadline=None, derandomize=IN_CI, database=None)

ADMIN, ORGANISER, VOLUNTEER, RESIDENT, NEWCOMER = 61_001, 61_002, 61_003, 61_004, 61_005
PEOPLE = (ADMIN, ORGANISER, VOLUNTEER, RESIDENT, NEWCOMER)

# Telegram's limits on what a bot sends.
TEXT_LIMIT, CAPTION_LIMIT, ALERT_LIMIT, CALLBACK_DATA_BYTES, BUTTONS_LIMIT = (
    4096,
    1024,
    200,
    64,
    100,
)
TAGS = "b|strong|i|em|u|ins|s|strike|del|a|code|pre|tg-spoiler|span|blockquote|tg-emoji"
TAG = re.compile(rf"<(/?)({TAGS})(\s[^<>]*)?>")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


# ---------------------------------------------------------------- what the bot understands


def known_commands() -> list[str]:
    commands = set()
    for router in (r for feature in FEATURE_ROUTERS for r in feature.chain_tail):
        for observer in router.observers.values():
            for handler in observer.handlers:
                for flt in handler.filters or []:
                    if isinstance(flt.callback, Command):
                        commands.update(c for c in flt.callback.commands if isinstance(c, str))
    return sorted(commands | {"start", "help", "cancel"})


def callback_classes() -> list[type[CallbackData]]:
    classes: list[type[CallbackData]] = []
    for path in sorted(Path(__file__).resolve().parent.parent.glob("bot/callbacks/*.py")):
        module = importlib.import_module(f"bot.callbacks.{path.stem}".removesuffix(".__init__"))
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, CallbackData)
                and value is not CallbackData
                and value.__module__ == module.__name__
            ):
                classes.append(value)
    return classes


COMMANDS = known_commands()
CALLBACKS = callback_classes()
IDS = st.one_of(st.integers(0, 60), st.integers(-(2**31), 2**31), st.integers(-(2**63), 2**63 - 1))
SHORT_TEXT = st.text(st.characters(blacklist_characters=":", codec="utf-8"), max_size=12)


def field_values(annotation: Any) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return st.one_of(st.none(), *(field_values(a) for a in options))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from(list(annotation))
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return IDS
    return SHORT_TEXT


@st.composite
def callback_data(draw: st.DrawFn) -> str:
    cls = draw(st.sampled_from(CALLBACKS))
    prefix = cls.__prefix__
    kind = draw(st.integers(0, 9))
    if kind <= 5:  # well-formed, with any values the fields allow
        hints = typing.get_type_hints(cls)
        values = {name: draw(field_values(hints.get(name, str))) for name in cls.model_fields}
        try:
            packed = cls(**values).pack()
        except (ValueError, TypeError):
            packed = prefix
        if len(packed.encode()) <= CALLBACK_DATA_BYTES:
            return packed
        return prefix
    if kind <= 8:  # the right prefix, wrong parts
        parts = draw(st.lists(st.one_of(SHORT_TEXT, IDS.map(str)), max_size=6))
        return ":".join([prefix, *parts]).encode()[:CALLBACK_DATA_BYTES].decode("utf-8", "ignore")
    return draw(st.text(max_size=64)).encode()[:CALLBACK_DATA_BYTES].decode("utf-8", "ignore")


TEXTS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(COMMANDS).map(lambda c: f"/{c}"),
    st.tuples(st.sampled_from(COMMANDS), st.text(max_size=30)).map(lambda t: f"/{t[0]} {t[1]}"),
    st.sampled_from(["/start offer_1", "/start offer_zzz", "/start inv_abc", "/start " + "x" * 64]),
    st.from_regex(r"\A[0-9.:\- ]{1,20}\Z"),  # dates, times, prices, ages
    st.sampled_from(["<b>", "&", "<script>", "a < b > c", "🙂" * 50, "\u0000", "\u202e"]),
    st.text(min_size=3000, max_size=5000),
    st.just("x" * 20_000),
)


def user(user_id: int, language: str | None) -> dict[str, Any]:
    person: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Fuzz"}
    if language:
        person["language_code"] = language
    return person


def private_chat(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "type": "private"}


@st.composite
def update_json(draw: st.DrawFn, update_id: int, chat: ResidentChat) -> dict[str, Any]:
    sender = draw(st.sampled_from(PEOPLE))
    language = draw(st.sampled_from([None, "en", "ru", "ru-RU", "uk", "de", "zz"]))
    message: dict[str, Any] = {
        "message_id": draw(st.integers(1, 10_000)),
        "date": int(time.time()),
        "chat": private_chat(sender),
        "from": user(sender, language),
    }
    kind = draw(
        st.sampled_from(
            ["text"] * 6 + ["callback"] * 6 + ["content", "group", "channel", "inline", "edited"]
        )
    )
    if kind == "callback":
        shown = chat.telegram.last_bot_message(sender)
        pressed: dict[str, Any] = {
            "message_id": shown.message_id if shown and draw(st.booleans()) else draw(IDS),
            "date": int(time.time()),
            "chat": private_chat(sender),
            "from": BOT_USER,
            "text": shown.text[:50] if shown else "…",
        }
        query: dict[str, Any] = {
            "id": str(update_id),
            "from": user(sender, language),
            "chat_instance": "fuzz",
            "data": draw(callback_data()),
        }
        if draw(st.integers(0, 9)):
            query["message"] = pressed
        else:
            query["inline_message_id"] = "inline-fuzz"
        return {"update_id": update_id, "callback_query": query}
    if kind == "inline":
        return {
            "update_id": update_id,
            "inline_query": {
                "id": str(update_id),
                "from": user(sender, language),
                "query": draw(st.text(max_size=256)),
                "offset": draw(st.text(max_size=10)),
            },
        }
    if kind == "content":
        file_id = chat.telegram.upload(draw(st.binary(max_size=300)))
        media = {"file_id": file_id, "file_unique_id": file_id}
        message |= draw(
            st.sampled_from(
                [
                    {
                        "sticker": media
                        | {
                            "type": "regular",
                            "width": 1,
                            "height": 1,
                            "is_animated": False,
                            "is_video": False,
                        }
                    },
                    {"location": {"latitude": 56.8, "longitude": 60.6}},
                    {"contact": {"phone_number": "+70000000000", "first_name": "X"}},
                    {"dice": {"emoji": "🎲", "value": 3}},
                    {"voice": media | {"duration": 2}},
                    {"photo": [media | {"width": 10, "height": 10}]},
                    {"photo": [media | {"width": 10, "height": 10}], "caption": "<i>"},
                    {"document": media | {"file_name": "programme.csv"}},
                    {"document": media | {"file_name": "x.json", "file_size": 10**9}},
                    {"document": media | {"file_name": "sessions.ics"}},
                    {"new_chat_members": [user(sender + 1, None)]},
                ]
            )
        )
        return {"update_id": update_id, "message": message}
    message["text"] = draw(TEXTS)
    if message["text"].startswith("/"):
        length = len(message["text"].split(maxsplit=1)[0]) if message["text"].strip() else 1
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    if kind == "group":
        message["chat"] = {"id": -1000 - sender, "type": "supergroup", "title": "Group"}
    elif kind == "channel":
        message.pop("from")
        message["chat"] = {"id": -100_200, "type": "channel", "title": "News"}
        return {"update_id": update_id, "channel_post": message}
    elif kind == "edited":
        message["edit_date"] = int(time.time())
        return {"update_id": update_id, "edited_message": message}
    return {"update_id": update_id, "message": message}


# ---------------------------------------------------------------- what must hold


def html_problems(value: str) -> list[str]:
    problems, stack = [], []
    position = 0
    while True:
        bracket = value.find("<", position)
        if bracket == -1:
            break
        tag = TAG.match(value, bracket)
        if tag is None:
            problems.append(f"a bare '<' at {bracket}: {value[bracket : bracket + 20]!r}")
            position = bracket + 1
            continue
        closing, name = tag.group(1), tag.group(2)
        if closing:
            if not stack or stack.pop() != name:
                problems.append(f"</{name}> closes nothing")
        else:
            stack.append(name)
        position = tag.end()
    if stack:
        problems.append(f"unclosed {stack}")
    for ampersand in re.finditer("&", value):
        if not ENTITY.match(value, ampersand.start()):
            problems.append(f"a bare '&' at {ampersand.start()}")
    return problems


def visible_length(value: str) -> int:
    return len(html.unescape(TAG.sub("", value)))


def message_problems(call: ApiCall) -> list[str]:
    params, problems = call.params, []
    text = params.get("text")
    if call.method in ("sendMessage", "editMessageText") and isinstance(text, str):
        if not text.strip():
            problems.append("an empty message")
        if visible_length(text) > TEXT_LIMIT:
            problems.append(f"a message of {visible_length(text)} characters")
        problems += html_problems(text)
    caption = params.get("caption")
    if isinstance(caption, str):
        if visible_length(caption) > CAPTION_LIMIT:
            problems.append(f"a caption of {visible_length(caption)} characters")
        problems += html_problems(caption)
    if call.method == "answerCallbackQuery" and len(str(params.get("text", ""))) > ALERT_LIMIT:
        problems.append("a callback answer over 200 characters")
    markup = params.get("reply_markup")
    if isinstance(markup, dict):
        buttons = [b for row in markup.get("inline_keyboard", []) for b in row]
        if len(buttons) > BUTTONS_LIMIT:
            problems.append(f"{len(buttons)} buttons")
        for button in buttons:
            if not str(button.get("text", "")).strip():
                problems.append("a button without a label")
            data = button.get("callback_data")
            if data is not None and len(str(data).encode()) > CALLBACK_DATA_BYTES:
                problems.append(f"callback data over 64 bytes: {data!r}")
    return [f"{call.method}: {problem}" for problem in problems]


async def database_problems(app: App) -> list[str]:
    problems = []
    async with app.session_maker() as session:
        if app.settings.database_url.startswith("sqlite"):
            broken = (await session.execute(text("PRAGMA foreign_key_check"))).all()
            problems += [f"a broken foreign key: {row}" for row in broken]
        languages = await session.scalars(select(Resident.language).distinct())
        problems += [f"language {code!r}" for code in languages if code not in SUPPORTED_LOCALES]
        duplicates = await session.scalar(
            select(func.count()).select_from(
                select(Resident.telegram_id)
                .group_by(Resident.telegram_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        if duplicates:
            problems.append(f"{duplicates} people registered twice")
        going = (
            select(Seat.session_id, func.count().label("seats"))
            .where(Seat.status == SeatStatus.GOING)
            .group_by(Seat.session_id)
            .subquery()
        )
        overbooked = await session.scalar(
            select(func.count())
            .select_from(OfferSession)
            .join(going, going.c.session_id == OfferSession.id)
            .where(OfferSession.capacity.is_not(None), going.c.seats > OfferSession.capacity)
        )
        if overbooked:
            problems.append(f"{overbooked} sessions with more seats taken than they have")
    return problems


class HandlerErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# ---------------------------------------------------------------- the tests


async def fuzz_app(settings: Settings) -> App:
    if settings.database_url.startswith("postgresql"):
        from tests.conftest import _empty_postgres

        await _empty_postgres(settings.database_url)
    app = await create_app(settings.model_copy(update={"admin_ids": frozenset({ADMIN})}))
    async with app.session_maker.begin() as session:
        session.add(TeamMember(telegram_id=ORGANISER, role=Role.ORGANISER, display_name="O"))
        session.add(TeamMember(telegram_id=VOLUNTEER, role=Role.VOLUNTEER, display_name="V"))
    return app


def test_random_updates_break_nothing(settings: Settings) -> None:
    runner = asyncio.Runner()
    app = runner.run(fuzz_app(settings))
    chat = ResidentChat(app, user_id=RESIDENT)
    runner.run(chat.send("/start"))
    runner.run(chat.press("English"))
    update_ids = itertools.count(1_000)
    errors = HandlerErrors()
    logging.getLogger("handlers.errors").addHandler(errors)
    logging.getLogger("aiogram.event").addHandler(errors)
    fed = [0]

    async def feed(raw_updates: list[dict[str, Any]]) -> None:
        for raw in raw_updates:
            update = Update.model_validate(raw, context={"bot": chat.bot})
            await app.dispatcher.feed_update(chat.bot, update)
            fed[0] += 1

    @FUZZ
    @given(st.data())
    def batch(data: st.DataObject) -> None:
        count = data.draw(st.integers(1, 30), label="updates")
        raws = [data.draw(update_json(next(update_ids), chat)) for _ in range(count)]
        calls_before = len(chat.telegram.calls)
        errors.records.clear()
        runner.run(feed(raws))
        failures = [
            r.getMessage() + "\n" + "".join(traceback.format_exception(*r.exc_info)[-12:])
            if r.exc_info
            else r.getMessage()
            for r in errors.records
        ]
        assert not failures, failures[0]
        problems = [p for c in chat.telegram.calls[calls_before:] for p in message_problems(c)]
        assert not problems, problems
        assert not runner.run(database_problems(app))

    try:
        batch()
    finally:
        logging.getLogger("handlers.errors").removeHandler(errors)
        logging.getLogger("aiogram.event").removeHandler(errors)
        runner.run(chat.close())
        runner.run(app.close())
        runner.close()
    assert fed[0] >= EXAMPLES, "the batches were fed"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def test_random_bodies_never_break_the_webhook(settings: Settings) -> None:
    from aiohttp.test_utils import TestClient
    from aiohttp.test_utils import TestServer
    from pydantic import SecretStr

    from bot.startup.app import prepare_to_run
    from bot.startup.webhook import SECRET_HEADER
    from bot.startup.webhook import create_web_app

    runner = asyncio.Runner()
    app = runner.run(create_app(settings))
    app.settings = app.settings.model_copy(
        update={
            "webhook_url": "https://bot.example.org/telegram",
            "webhook_secret": SecretStr("fuzz"),
            "bot_api_url": "http://127.0.0.1:9",  # never reached: updates are not valid ones
        }
    )
    running = prepare_to_run(app)
    web_app, _ = create_web_app(app, running)

    async def started_client() -> TestClient:
        client = TestClient(TestServer(web_app))
        await client.start_server()
        return client

    client = runner.run(started_client())

    async def post(body: bytes) -> int:
        response = await client.post(
            "/telegram",
            data=body,
            headers={SECRET_HEADER: "fuzz", "Content-Type": "application/json"},
        )
        return response.status

    @BODIES
    @given(st.one_of(JSON.map(lambda value: json.dumps(value).encode()), st.binary(max_size=200)))
    def body(raw: bytes) -> None:
        status = runner.run(post(raw))
        assert status in (200, 400), status

    try:
        body()
    finally:
        runner.run(client.close())
        runner.run(running.close())
        runner.run(app.close())
        runner.close()
