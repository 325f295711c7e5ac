"""Buttons of search results. The query itself lives in the resident's FSM data, not in the
button (Telegram allows 64 bytes of callback data): a button from an old search explains itself."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id
from bot.callbacks import OfferButton


class SearchToggle(StrEnum):
    FREE = "free"
    STEP_FREE = "step"
    THIS_WEEK = "week"
    MY_TRACK = "track"
    NEAR_ME = "near"


class SearchPage(CallbackData, prefix="sp"):
    page: Id


class SearchResult(OfferButton, prefix="sr"):
    """An offer's card, opened from a page of search results drawn before results counted
    their openings (handlers/browse.py); new pages carry `OpenSearchResult`."""

    page: Id = 0


class ToggleSearchFilter(CallbackData, prefix="sf"):
    name: SearchToggle


class SearchFor(CallbackData, prefix="sq"):
    """A "did you mean" spelling: searching for it is one press."""

    text: str


class OpenSearchResult(OfferButton, prefix="so"):
    """An offer's card, opened from a page of search results; counts the search as met."""

    page: Id = 0


class SearchAsTyped(CallbackData, prefix="sa"):
    """Search the words as typed, not the correction shown ("Showing results for «…»")."""


class DemandReport(CallbackData, prefix="dem"):
    """/report: the queries residents made that found nothing or were never opened."""
