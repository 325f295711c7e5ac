"""Buttons of check-in at the door (handlers/checkin_volunteer.py)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id
from bot.callbacks import SessionButton


class CheckInSessions(CallbackData, prefix="cia"):
    """Today's sessions again (all of them, or the venues when there are many)."""


class CheckInVenue(CallbackData, prefix="civ"):
    """Today's sessions at one venue; 0: those without a venue (online)."""

    venue_id: Id


class CheckInSession(SessionButton, prefix="cis"):
    """Start checking people in to this session."""


class SelfCheckInQr(SessionButton, prefix="ciq"):
    """Show (a fresh) QR that residents scan to check themselves in."""


class StopCheckIn(CallbackData, prefix="cix"):
    """Leave check-in."""
