"""Buttons of passes, check-in at the door, feedback and reports.

Nothing here is trusted: the handlers look every session up again, check that it is today,
that the caller may check people in (or see reports), and that a rater attended.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id


class ChooseAgeBand(CallbackData, prefix="age"):
    """On /pass: the resident's age band ("-" to say nothing)."""

    band: str


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


class RateSession(CallbackData, prefix="fb"):
    session_id: Id
    score: Id


class SkipComment(CallbackData, prefix="fbs"):
    session_id: Id


class ReportFor(CallbackData, prefix="rep"):
    """A report from the /report picker: `kind` is today/week/month or festival."""

    kind: str
    target: Id = 0
