"""/passport and the menu's "Learning passport": what the resident attended and completed.

Opening it also records any completion the rules now grant (`passport_of` says how).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.learners import OpenPassport
from bot.screens.learners.passport import completed_note
from bot.screens.learners.passport import passport_view
from bot.screens.view import Viewer
from bot.screens.view import show
from catalogue.learners.follow_up import follow_up_check_ins
from catalogue.learners.passport import passport_of
from catalogue.learners.tracks import completions_by_id
from catalogue.models import Resident
from catalogue.models import utc_now
from handlers.learners.common import LearnerDesk

router = Router(name=__name__)


@router.message(Command("passport"))
@router.callback_query(OpenPassport.filter())
async def passport(event: Message | CallbackQuery, desk: LearnerDesk) -> None:
    await show(event, passport_view(desk.viewer, await passport_of(desk.session, desk.resident.id)))


async def after_self_check_in(
    message: Message, session: AsyncSession, resident: Resident, viewer: Viewer, offer_id: int
) -> None:
    """A resident checked themselves in: what they just completed is shown at once (before the
    check-in's own answer, which stays the latest message); the questions about themselves,
    if never asked, follow through the outbox."""
    checked_in = {resident.id: resident.telegram_id}
    new = await follow_up_check_ins(session, checked_in, utc_now(), offer_id=offer_id, in_chat=True)
    if new:
        found = await completions_by_id(session, (completion.id for completion in new))
        for _resident_id, item in found.values():  # earliest first
            await show(message, completed_note(viewer, item))
