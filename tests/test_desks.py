"""The bundles handed to handlers as `desk` (bot/middlewares/desks.py)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import fields
from typing import Any

from aiogram import Router

from bot.middlewares.desks import HandedOver
from bot.middlewares.desks import WorkDesk
from bot.middlewares.hand_over import HandOver
from handlers.checkin_volunteer import DoorDesk
from handlers.learners.common import LearnerDesk
from handlers.programme.common import Desk
from handlers.reports import ReportDesk


@dataclass(frozen=True)
class Pair(HandedOver):
    session: str
    viewer: str


def test_a_bundle_is_built_from_the_handler_data_named_like_its_fields() -> None:
    assert Pair.of({"session": "s", "viewer": "v", "bot": "b"}) == Pair("s", "v")
    assert Pair.of({"session": "s"}) is None  # no resident, no chat: no bundle


def test_each_feature_desk_takes_the_parts_its_handlers_need() -> None:
    def parts(bundle: type) -> list[str]:
        return [field.name for field in fields(bundle)]

    assert parts(WorkDesk) == ["state", "session", "settings", "viewer"]
    assert parts(Desk) == parts(DoorDesk) == parts(WorkDesk)
    assert parts(LearnerDesk) == ["state", "session", "resident", "settings", "viewer"]
    assert parts(ReportDesk) == ["bot", "session", "settings", "viewer", "role"]


async def test_hand_over_gives_messages_and_buttons_the_bundle_by_name() -> None:
    router = Router()
    Pair.hand_over(router, "pair")

    async def handler(event: Any, data: dict[str, Any]) -> Any:
        return data.get("pair")

    for observer in (router.message, router.callback_query):
        [middleware] = list(observer.middleware)
        assert isinstance(middleware, HandOver)
        data: dict[str, Any] = {"session": "s", "viewer": "v"}
        assert await middleware(handler, object(), data) == Pair("s", "v")
        assert await middleware(handler, object(), {"viewer": "v"}) is None
