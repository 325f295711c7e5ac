"""Buttons of the feedback prompt after an attended session (handlers/feedback.py)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id


class RateSession(CallbackData, prefix="fb"):
    session_id: Id
    score: Id


class SkipComment(CallbackData, prefix="fbs"):
    session_id: Id
