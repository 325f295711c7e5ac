"""/revoke CODE: an administrator revokes a certificate; its QR then answers "revoked"."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters import CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.permissions import protect
from bot.screens.learners import certificates as screens
from bot.screens.view import Viewer
from catalogue.learners.certificates import revoke
from catalogue.models import utc_now
from catalogue.team import Permission

router = protect(Router(name=__name__), Permission.REVOKE_CERTIFICATES)


@router.message(Command("revoke"))
async def revoke_certificate(
    message: Message, command: CommandObject, session: AsyncSession, viewer: Viewer
) -> None:
    code = (command.args or "").strip()
    if not code:
        await message.answer(screens.revoke_usage())
        return
    verification = await revoke(session, code, message.from_user.id, utc_now())
    await message.answer(screens.revoked(viewer, verification))
