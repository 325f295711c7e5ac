"""Buttons of the feedback prompt after an attended session (handlers/feedback.py)."""

from __future__ import annotations

from bot.callbacks import Id
from bot.callbacks import SessionButton


class RateSession(SessionButton, prefix="fb"):
    """A score (1–5) for an attended session."""

    score: Id


class SkipComment(SessionButton, prefix="fbs"):
    """No comment after the score."""
