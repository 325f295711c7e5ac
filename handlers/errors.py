"""Errors: the catalogue's refusals answered in the person's language; anything else logged with
the update and apologised for. First in line, so every router's errors come here.

A button press has one answer (Telegram refuses a second), and aiogram's
`CallbackAnswerMiddleware` gives it on the way out of a handler, even a failing one:
`LeaveRefusedPressesUnanswered`, inside it, keeps that answer for the refusal's alert.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import BaseMiddleware
from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent
from aiogram.types import TelegramObject
from aiogram.types import User
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import best_locale
from bot.middlewares.database import Handler
from bot.screens.errors import explain
from bot.screens.view import BUTTON_ALERT_LIMIT
from bot.screens.view import Viewer
from bot.screens.view import shorten
from bot.settings import Settings
from catalogue.errors import DomainError

router = Router(name=__name__)
logger = logging.getLogger(__name__)


class LeaveRefusedPressesUnanswered(BaseMiddleware):
    """Inner middleware of button presses, registered after `CallbackAnswerMiddleware`: a
    press whose handler raised a `DomainError` is left for `explain_refusal` to answer."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except DomainError:
            answer: CallbackAnswer | None = data.get("callback_answer")
            if answer is not None and not answer.answered:
                answer.disabled = True
            raise


@router.errors(ExceptionTypeFilter(DomainError))
async def explain_refusal(
    event: ErrorEvent, i18n: I18n, settings: Settings, viewer: Viewer | None = None
) -> bool:
    """A `DomainError` a handler let rise: its transaction is already rolled back."""
    # Times in the answer read in the city's zone when the person is not known.
    viewer = viewer or Viewer(i18n.default_locale, settings.city_zone)
    with i18n.context(), i18n.use_locale(viewer.locale):
        text = explain(event.exception, viewer)
    update = event.update
    if update.callback_query is not None:
        # A button's answer is a short alert; the refusal is said there, not in a new message.
        await update.callback_query.answer(shorten(text, BUTTON_ALERT_LIMIT), show_alert=True)
    elif update.message is not None:
        await update.message.answer(text)
    return True


@router.errors()
async def report_error(
    event: ErrorEvent, i18n: I18n, settings: Settings, viewer: Viewer | None = None
) -> bool:
    # (A database that cannot be reached is logged once per change by bot/startup/app.py's
    # filter, not here once per update.)
    logger.exception("Update %s failed", event.update.update_id, exc_info=event.exception)
    user: User | None = getattr(event.update.event, "from_user", None)
    # Errors surface outside the i18n middleware, so the resident's language is set again here:
    # the viewer's (not the resident row: the failed transaction has expired the row), or,
    # when the failure came before the resident was known, their Telegram interface's.
    if viewer is not None:
        locale = viewer.locale
    else:
        language = user.language_code if user is not None else None
        locale = best_locale(language, settings.default_locale)
    with i18n.context(), i18n.use_locale(locale):
        text = _("Sorry, something went wrong on our side. Please try again or open the /menu.")
    try:
        if user is not None and event.update.bot is not None:
            await event.update.bot.send_message(user.id, text)
    except Exception:  # the apology itself must never take the bot down
        logger.exception("Could not tell the resident about the error")
    return True
