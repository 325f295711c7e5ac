"""Screens of /broadcast: compose, audience with its count, schedule, confirm, progress, report.

The preview is not drawn here: it is the announcement itself, sent to the organiser exactly as
residents will get it (handlers/broadcast.py sends it with the same text, photo and parse mode).
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from html import escape

from aiogram.types import InlineKeyboardButton
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_timedelta
from babel.numbers import format_decimal

from bot import formatting
from bot.callbacks.broadcast import BroadcastAction
from bot.callbacks.broadcast import BroadcastControl
from bot.callbacks.broadcast import BroadcastPage
from bot.callbacks.broadcast import BroadcastPick
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import button
from bot.screens.view import pager
from catalogue.outbox.broadcasts import SESSION_AUDIENCES
from catalogue.outbox.broadcasts import AudienceKind
from catalogue.outbox.broadcasts import Broadcast
from catalogue.outbox.broadcasts import BroadcastState
from catalogue.outbox.broadcasts import Progress
from catalogue.programme import Choice

AUDIENCE_LABELS = {
    AudienceKind.EVERYONE: __("Everyone"),
    AudienceKind.CATEGORY: __("A category of residents"),
    AudienceKind.TRACK: __("A learning track"),
    AudienceKind.LANGUAGE: __("Residents of one language"),
    AudienceKind.FESTIVAL: __("Followers of a festival"),
    AudienceKind.OFFER: __("Followers of an offer"),
    AudienceKind.SESSION: __("Seat holders of a session"),
    AudienceKind.CHECKED_IN: __("People checked in at a session"),
}
NOW = "now"
SCHEDULE = "schedule"
PREVIEW = "preview"
CONFIRM = "confirm"
REWRITE = "rewrite"
AUDIENCE = "audience"
DISCARD = "discard"


def number(value: int, locale: str) -> str:
    return format_decimal(value, locale=locale)


def _cancel_row(builder: InlineKeyboardBuilder) -> None:
    builder.row(button("✖️ " + _("Cancel"), BroadcastPick(value=DISCARD)))


def _control(broadcast: Broadcast, action: BroadcastAction, label: str) -> InlineKeyboardButton:
    return button(label, BroadcastControl(broadcast_id=broadcast.id, action=action))


def ask_compose() -> View:
    text = "\n".join(
        [
            "📣 <b>" + _("New announcement") + "</b>",
            _(
                "Send me the announcement as residents should read it: text with bold, italics "
                "and links, or a photo with a caption."
            ),
        ]
    )
    builder = InlineKeyboardBuilder()
    _cancel_row(builder)
    return View(text, builder.as_markup())


def compose_problem(code: str) -> str:
    return "⚠️ " + {
        "empty": _("The announcement is empty. Send text or a photo."),
        "caption": _("A photo caption holds up to 1024 characters. Please shorten it."),
        "text": _("An announcement holds up to 4096 characters. Please shorten it."),
        "not_yours": _(
            "Only the organiser who made this broadcast, or an administrator, can change it."
        ),
    }.get(code, _("Please send text or a photo, or /cancel."))


def ask_audience() -> View:
    builder = InlineKeyboardBuilder()
    for kind, label in AUDIENCE_LABELS.items():
        builder.row(button(str(label), BroadcastPick(value=kind.value)))
    _cancel_row(builder)
    return View(_("Who should receive it?"), builder.as_markup())


def ask_audience_value(
    kind: AudienceKind,
    choices: list[Choice],
    *,
    offer_chosen: bool = False,
    page: int = 0,
    pages: int = 1,
) -> View:
    """The choice of a category, track, language, festival, offer or session; a long list
    comes page by page with ‹ n / m ›."""
    prompts = {
        AudienceKind.CATEGORY: _("Which category?"),
        AudienceKind.TRACK: _("Which learning track?"),
        AudienceKind.LANGUAGE: _("Which language?"),
        AudienceKind.FESTIVAL: _("Followers of which festival?"),
        AudienceKind.OFFER: _("Type part of the offer's title, then choose it."),
        AudienceKind.SESSION: _("Type part of the offer's title, then choose the session."),
        AudienceKind.CHECKED_IN: _("Type part of the offer's title, then choose the session."),
    }
    text = prompts.get(kind, _("Who should receive it?"))
    if offer_chosen:
        text = {
            AudienceKind.CHECKED_IN: _("Which session? Those that have begun, latest first."),
        }.get(kind, _("Which session? Those still ahead."))
        if not choices:
            text = _("This offer has no such session. Go back, or type another title.")
    elif kind in (AudienceKind.OFFER, *SESSION_AUDIENCES) and not choices:
        text += "\n" + _("Nothing to choose yet: type a few letters of the title.")
    builder = InlineKeyboardBuilder()
    for choice in choices:
        builder.row(button(choice.label, BroadcastPick(value=str(choice.id))))
    if turns := pager(page, pages, lambda to: BroadcastPage(page=to)):
        builder.row(*turns)
    builder.row(button("« " + _("Back"), BroadcastPick(value=AUDIENCE)))
    _cancel_row(builder)
    return View(text, builder.as_markup())


def audience_summary(label: str, count: int, locale: str) -> View:
    lines = [
        _("Audience: {audience}").format(audience=escape(label)),
        _("It will reach {count} residents.").format(count=number(count, locale)),
        _("Residents who turned announcements off or blocked the bot are not counted."),
    ]
    builder = InlineKeyboardBuilder()
    if count:
        builder.row(button("👁 " + _("Preview"), BroadcastPick(value=PREVIEW)))
    else:
        lines.append("⚠️ " + _("Nobody to send to: choose another audience."))
    builder.row(button("👥 " + _("Change the audience"), BroadcastPick(value=AUDIENCE)))
    _cancel_row(builder)
    return View("\n".join(lines), builder.as_markup())


def after_preview() -> View:
    text = "⬆️ " + _("This is exactly what residents will see. When should it go?")
    builder = InlineKeyboardBuilder()
    builder.row(
        button("🚀 " + _("Send now"), BroadcastPick(value=NOW)),
        button("🗓 " + _("Schedule"), BroadcastPick(value=SCHEDULE)),
    )
    builder.row(
        button("✏️ " + _("Change the text"), BroadcastPick(value=REWRITE)),
        button("👥 " + _("Change the audience"), BroadcastPick(value=AUDIENCE)),
    )
    _cancel_row(builder)
    return View(text, builder.as_markup())


def ask_schedule(viewer: Viewer) -> View:
    text = _(
        "When should it go? Send the date and time, like 2026-06-01 09:00 or 01.06 09:00 "
        "({zone} time)."
    ).format(zone=escape(str(viewer.zone)))
    builder = InlineKeyboardBuilder()
    _cancel_row(builder)
    return View(text, builder.as_markup())


def confirm(viewer: Viewer, label: str, count: int, at: datetime | None, paid: bool) -> View:
    if at is None:
        question = _("Send the announcement to {count} residents ({audience}) now?")
    else:
        question = _("Send the announcement to {count} residents ({audience}) on {when}?")
    lines = [
        question.format(
            count=number(count, viewer.locale),
            audience=escape(label),
            when=formatting.short_when(at, viewer.zone, viewer.locale) if at else "",
        )
    ]
    if paid:
        lines.append("💫 " + _("Paid broadcast: faster, charged in Telegram Stars."))
    builder = InlineKeyboardBuilder()
    builder.row(
        button("✅ " + _("Confirm"), BroadcastPick(value=CONFIRM)),
        button("✖️ " + _("Cancel"), BroadcastPick(value=DISCARD)),
    )
    return View("\n".join(lines), builder.as_markup())


def scheduled(viewer: Viewer, broadcast: Broadcast, count: int) -> View:
    text = "🗓 " + _("Scheduled for {when}, to about {count} residents.").format(
        when=formatting.short_when(broadcast.due_at, viewer.zone, viewer.locale),
        count=number(count, viewer.locale),
    )
    builder = InlineKeyboardBuilder()
    builder.row(_control(broadcast, BroadcastAction.CANCEL, "✖️ " + _("Cancel the broadcast")))
    return View(text, builder.as_markup())


def progress(broadcast: Broadcast, figures: Progress, eta: timedelta | None, locale: str) -> View:
    """The one progress message, edited in place while sending and turned into the report."""
    state = broadcast.state
    headings = {
        BroadcastState.SCHEDULED: _("scheduled"),
        BroadcastState.SENDING: _("sending"),
        BroadcastState.PAUSED: _("paused"),
        BroadcastState.CANCELLED: _("cancelled"),
        BroadcastState.DONE: _("done"),
    }
    lines = [
        "📣 <b>"
        + _("Broadcast #{id}: {state}").format(id=broadcast.id, state=headings[state])
        + "</b>",
        _("Sent: {sent} / {total}").format(
            sent=number(figures.sent, locale), total=number(figures.total, locale)
        ),
        _("Failed: {failed} · blocked the bot: {blocked}").format(
            failed=number(figures.failed, locale), blocked=number(figures.blocked, locale)
        ),
    ]
    if state is BroadcastState.SENDING and eta is not None and figures.done < figures.total:
        lines.append(_("About {time} left").format(time=format_timedelta(eta, locale=locale)))
    if figures.cancelled:
        lines.append(
            _("Not sent (cancelled): {count}").format(count=number(figures.cancelled, locale))
        )
    return View("\n".join(lines), _progress_controls(broadcast))


def _progress_controls(broadcast: Broadcast) -> InlineKeyboardMarkup:
    """Pause or Resume, and Cancel, while the broadcast is sending or paused; else an empty
    keyboard, so that the edit which ends the broadcast takes the buttons away."""
    if broadcast.state is BroadcastState.SENDING:
        pause_or_resume = _control(broadcast, BroadcastAction.PAUSE, "⏸ " + _("Pause"))
    elif broadcast.state is BroadcastState.PAUSED:
        pause_or_resume = _control(broadcast, BroadcastAction.RESUME, "▶️ " + _("Resume"))
    else:
        return InlineKeyboardMarkup(inline_keyboard=[])
    cancel = _control(broadcast, BroadcastAction.CANCEL, "✖️ " + _("Cancel"))
    return InlineKeyboardMarkup(inline_keyboard=[[pause_or_resume, cancel]])


def report(broadcast: Broadcast, figures: Progress, locale: str) -> str:
    """The message the organiser gets when a broadcast ends (a notification, unlike an edit)."""
    if broadcast.state is BroadcastState.CANCELLED:
        heading = _("Broadcast #{id} was cancelled.").format(id=broadcast.id)
    else:
        heading = _("Broadcast #{id} is finished.").format(id=broadcast.id)
    return "\n".join(
        [
            "📣 <b>" + heading + "</b>",
            _("Delivered: {count}").format(count=number(figures.sent, locale)),
            _("Blocked the bot: {count}").format(count=number(figures.blocked, locale)),
            _("Failed: {count}").format(count=number(figures.failed, locale)),
        ]
    )
