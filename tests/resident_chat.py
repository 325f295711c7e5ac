"""A resident's side of the conversation, for tests that read like what a person does.

It is the local chat (`bot.startup.local_chat.LocalChat`) with a few conveniences: press a button by
its label, read the screen, list the Bot API calls made. Telegram is replaced only at the
aiogram session boundary, so the dispatcher, middlewares, filters and handlers run for real.
"""

from __future__ import annotations

import itertools

from aiogram.types import User

from bot.startup.app import App
from bot.startup.local_chat import LocalChat
from bot.startup.offline_api import ApiCall
from bot.startup.offline_api import ChatMessage
from bot.startup.offline_api import media_update

UPDATE_IDS = itertools.count(1)


class ResidentChat(LocalChat):
    def __init__(self, app: App, user_id: int, language_code: str = "en") -> None:
        user = User(id=user_id, is_bot=False, first_name="Resident", language_code=language_code)
        super().__init__(app, user=user, write=lambda _text: None)
        # One numbering for every chat of a test run: the dispatcher drops an update_id it saw.
        self.update_ids = UPDATE_IDS

    @property
    def screen(self) -> ChatMessage:
        """The bot's latest message in this chat, as the resident sees it now."""
        message = self.telegram.last_bot_message(self.user.id)
        assert message is not None, "the bot has not said anything yet"
        return message

    def labels(self) -> list[str]:
        return [button["text"] for button in self.screen.buttons()]

    async def send(self, text: str) -> ChatMessage:
        await self._send(text)
        return self.screen

    async def press(self, label: str) -> ChatMessage:
        """Press the first button on the latest keyboard whose label contains `label`."""
        keyboard = self._last_keyboard()
        assert keyboard is not None, "there is no keyboard to press"
        for button in keyboard.buttons():
            if label in button["text"]:
                await self._press(keyboard, button["callback_data"])
                return self.screen
        raise AssertionError(f"no button {label!r} among {[b['text'] for b in keyboard.buttons()]}")

    async def press_data(self, callback_data: str) -> ChatMessage:
        """Press a button with arbitrary (possibly forged) callback data."""
        keyboard = self._last_keyboard()
        assert keyboard is not None
        await self._press(keyboard, callback_data)
        return self.screen

    async def send_document(
        self, name: str, content: bytes, caption: str | None = None
    ) -> ChatMessage:
        """Send a file with the 📎 button, as Telegram delivers it (a document with a file_id)."""
        file_id = self.telegram.upload(content)
        document = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": name,
            "file_size": len(content),
        }
        extra = {"caption": caption} if caption else {}
        await self._send_content(caption or name, document=document, **extra)
        return self.screen

    async def send_photo(
        self, caption: str = "", caption_entities: list[dict] | None = None
    ) -> ChatMessage:
        file_id = self.telegram.upload(b"\x89PNG photo")
        sizes = [{"file_id": file_id, "file_unique_id": file_id, "width": 640, "height": 480}]
        extra: dict = {"caption": caption} if caption else {}
        if caption_entities:
            extra["caption_entities"] = caption_entities
        await self._send_content(caption, photo=sizes, **extra)
        return self.screen

    async def send_formatted(self, text: str, entities: list[dict]) -> ChatMessage:
        """Text with formatting (bold, links…), as Telegram's `entities` describe it."""
        await self._send_content(text, text=text, entities=entities)
        return self.screen

    async def send_location(self, latitude: float, longitude: float) -> ChatMessage:
        await self._send_content("📍", location={"latitude": latitude, "longitude": longitude})
        return self.screen

    async def inline_query(self, query: str) -> list[dict]:
        """Type `@bot query` in any chat; returns the results the bot offered."""
        update = {
            "update_id": next(self.update_ids),
            "inline_query": {
                "id": str(next(self.update_ids)),
                "from": {"id": self.user.id, "is_bot": False, "first_name": "Resident",
                         "language_code": self.user.language_code},
                "query": query,
                "offset": "",
            },
        }  # fmt: skip
        await self._feed(update)
        return self.calls("answerInlineQuery")[-1].params["results"]

    async def _send_content(self, shown: str, **content) -> None:
        incoming = self.telegram.record_incoming(self.user.id, shown)
        update = media_update(
            next(self.update_ids),
            self.user.id,
            incoming.message_id,
            self.user.language_code,
            **content,
        )
        await self._feed(update)

    def calls(self, method: str) -> list[ApiCall]:
        return [call for call in self.telegram.calls if call.method == method]

    async def close(self) -> None:
        await self.bot.session.close()
