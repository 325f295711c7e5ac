"""Buttons of programme management: offers, sessions, the forms and imports.

Handled by the dialogues of handlers/programme/.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id
from bot.callbacks import OfferButton
from bot.callbacks import Page
from bot.callbacks import SessionButton


class OfferField(StrEnum):
    TITLE = "title"
    KIND = "kind"
    FORMAT = "format"
    LANGUAGE = "language"
    PROVIDER = "provider"
    FESTIVAL = "festival"
    DESCRIPTION = "description"
    PRICE = "price"
    AGES = "ages"


class ProgrammeHome(CallbackData, prefix="pgh"):
    """Back to /programme."""


class NewOffer(CallbackData, prefix="pgn"):
    """Start the form of a new offer."""


class FormPick(CallbackData, prefix="pgp"):
    """A button answering the current step of a form; what it means depends on the step."""

    value: str


class ImportFile(CallbackData, prefix="pgi"):
    """Wait for a file; with an offer, an .ics file's events become its sessions."""

    offer_id: Id = 0


# -- one offer


class OpenOffer(OfferButton, prefix="pgo"):
    """The offer's management screen at `page` of its upcoming sessions."""

    page: Page = 0


class EditOffer(OfferButton, prefix="pge"):
    """No field: choose what to change; a field: change it."""

    field: OfferField | None = None


class AddSession(OfferButton, prefix="pga"):
    """Start the form of a new session of the offer."""


# -- one session


class OpenSession(SessionButton, prefix="pgs"):
    """The session's management screen."""


class RescheduleSession(SessionButton, prefix="pgr"):
    """Start moving the session to another time."""


class CancelSession(SessionButton, prefix="pgx"):
    """Ask to confirm; confirmed: cancel the session and tell its residents."""

    confirmed: bool = False
