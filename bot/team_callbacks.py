"""Callback data of the team's buttons: team, programme, broadcasts.

Like every callback, never trusted: the routers handling them are `protect()`ed (role checked
on each press) and the handlers re-check that what an id points at still exists.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id
from catalogue.team import Role

# -- team (handlers/team.py)


class ShowTeam(CallbackData, prefix="tml"):
    pass


class NewInvite(CallbackData, prefix="tmi"):
    role: Role


class RevokeInvite(CallbackData, prefix="tmr"):
    invite_id: Id


class RemoveMember(CallbackData, prefix="tmd"):
    telegram_id: int
    confirmed: bool = False


# -- programme (handlers/programme.py)


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


# -- broadcasts (handlers/broadcast.py)


class BroadcastPick(CallbackData, prefix="bcp"):
    """A button answering the current step of the broadcast form."""

    value: str


class BroadcastAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


class BroadcastControl(CallbackData, prefix="bcc"):
    """Pause, Resume or Cancel under a broadcast's progress message."""

    broadcast_id: Id
    action: BroadcastAction
