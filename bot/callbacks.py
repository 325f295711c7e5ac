"""Callback data of every inline button; short prefixes keep under Telegram's 64 bytes.

Nothing here is trusted: handlers re-check that what an id points at still exists.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# A number in callback data (an id, a page) outside what a PostgreSQL integer column can hold
# makes the button match no handler, so it meets the "out of date" reply rather than an error
# from the database. (Found by tests/test_fuzz.py.)
Id = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]


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
    category_id: Id


class ChooseTrack(CallbackData, prefix="trk"):
    track_id: Id
    page: Id = 0


class ShowOffer(CallbackData, prefix="off"):
    offer_id: Id
    # Where Back leads: the track's list page the resident came from (0 = the main menu).
    track_id: Id = 0
    page: Id = 0


class PageCounter(CallbackData, prefix="nop"):
    """The "2 / 5" button between Back and Next: it only explains itself."""


# -- subscriptions, reminders and settings (handlers/subscriptions.py, handlers/settings.py)


class Subscribe(CallbackData, prefix="sub"):
    """Toggle a subscription on the offer card; the card is shown again with the same Back."""

    what: str  # "s" a session, "o" the offer, "t" the track, "f" the festival
    target: Id
    offer_id: Id
    track_id: Id = 0
    page: Id = 0


class Unsubscribe(CallbackData, prefix="uns"):
    """A ✖ button on /my."""

    what: str
    target: Id


class Rsvp(CallbackData, prefix="rsvp"):
    """ "I'm going" (going=1) or "Can't come" (going=0) under a reminder."""

    session_id: Id
    going: Id


class CalendarFile(CallbackData, prefix="ics"):
    session_id: Id


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
    value: Id = 0
