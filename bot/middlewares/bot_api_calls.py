"""The shape every Bot API request middleware of the bot shares: something done around each call
the bot makes to Telegram (commit first, count the outcome, retry), but not around `getUpdates`,
which only polls for updates and which aiogram's polling paces with a back-off of its own.

A subclass writes `around(method, send)`: `send()` makes the call (the next middleware's, or
Telegram's), and may be awaited again to retry it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from functools import partial

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.methods import GetUpdates
from aiogram.methods import Response
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

SendRequest = Callable[[], Awaitable[Response[TelegramType]]]


class AroundBotApiCalls(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, GetUpdates):
            return await make_request(bot, method)
        return await self.around(method, partial(make_request, bot, method))

    async def around(
        self, method: TelegramMethod[TelegramType], send: SendRequest[TelegramType]
    ) -> Response[TelegramType]:
        raise NotImplementedError
