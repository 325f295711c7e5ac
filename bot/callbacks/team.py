"""Buttons of /team: the list page by page, invitations, removing someone (handlers/team.py).

Each carries the page it was pressed on, so the list comes back where the administrator was.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id
from bot.callbacks import Page
from bot.callbacks import TelegramId
from catalogue.team import Role


class TeamButton(CallbackData, prefix="tm"):
    """A button of the team's list: the page it was pressed on comes first ("tmr:2:17")."""

    page: Page = 0


class ShowTeam(TeamButton, prefix="tml"):
    """The team's list at `page`."""


class NewInvite(CallbackData, prefix="tmi"):
    """A fresh one-time link for someone to join as `role`."""

    role: Role


class RevokeInvite(TeamButton, prefix="tmr"):
    """Withdraw an open invitation: its link stops working."""

    invite_id: Id


class RemoveMember(TeamButton, prefix="tmd"):
    """Take someone's role away; asks first, then again with `confirmed`."""

    telegram_id: TelegramId
    confirmed: bool = False
