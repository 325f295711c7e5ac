"""A local Bot API HTTP server for end-to-end tests and benchmarks (`BOT_API_URL`).

It speaks the Bot API over real HTTP: the bot process under test cannot tell it from Telegram.
Methods are answered by `bot.offline.OfflineTelegram`, the same model of Telegram the local chat
uses; this adds the network, `getUpdates` long polling and ways to play the residents' side.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.offline import ApiCall, BotApiError, OfflineTelegram, callback_update, message_update

LONG_POLL_CAP = 1.0  # seconds; short, so a stopping bot does not hang the test


class FakeBotApi:
    def __init__(self) -> None:
        self.telegram = OfflineTelegram()
        self.pending: list[dict[str, Any]] = []
        self.update_ids = itertools.count(1)
        self.polls = 0
        self.first_poll_at: float | None = None
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""
        # The next this many send requests lose their connection: a network error for the bot.
        self.drop_sends = 0

    # -- server

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        form = await request.post()
        params = {key: value for key, value in form.items() if isinstance(value, str)}
        params.update(
            {key: value.filename for key, value in form.items() if hasattr(value, "filename")}
        )
        if method.lower() == "getupdates":
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        if self.drop_sends and method.lower().startswith("send"):
            self.drop_sends -= 1
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=499)
        try:
            result = self.telegram.answer(method, params)
        except BotApiError as error:
            return web.json_response(error.as_response(), status=error.error_code)
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.polls += 1
        if self.first_poll_at is None:
            self.first_poll_at = time.monotonic()
        offset = int(params.get("offset", 0))
        self.pending = [update for update in self.pending if update["update_id"] >= offset]
        if not self.pending:
            self._new_update.clear()
            timeout = min(float(params.get("timeout", 0)), LONG_POLL_CAP)
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout)
            except TimeoutError:
                return []
        return self.pending[:100]

    # -- the residents' side

    def _push(self, update: dict[str, Any]) -> None:
        self.pending.append(update)
        self._new_update.set()

    def send_text(self, user_id: int, text: str, language_code: str = "en") -> None:
        incoming = self.telegram.record_incoming(user_id, text)
        self._push(
            message_update(next(self.update_ids), user_id, incoming.message_id, text, language_code)
        )

    def press(self, user_id: int, label: str, language_code: str = "en") -> None:
        """Press the button labelled `label` on the latest keyboard the bot showed this user."""
        for message in reversed(self.telegram.chat_messages(user_id)):
            buttons = message.buttons()
            if not buttons:
                continue
            for button in buttons:
                if label in button["text"]:
                    update_id = next(self.update_ids)
                    data = button["callback_data"]
                    self._push(callback_update(update_id, user_id, message, data, language_code))
                    return
            raise AssertionError(f"no button {label!r} among {[b['text'] for b in buttons]}")
        raise AssertionError("the bot has shown no keyboard")

    def calls(self, method: str) -> list[ApiCall]:
        return [call for call in self.telegram.calls if call.method == method]

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the bot did not do what was expected in time")
            await asyncio.sleep(0.02)

    def screen(self, user_id: int) -> str:
        message = self.telegram.last_bot_message(user_id)
        return message.text if message else ""
