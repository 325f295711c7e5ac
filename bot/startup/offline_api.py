"""An in-memory Bot API: what `learncity chat`, the tests and the fake HTTP server talk to.

`OfflineTelegram` answers Bot API methods the way Telegram does (message ids, edits, the
"message is not modified" error) and remembers every chat's messages. `OfflineSession` plugs it
into aiogram at the HTTP-session boundary, so the dispatcher, handlers and serialisation all run
for real; only the network is missing.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncGenerator
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import BufferedInputFile

from bot.screens.view import MESSAGE_LIMIT
from bot.screens.view import rendered_length

BOT_USER = {
    "id": 100000,
    "is_bot": True,
    "first_name": "Learning City",
    "username": "learncity_bot",
}
# Bot API fields that arrive JSON-encoded in form data.
JSON_FIELDS = {
    "reply_markup",
    "entities",
    "commands",
    "scope",
    "results",
    "media",
    "link_preview_options",
}


class BotApiError(Exception):
    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def as_response(self) -> dict[str, Any]:
        response: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            response["parameters"] = {"retry_after": self.retry_after}
        return response


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    # When the call arrived (wall clock), for measuring how late a message was.
    at: float = field(default_factory=time.time)
    # False when Telegram refused it (blocked chat, 429, an injected error).
    ok: bool = True


@dataclass
class ChatMessage:
    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None = None
    from_bot: bool = True
    document_name: str | None = None

    def buttons(self) -> list[dict[str, Any]]:
        """Inline buttons in reading order."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass
class OfflineTelegram:
    """Chats, messages and the Bot API methods a learning city bot uses."""

    calls: list[ApiCall] = field(default_factory=list)
    messages: dict[tuple[int, int], ChatMessage] = field(default_factory=dict)
    listeners: list[Callable[[str, ChatMessage], None]] = field(default_factory=list)
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    # Telegram's refusals, for delivery tests: chats that blocked the bot (403), chats that
    # do not exist (400), errors the next sends meet one each (e.g. a 502), and a global
    # limit on sends per second answered with 429 and `retry_after`.
    blocked_chats: set[int] = field(default_factory=set)
    missing_chats: set[int] = field(default_factory=set)
    next_errors: list[BotApiError] = field(default_factory=list)
    sends_per_second: int | None = None
    retry_after: int = 1
    _recent_sends: list[float] = field(default_factory=list)
    # Telegram's other limit: about one message a second to the same chat (429 when faster).
    per_chat_interval: float | None = None
    _last_send_to: dict[int, float] = field(default_factory=dict)
    # Files people sent to the bot, by file_id: what getFile and downloads serve.
    files: dict[str, bytes] = field(default_factory=dict)
    # Files the bot sent (OfflineSession only), by file name.
    sent_files: dict[str, bytes] = field(default_factory=dict)

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        params = {key: _decoded(key, value) for key, value in params.items()}
        call = ApiCall(method, params)
        self.calls.append(call)
        if method.lower().startswith("send"):
            try:
                self._refuse_if_told(params)
            except BotApiError:
                call.ok = False
                raise
        handler = getattr(self, f"_{method.lower()}", None)
        if handler is None:
            return True  # setMyCommands, answerCallbackQuery, sendChatAction and the like
        return handler(params)

    # -- what the person sees

    def chat_messages(self, chat_id: int) -> list[ChatMessage]:
        return [message for (chat, _), message in sorted(self.messages.items()) if chat == chat_id]

    def last_bot_message(self, chat_id: int) -> ChatMessage | None:
        messages = [message for message in self.chat_messages(chat_id) if message.from_bot]
        return messages[-1] if messages else None

    def record_incoming(self, chat_id: int, text: str) -> ChatMessage:
        message = ChatMessage(chat_id, next(self._message_ids), text, from_bot=False)
        self.messages[(chat_id, message.message_id)] = message
        return message

    def upload(self, content: bytes) -> str:
        """Keep a file a person sends; returns its file_id."""
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = content
        return file_id

    # -- methods

    def _getfile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise BotApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(self.files[file_id]),
            "file_path": f"documents/{file_id}",
        }

    def _getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER | {"can_join_groups": False, "supports_inline_queries": True}

    def _sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._send(params, str(params.get("text", "")))

    def _senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._send(params, str(params.get("caption", "")))
        self.messages[(int(params["chat_id"]), message["message_id"])].document_name = str(
            params.get("document", "")
        )
        return message

    _sendphoto = _senddocument

    def _editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(params)
        text, markup = str(params.get("text", "")), params.get("reply_markup")
        if text == message.text and markup == message.reply_markup:
            raise BotApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message.text, message.reply_markup = text, markup
        self._notify("edit", message)
        return self._as_json(message)

    def _editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._existing(params)
        message.reply_markup = params.get("reply_markup")
        self._notify("edit", message)
        return self._as_json(message)

    def _answercallbackquery(self, params: dict[str, Any]) -> bool:
        if params.get("text"):
            self._notify("alert", ChatMessage(0, 0, str(params["text"])))
        return True

    def _deletemessage(self, params: dict[str, Any]) -> bool:
        self.messages.pop((int(params["chat_id"]), int(params["message_id"])), None)
        return True

    # -- plumbing

    def _refuse_if_told(self, params: dict[str, Any]) -> None:
        chat_id = int(params.get("chat_id", 0))
        if chat_id in self.blocked_chats:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.missing_chats:
            raise BotApiError(400, "Bad Request: chat not found")
        if self.next_errors:
            raise self.next_errors.pop(0)
        if self.per_chat_interval is not None:
            last = self._last_send_to.get(chat_id)
            if last is not None and time.monotonic() - last < self.per_chat_interval:
                raise BotApiError(
                    429,
                    f"Too Many Requests: retry after {self.retry_after}",
                    retry_after=self.retry_after,
                )
        if self.sends_per_second is not None:
            now = time.monotonic()
            self._recent_sends = [at for at in self._recent_sends if at > now - 1.0]
            if len(self._recent_sends) >= self.sends_per_second:
                raise BotApiError(
                    429,
                    f"Too Many Requests: retry after {self.retry_after}",
                    retry_after=self.retry_after,
                )
            self._recent_sends.append(now)
        if self.per_chat_interval is not None:
            self._last_send_to[chat_id] = time.monotonic()

    def accepted(self, method: str = "sendMessage") -> list[ApiCall]:
        """The calls of `method` Telegram accepted (refused ones are in `calls` too)."""
        return [call for call in self.calls if call.method == method and call.ok]

    def _send(self, params: dict[str, Any], text: str) -> dict[str, Any]:
        # Telegram counts what the reader sees (after HTML parsing), as the bot does.
        if rendered_length(text) > MESSAGE_LIMIT:
            raise BotApiError(400, "Bad Request: message is too long")
        chat_id = int(params["chat_id"])
        message = ChatMessage(chat_id, next(self._message_ids), text, params.get("reply_markup"))
        self.messages[(chat_id, message.message_id)] = message
        self._notify("send", message)
        return self._as_json(message)

    def _existing(self, params: dict[str, Any]) -> ChatMessage:
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        if key not in self.messages:
            raise BotApiError(400, "Bad Request: message to edit not found")
        return self.messages[key]

    def _notify(self, event: str, message: ChatMessage) -> None:
        for listener in self.listeners:
            listener(event, message)

    @staticmethod
    def _as_json(message: ChatMessage) -> dict[str, Any]:
        result = _private_message(message.message_id, message.chat_id, BOT_USER, text=message.text)
        # Telegram echoes only inline keyboards; a reply keyboard lives on the person's phone.
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            result["reply_markup"] = message.reply_markup
        return result


def _decoded(key: str, value: Any) -> Any:
    if key in JSON_FIELDS and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


class OfflineSession(BaseSession):
    """aiogram session that hands each request to an OfflineTelegram instead of the network."""

    def __init__(self, telegram: OfflineTelegram | None = None) -> None:
        super().__init__()
        self.telegram = telegram or OfflineTelegram()

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        files: dict[str, Any] = {}
        params = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files)
            if prepared:
                params[key] = prepared
        for key, input_file in files.items():
            # Files are named, not uploaded: the person sees which file the bot sent; what an
            # in-memory file held is kept by name, for tests that open it.
            if isinstance(input_file, BufferedInputFile) and input_file.filename:
                self.telegram.sent_files[input_file.filename] = input_file.data
            params = {
                k: (input_file.filename or key) if v == f"attach://{key}" else v
                for k, v in params.items()
            }
        try:
            body, status = (
                {"ok": True, "result": self.telegram.answer(method.__api_method__, params)},
                200,
            )
        except BotApiError as error:
            body, status = error.as_response(), error.error_code
        response = self.check_response(bot, method, status, json.dumps(body))
        return response.result  # type: ignore[return-value]

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        # …/file/bot<token>/documents/<file_id>, as `getFile` said.
        yield self.telegram.files.get(url.rsplit("/", 1)[-1], b"")

    async def close(self) -> None:
        return None


# -- what residents send: Bot API update objects, as Telegram would deliver them


def _private_message(
    message_id: int, chat_id: int, sender: dict[str, Any], **content: Any
) -> dict[str, Any]:
    """A message of a private chat as the Bot API shows it; `content` is its text, document…"""
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "from": sender,
        **content,
    }


def user_json(user_id: int, language_code: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Resident"}
    if language_code:
        user["language_code"] = language_code
    return user


def message_update(
    update_id: int, user_id: int, message_id: int, text: str, language_code: str | None = None
) -> dict[str, Any]:
    message = _private_message(message_id, user_id, user_json(user_id, language_code), text=text)
    if text.startswith("/"):
        command_length = len(text.split(maxsplit=1)[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": command_length}]
    return {"update_id": update_id, "message": message}


def media_update(
    update_id: int,
    user_id: int,
    message_id: int,
    language_code: str | None = None,
    **content: Any,
) -> dict[str, Any]:
    """A message with a document, a photo or formatted text (`entities`), as Telegram sends it."""
    sender = user_json(user_id, language_code)
    return {
        "update_id": update_id,
        "message": _private_message(message_id, user_id, sender, **content),
    }


def callback_update(
    update_id: int,
    user_id: int,
    pressed: ChatMessage,
    data: str,
    language_code: str | None = None,
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": str(update_id),
            "from": user_json(user_id, language_code),
            "chat_instance": str(user_id),
            "data": data,
            "message": _private_message(pressed.message_id, user_id, BOT_USER, text=pressed.text),
        },
    }
