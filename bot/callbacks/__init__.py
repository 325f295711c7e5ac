"""Callback data of every inline button, one module per feature beside its screens.

Short prefixes keep under Telegram's 64 bytes. Nothing here is trusted: handlers re-check that
what an id points at still exists and that the person may act on it.

A button about one session or one offer derives from `SessionButton` or `OfferButton`: its own
prefix says what pressing it does, and the id comes first in its packed form ("pgs:42").
"""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# A number in callback data (an id, a page) outside what a PostgreSQL integer column can hold
# makes the button match no handler, so it meets the "out of date" reply rather than an error
# from the database. (Found by tests/test_fuzz.py.)
Id = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
# A Telegram user id in a button (a team member's seat): positive and at most 52 bits
# (Telegram's own bound), so a forged one matches no handler rather than overflowing a BIGINT.
TelegramId = Annotated[int, Field(ge=1, le=2**52)]

# A page of a paged list, counted from 0: a negative or absurd one matches no handler and meets
# the "out of date" reply; one past the last page shows the last page.
Page = Annotated[int, Field(ge=0, le=100_000)]


class SessionButton(CallbackData, prefix="session"):
    """A button about one session (no button is sent with this prefix: only its subclasses')."""

    session_id: Id


class OfferButton(CallbackData, prefix="offer"):
    """A button about one offer (no button is sent with this prefix: only its subclasses')."""

    offer_id: Id
