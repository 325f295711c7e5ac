"""Server-side authorisation of every privileged command and button.

A feature router for the team is `protect()`ed with the permission it needs: its handlers run
only for people whose role has it. Anyone else who reaches such a handler (by typing the
command, or by pressing a button with forged `callback_data`) gets a polite refusal and the
handler never runs, so nothing changes. A resident hears that it is for the festival team; a
team member hears what their own role may do instead. `HasPermission` is the quiet variant
for input that a resident may also send (a file, say): it simply does not match, and the
update goes on to the next router.
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram import Router
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.types import TelegramObject
from aiogram.types import User
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.command_menus import TEAM_COMMANDS
from bot.screens.team import role_label
from bot.settings import Settings
from catalogue.team import Permission
from catalogue.team import Role
from catalogue.team import may
from catalogue.team import role_of

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


async def caller_role(data: dict[str, Any]) -> Role:
    """The role of whoever sent the update, worked out once per update and kept in `data`."""
    if "role" not in data:
        user: User | None = data.get("event_from_user")
        session: AsyncSession | None = data.get("session")
        settings: Settings = data["settings"]
        if user is None or session is None:
            data["role"] = Role.RESIDENT
        else:
            data["role"] = await role_of(session, user.id, settings.admin_ids)
    return data["role"]


class RequirePermission(BaseMiddleware):
    """Inner middleware: refuse politely unless the caller's role grants `permission`."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        role = await caller_role(data)
        if may(role, self.permission):
            return await handler(event, data)
        state: FSMContext | None = data.get("state")
        if state is not None:
            # A form left open when the role was taken away ends here.
            await state.clear()
        text = refusal(role)
        answer: CallbackAnswer | None = data.get("callback_answer")
        if isinstance(event, CallbackQuery):
            # An alert holds 200 characters: the first line, without the list of commands.
            text = text.split("\n", 1)[0]
        if isinstance(event, CallbackQuery) and answer is not None:
            answer.text, answer.show_alert = text, True
        elif isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
        return None


def refusal(role: Role = Role.RESIDENT) -> str:
    """Why not, in the caller's terms: a resident is pointed to the menu, a team member to
    the commands of their own role."""
    if role is Role.RESIDENT:
        return _("Sorry, this is only for the festival team. Open the /menu to see what I can do.")
    lines = [
        _("Your role in the festival team is {role}, and this is not part of it.").format(
            role=role_label(role)
        ),
        _("With your role you may use:"),
    ]
    lines += [
        f"/{name} — {text}" for name, text, permission in TEAM_COMMANDS if may(role, permission)
    ]
    return "\n".join(lines)


def protect(router: Router, permission: Permission) -> Router:
    """Every message and button handler of `router` needs `permission`."""
    router.message.middleware(RequirePermission(permission))
    router.callback_query.middleware(RequirePermission(permission))
    router.protected_by = permission  # type: ignore[attr-defined]  # read by the tests
    return router


class HasPermission(Filter):
    """Matches only for callers allowed `permission`; others pass on to the next handlers."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, event: TelegramObject, **data: Any) -> bool:
        role = await caller_role(data)
        return may(role, self.permission)
