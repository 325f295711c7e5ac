"""Filters checked on the event loop.

aiogram runs any plain callable filter, a magic filter such as `F.text` or a bare `State`, in a
worker thread (`asyncio.to_thread`): a thread hop dearer than the check itself, paid on every
update that passes the handler. Handlers use `Magic(…)` and `StateFilter(…)` instead, and
tests/test_filters.py fails on any filter or handler that would run in a thread.
"""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.filters import Filter
from aiogram.types import TelegramObject
from magic_filter import MagicFilter


class Magic(Filter):
    """A magic filter resolved in place."""

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)


TEXT = Magic(F.text)
NOT_TEXT = Magic(~F.text)
COMMAND = Magic(F.text.startswith("/"))
# Text that is not a command: an answer typed into a form.
TYPED = Magic(F.text & ~F.text.startswith("/"))
