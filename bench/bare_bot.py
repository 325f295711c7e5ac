"""The anchor process for bench/updates.py: a bare aiogram bot that long-polls and answers."""

import asyncio
import os

from aiogram import Bot
from aiogram import Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dispatcher = Dispatcher()


@dispatcher.message()
async def answer(message: Message) -> None:
    await message.answer("Hello")


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["BOT_API_URL"]))
    await dispatcher.start_polling(Bot(os.environ["BOT_TOKEN"], session=session))


if __name__ == "__main__":
    asyncio.run(main())
