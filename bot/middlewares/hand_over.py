"""Handing a feature's bundle of services to its handlers under one name.

A feature whose handlers pass the same few services around (the programme's `Desk`, a
resident's search) builds them into one object; this inner middleware puts it in the handler's
data, so a handler names one parameter instead of five. It runs only for a handler that matched.
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any
from typing import TypeVar

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

Bundle = TypeVar("Bundle")


def from_parts(build: Callable[..., Bundle], data: dict[str, Any], *parts: str) -> Bundle | None:
    """`build(*parts)` from the handler data of an update; None when the update lacks one of
    them (no chat, no resident): the usual `of` of a bundle handed over below."""
    if any(part not in data for part in parts):
        return None
    return build(*(data[part] for part in parts))


class HandOver(BaseMiddleware):
    """Inner middleware: `data[name] = build(data)`, unless `build` finds the update lacks a
    part (no chat, no resident) and returns None."""

    def __init__(self, name: str, build: Callable[[dict[str, Any]], Any | None]) -> None:
        self.name = name
        self.build = build

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        bundle = self.build(data)
        if bundle is not None:
            data[self.name] = bundle
        return await handler(event, data)
