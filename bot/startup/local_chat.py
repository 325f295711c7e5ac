"""`learncity chat`: the real dispatcher and handlers in a terminal, no token, no network.

The bot's messages are printed with their inline buttons numbered; the person types text, a
command, or a button's number. Telegram is replaced by `OfflineTelegram` at the HTTP boundary.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import re
import sys
from collections.abc import Callable

from aiogram.types import Update
from aiogram.types import User

from bot.startup.app import App
from bot.startup.dispatcher import create_bot
from bot.startup.mini_app import MiniApp
from bot.startup.offline_api import ChatMessage
from bot.startup.offline_api import OfflineSession
from bot.startup.offline_api import OfflineTelegram
from bot.startup.offline_api import callback_update
from bot.startup.offline_api import message_update

LOCAL_USER = User(id=1, is_bot=False, first_name="Resident", language_code="ru")
TAGS = re.compile(r"</?(b|i|u|s|code|pre|a)( [^>]*)?>")


def render(message: ChatMessage, edited: bool) -> str:
    header = "─── bot (edited) ───" if edited else "─── bot ───"
    lines = [header, html.unescape(TAGS.sub("", message.text))]
    if message.document_name:
        lines.append(f"📎 {message.document_name}")
    for number, button in enumerate(message.buttons(), start=1):
        lines.append(f"  [{number}] {button['text']}")
    return "\n".join(lines)


class LocalChat:
    def __init__(self, app: App, user: User = LOCAL_USER, write: Callable[[str], None] = print):
        self.app = app
        self.user = user
        self.write = write
        self.telegram = OfflineTelegram()
        self.telegram.listeners.append(self._on_bot_output)
        self.bot = create_bot(app.settings, OfflineSession(self.telegram))
        self.update_ids = itertools.count(1)

    def _on_bot_output(self, event: str, message: ChatMessage) -> None:
        if event == "alert":
            self.write(f"(!) {message.text}")
        else:
            self.write(render(message, edited=event == "edit"))

    async def say(self, line: str) -> None:
        """What the person typed: a button number presses that button, anything else is sent."""
        line = line.strip()
        keyboard = self._last_keyboard()
        if line.isdigit() and keyboard is not None:
            buttons = keyboard.buttons()
            number = int(line)
            if not 1 <= number <= len(buttons):
                self.write(f"(there is no button {number}; choose 1–{len(buttons)})")
                return
            chosen = buttons[number - 1]
            if "callback_data" not in chosen:  # a Mini App button: Telegram opens a page
                self.write(f"(opens {chosen.get('web_app', {}).get('url', '')} in Telegram)")
                return
            await self._press(keyboard, chosen["callback_data"])
            return
        await self._send(line)

    def _last_keyboard(self) -> ChatMessage | None:
        for message in reversed(self.telegram.chat_messages(self.user.id)):
            if message.from_bot and message.buttons():
                return message
        return None

    async def _send(self, text: str) -> None:
        incoming = self.telegram.record_incoming(self.user.id, text)
        language = self.user.language_code
        await self._feed(
            message_update(next(self.update_ids), self.user.id, incoming.message_id, text, language)
        )

    async def _press(self, source: ChatMessage, data: str) -> None:
        language = self.user.language_code
        await self._feed(
            callback_update(next(self.update_ids), self.user.id, source, data, language)
        )

    async def _feed(self, update: dict) -> None:
        parsed = Update.model_validate(update, context={"bot": self.bot})
        self.last_result = await self.app.dispatcher.feed_update(self.bot, parsed)


async def run_local_chat(app: App) -> None:
    chat = LocalChat(app)
    mini_app = await start_local_mini_app(app)
    interactive = sys.stdin.isatty()
    if interactive:
        print("Learning City — local chat. A number presses a button; Ctrl+D quits.")
    if mini_app is not None:
        print("\n".join(mini_app.local_links(LOCAL_USER.id, LOCAL_USER.language_code or "ru")))
    if interactive:
        await chat.say("/start")
    while True:
        try:
            line = await asyncio.to_thread(input, "> " if interactive else "")
        except EOFError:
            break
        if line.strip():
            await chat.say(line)
    await chat.bot.session.close()
    if mini_app is not None:
        await mini_app.stop()


async def start_local_mini_app(app: App) -> MiniApp | None:
    """The Mini App beside a token-less local chat (signed for development only); with a token
    the chat is local but the Mini App is not: it would need links Telegram's key signs."""
    if app.settings.bot_token is not None:
        return None
    search = app.dispatcher["catalogue_search"]
    mini_app = MiniApp(app.settings, app.session_maker, app.i18n, search)
    await mini_app.start()
    return mini_app if mini_app.serving else None
