"""Unexpected errors: logged with the update, the resident told in their language."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.screens import Viewer

router = Router(name=__name__)
logger = logging.getLogger(__name__)


@router.errors()
async def report_error(event: ErrorEvent, i18n: I18n, viewer: Viewer | None = None) -> bool:
    logger.exception("Update %s failed", event.update.update_id, exc_info=event.exception)
    # Errors surface outside the i18n middleware, so the resident's language is set again here.
    # (The viewer, not the resident row: the failed transaction has expired the row.)
    locale = viewer.locale if viewer is not None else i18n.default_locale
    with i18n.context(), i18n.use_locale(locale):
        text = _("Sorry, something went wrong on our side. Please try again or open the /menu.")
    try:
        user = event.update.event.from_user if hasattr(event.update.event, "from_user") else None
        if user is not None and event.update.bot is not None:
            await event.update.bot.send_message(user.id, text)
    except Exception:  # the apology itself must never take the bot down
        logger.exception("Could not tell the resident about the error")
    return True
