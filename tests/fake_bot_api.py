"""A local Bot API HTTP server for end-to-end tests and benchmarks (`BOT_API_URL`).

It speaks the Bot API over real HTTP: the bot process under test cannot tell it from Telegram.
Methods are answered by `bot.startup.offline_api.OfflineTelegram`, the same model of Telegram
the local chat
uses; this adds the network, `getUpdates` long polling and ways to play the residents' side.

Once the bot calls `setWebhook`, updates are posted to it instead, with the secret header, as
Telegram does; `deliver_to` stands for a load balancer in front of several bot processes
(each update goes to the next address in turn).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import ClientSession
from aiohttp import ClientTimeout
from aiohttp import web

from bot.startup.offline_api import ApiCall
from bot.startup.offline_api import BotApiError
from bot.startup.offline_api import OfflineTelegram
from bot.startup.offline_api import callback_update
from bot.startup.offline_api import message_update

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
        # Sends and polls per bot token: which of several bot processes did what.
        self.sends_by_token: Counter[str] = Counter()
        self.polls_by_token: Counter[str] = Counter()
        # Once this many sends were accepted, further send requests wait unanswered until
        # `release_held()`; one whose bot went away meanwhile (killed) is never delivered.
        self.hold_sends_after: int | None = None
        self.held = 0
        self.accepted_sends = 0
        self._release = asyncio.Event()
        # Webhook mode: where `setWebhook` said to post, and what each post was answered.
        self.webhook_url: str | None = None
        self.webhook_secret = ""
        self.deliver_to: list[str] = []
        self.webhook_answers: list[int] = []
        self.delivered: dict[int, dict[str, Any]] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        self._targets = itertools.count()
        self._client: ClientSession | None = None
        # Seconds Telegram takes to answer a send or an edit (slow network), and how many such
        # requests have arrived, answered or not.
        self.reply_delay = 0.0
        self.replies_started = 0

    # -- server

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._deliveries:
            await asyncio.wait(set(self._deliveries))
        if self._client is not None:
            await self._client.close()
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
            self.polls_by_token[request.match_info["token"]] += 1
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        if method.lower() == "setwebhook":
            self.webhook_url = params.get("url") or None
            self.webhook_secret = params.get("secret_token", "")
        elif method.lower() == "deletewebhook":
            self.webhook_url = None
        if method.lower().startswith("send"):
            self.sends_by_token[request.match_info["token"]] += 1
        if self.drop_sends and method.lower().startswith("send"):
            self.drop_sends -= 1
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=499)
        if method.lower().startswith("send") and self._holding():
            self.held += 1
            await self._release.wait()
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499)  # the bot is gone: never reached Telegram
        if method.lower().startswith(("send", "edit")):
            self.replies_started += 1
            if self.reply_delay:
                await asyncio.sleep(self.reply_delay)
                if request.transport is None or request.transport.is_closing():
                    return web.Response(status=499)  # the bot gave up waiting: not delivered
        try:
            result = self.telegram.answer(method, params)
        except BotApiError as error:
            return web.json_response(error.as_response(), status=error.error_code)
        if method.lower().startswith("send"):
            self.accepted_sends += 1
        return web.json_response({"ok": True, "result": result})

    def _holding(self) -> bool:
        if self.hold_sends_after is None or self._release.is_set():
            return False
        return self.accepted_sends >= self.hold_sends_after

    def release_held(self) -> None:
        self._release.set()

    async def _file(self, request: web.Request) -> web.Response:
        """Downloads of files people sent (`getFile` paths): documents/<file_id>."""
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        if file_id not in self.telegram.files:
            return web.Response(status=404)
        return web.Response(body=self.telegram.files[file_id])

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
        self.delivered[update["update_id"]] = update
        if self.webhook_url is not None or self.deliver_to:
            task = asyncio.create_task(self._post(update))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
            return
        self.pending.append(update)
        self._new_update.set()

    def deliver_again(self, update_id: int) -> None:
        """Telegram's redelivery: the same update, same `update_id`, once more."""
        self._push(self.delivered[update_id])

    async def _post(self, update: dict[str, Any], secret: str | None = None) -> int:
        if self._client is None:
            self._client = ClientSession(timeout=ClientTimeout(total=10))
        targets = self.deliver_to or [self.webhook_url or ""]
        target = targets[next(self._targets) % len(targets)]
        headers = {
            "X-Telegram-Bot-Api-Secret-Token": self.webhook_secret if secret is None else secret
        }
        async with self._client.post(target, json=update, headers=headers) as response:
            self.webhook_answers.append(response.status)
            return response.status

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

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the bot did not do what was expected in time")
            await asyncio.sleep(0.02)

    def screen(self, user_id: int) -> str:
        message = self.telegram.last_bot_message(user_id)
        return message.text if message else ""
