"""Every log line written while an update is handled names that update and its sender.

The logging itself is configured in bot/startup/logs.py, which imports no aiogram, so the
commands that do not talk to Telegram start without it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

import structlog
from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import Update
from aiogram.types import User

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class UpdateLogContext(BaseMiddleware):
    """Binds `update_id`, `update_type` and `user_id` to the log context for one update."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        user: User | None = data.get("event_from_user")
        context: dict[str, Any] = {"update_id": event.update_id, "update_type": event.event_type}
        if user is not None:
            context["user_id"] = user.id
        with structlog.contextvars.bound_contextvars(**context):
            return await handler(event, data)
