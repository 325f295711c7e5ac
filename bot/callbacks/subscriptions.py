"""Buttons of subscriptions: the card's subscribe toggles, /my, and the buttons under a reminder."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id
from bot.callbacks import Page
from bot.callbacks import SessionButton

# -- subscriptions, reminders and settings (handlers/subscriptions.py, handlers/preferences.py)


class Subscribe(CallbackData, prefix="sub"):
    """Toggle a subscription on the offer card; the card is shown again with the same Back."""

    what: str  # "s" a session, "o" the offer, "t" the track, "f" the festival
    target: Id
    offer_id: Id
    track_id: Id = 0
    page: Id = 0


class Unsubscribe(CallbackData, prefix="uns"):
    """A ✖ button on /my; /my comes back at the `page` it was pressed on."""

    what: str
    target: Id
    page: Page = 0


class MyPage(CallbackData, prefix="myp"):
    """/my at `page` of the resident's upcoming sessions (‹ n / m ›)."""

    page: Page = 0


class Rsvp(SessionButton, prefix="rsvp"):
    """ "I'm going" (going=1) or "Can't come" (going=0) under a reminder."""

    going: Id


class CalendarFile(SessionButton, prefix="ics"):
    """The session as an .ics file for the resident's calendar."""
