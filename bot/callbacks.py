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
