"""Buttons of /team: the list, invitations, removing someone (handlers/team.py)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id
from catalogue.team import Role

# -- team (handlers/team.py)


class ShowTeam(CallbackData, prefix="tml"):
    pass


class NewInvite(CallbackData, prefix="tmi"):
    role: Role


class RevokeInvite(CallbackData, prefix="tmr"):
    invite_id: Id


class RemoveMember(CallbackData, prefix="tmd"):
    telegram_id: int
    confirmed: bool = False
