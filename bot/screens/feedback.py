"""Screens of the feedback prompt after an attended session and its answers."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import formatting
from bot.callbacks.feedback import RateSession
from bot.callbacks.feedback import SkipComment
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import button
from bot.screens.view import fit_message
from bot.screens.view import shorten
from catalogue.checkin.feedback import SessionComment
from catalogue.models import Offer
from catalogue.models import OfferSession


def feedback_prompt(viewer: Viewer, offer: Offer, offer_session: OfferSession) -> View:
    when = formatting.short_when(offer_session.starts_at, viewer.zone, viewer.locale)
    text = "\n".join(
        [
            "💬 " + _("How was {title} ({when})?").format(title=viewer.t(offer.title), when=when),
            _("Rate it from 1 (poor) to 5 (excellent): it helps the organisers."),
        ]
    )
    builder = InlineKeyboardBuilder()
    for score in range(1, 6):
        builder.add(button(f"{score} ⭐", RateSession(session_id=offer_session.id, score=score)))
    builder.adjust(5)
    return View(text, builder.as_markup())


def feedback_thanks(session_id: int, score: int) -> View:
    text = "\n".join(
        [
            "🙏 " + _("Thank you! Your rating: {stars}").format(stars="⭐" * score),
            _("Anything to add? Type a comment now, or press Skip."),
        ]
    )
    builder = InlineKeyboardBuilder()
    builder.row(button(_("Skip"), SkipComment(session_id=session_id)))
    return View(text, builder.as_markup())


def feedback_not_allowed() -> str:
    return _("You can rate only the sessions you were checked in to.")


def comment_saved() -> str:
    return _("Thank you, the organisers will read it.")


def comment_skipped() -> str:
    return _("Thank you for your rating!")


def comment_expected() -> str:
    return _("Please type your comment as text, or press Skip.")


COMMENTS_SHOWN = 40  # in one daily message; the rest are in /report
COMMENT_SHOWN = 500  # characters of one comment


def comments_digest(viewer: Viewer, comments: list[SessionComment]) -> View:
    """An organiser's daily message: residents' comments since the day before, by offer and
    session, with each score; never who wrote them."""
    lines = ["💬 <b>" + _("Residents' comments since yesterday") + "</b>"]
    heading = None
    for offer, offer_session, feedback in comments[:COMMENTS_SHOWN]:
        when = formatting.short_when(offer_session.starts_at, viewer.zone, viewer.locale)
        session_heading = f"{viewer.t(offer.title)}, {when}"
        if session_heading != heading:
            lines += ["", "<b>" + session_heading + "</b>"]
            heading = session_heading
        comment = escape(shorten(feedback.comment or "", COMMENT_SHOWN))
        lines.append(f"{'⭐' * feedback.score} {comment}")
    if len(comments) > COMMENTS_SHOWN:
        more = len(comments) - COMMENTS_SHOWN
        lines += ["", _("And {count} more: see /report.").format(count=more)]
    return View(fit_message("\n".join(lines)))
