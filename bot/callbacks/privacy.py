"""Callback data of the privacy buttons (handlers/privacy.py)."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class PrivacyAction(StrEnum):
    EXPORT = "export"
    FORGET = "forget"  # asks to confirm
    CONFIRM = "confirm"  # deletes
    KEEP = "keep"  # changed their mind


class Privacy(CallbackData, prefix="prv"):
    action: PrivacyAction
