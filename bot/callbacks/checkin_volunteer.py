"""Buttons of check-in at the door (handlers/checkin_volunteer.py)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id


class CheckInSessions(CallbackData, prefix="cia"):
    """Today's sessions again (all of them, or the venues when there are many)."""


class CheckInVenue(CallbackData, prefix="civ"):
    """Today's sessions at one venue; 0: those without a venue (online)."""

    venue_id: Id


class CheckInSession(CallbackData, prefix="cis"):
    """Start checking people in to this session."""

    session_id: Id


class SelfCheckInQr(CallbackData, prefix="ciq"):
    """Show (a fresh) QR that residents scan to check themselves in."""

    session_id: Id


class StopCheckIn(CallbackData, prefix="cix"):
    pass
