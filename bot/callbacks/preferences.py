"""Buttons of /settings: the resident's reminder preferences."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id


class PreferencesScreen(StrEnum):
    MAIN = "main"
    OFFSETS = "offs"
    QUIET = "quiet"
    ZONE = "zone"
    DIGEST = "dig"


class OpenPreferences(CallbackData, prefix="sets"):
    screen: PreferencesScreen = PreferencesScreen.MAIN


class ChangePreference(CallbackData, prefix="setc"):
    """One change in /settings; `value` is an offset, a preset's number or a day or minute."""

    field: str
    value: Id = 0
