"""Buttons of browsing: the menu, categories, tracks, offer lists and offer cards."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id
from bot.callbacks import OfferButton


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


class ShowOffer(OfferButton, prefix="off"):
    """The offer's card."""

    # Where Back leads: the track's list page the resident came from (0 = the main menu).
    track_id: Id = 0
    page: Id = 0


class PageCounter(CallbackData, prefix="nop"):
    """The "2 / 5" button between Back and Next: it only explains itself."""
