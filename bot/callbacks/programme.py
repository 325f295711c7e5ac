"""Buttons of programme management: offers, sessions, the forms and imports.

Handled by the dialogues of handlers/programme/.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id

# -- programme (handlers/programme/)


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
    pass


class NewOffer(CallbackData, prefix="pgn"):
    pass


class OpenOffer(CallbackData, prefix="pgo"):
    offer_id: Id


class EditOffer(CallbackData, prefix="pge"):
    """No field: choose what to change; a field: change it."""

    offer_id: Id
    field: OfferField | None = None


class FormPick(CallbackData, prefix="pgp"):
    """A button answering the current step of a form; what it means depends on the step."""

    value: str


class AddSession(CallbackData, prefix="pga"):
    offer_id: Id


class OpenSession(CallbackData, prefix="pgs"):
    session_id: Id


class RescheduleSession(CallbackData, prefix="pgr"):
    session_id: Id


class CancelSession(CallbackData, prefix="pgx"):
    session_id: Id
    confirmed: bool = False


class ImportFile(CallbackData, prefix="pgi"):
    """Wait for a file; with an offer, an .ics file's events become its sessions."""

    offer_id: Id = 0
