"""/revoke CODE: an administrator revokes a certificate; its QR then answers "revoked"."""

from __future__ import annotations

from aiogram import F
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.permissions import protect
from bot.screens.learners import certificates as screens
from bot.screens.view import Viewer
from catalogue.learners.certificates import revoke
from catalogue.models import utc_now
from catalogue.team import Permission

router = protect(Router(name=__name__), Permission.REVOKE_CERTIFICATES)


@router.message(Command("revoke", magic=F.args.as_("code")))
async def revoke_certificate(
    message: Message, code: str, session: AsyncSession, viewer: Viewer
) -> None:
    verification = await revoke(session, code.strip(), message.from_user.id, utc_now())
    await message.answer(screens.revoked(viewer, verification))


@router.message(Command("revoke"))
async def revoke_without_a_code(message: Message) -> None:
    await message.answer(screens.revoke_usage())
