"""Callback data of every inline button; short prefixes keep under Telegram's 64 bytes.

Nothing here is trusted: handlers re-check that what an id points at still exists.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Screen(StrEnum):
    MENU = "menu"
    CATEGORIES = "cats"
    MY_TRACK = "mine"
    LANGUAGE = "lang"
    HELP = "help"
    MY_SUBSCRIPTIONS = "subs"


class Navigate(CallbackData, prefix="nav"):
    to: Screen


class ChooseLanguage(CallbackData, prefix="lang"):
    code: str


class ChooseCategory(CallbackData, prefix="cat"):
    category_id: int


class ChooseTrack(CallbackData, prefix="trk"):
    track_id: int
    page: int = 0


class ShowOffer(CallbackData, prefix="off"):
    offer_id: int
    # Where Back leads: the track's list page the resident came from (0 = the main menu).
    track_id: int = 0
    page: int = 0


class PageCounter(CallbackData, prefix="nop"):
    """The "2 / 5" button between Back and Next: it only explains itself."""


# -- subscriptions, reminders and settings (handlers/subscriptions.py, handlers/settings.py)


class Subscribe(CallbackData, prefix="sub"):
    """Toggle a subscription on the offer card; the card is shown again with the same Back."""

    what: str  # "s" a session, "o" the offer, "t" the track, "f" the festival
    target: int
    offer_id: int
    track_id: int = 0
    page: int = 0


class Unsubscribe(CallbackData, prefix="uns"):
    """A ✖ button on /my."""

    what: str
    target: int


class Rsvp(CallbackData, prefix="rsvp"):
    """"I'm going" (going=1) or "Can't come" (going=0) under a reminder."""

    session_id: int
    going: int


class CalendarFile(CallbackData, prefix="ics"):
    session_id: int


class SettingsScreen(StrEnum):
    MAIN = "main"
    OFFSETS = "offs"
    QUIET = "quiet"
    ZONE = "zone"
    DIGEST = "dig"


class OpenSettings(CallbackData, prefix="sets"):
    screen: SettingsScreen = SettingsScreen.MAIN


class ChangeSetting(CallbackData, prefix="setc"):
    """One change in /settings; `value` is an offset, a preset's number or a day or minute."""

    field: str
    value: int = 0
