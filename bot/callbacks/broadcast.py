"""Buttons of /broadcast: audience picks and control of a running broadcast."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id
from bot.callbacks import Page

# -- broadcasts (handlers/broadcast.py)


class BroadcastPick(CallbackData, prefix="bcp"):
    """A button answering the current step of the broadcast form."""

    value: str


class BroadcastAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


class BroadcastControl(CallbackData, prefix="bcc"):
    """Pause, Resume or Cancel under a broadcast's progress message."""

    broadcast_id: Id
    action: BroadcastAction


class BroadcastPage(CallbackData, prefix="bcpg"):
    """‹ n / m › under a long list of audiences to choose from (tracks, festivals, sessions)."""

    page: Page
