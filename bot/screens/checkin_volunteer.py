"""Screens of check-in at the door: today's sessions, check-in mode, answers to codes, headcounts,
undo and the self check-in QR."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_time

from bot import formatting
from bot.callbacks.checkin_volunteer import CheckInSession
from bot.callbacks.checkin_volunteer import CheckInSessions
from bot.callbacks.checkin_volunteer import CheckInVenue
from bot.callbacks.checkin_volunteer import SelfCheckInQr
from bot.callbacks.checkin_volunteer import StopCheckIn
from bot.screens.view import MESSAGE_LIMIT
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import button
from bot.screens.view import menu_button
from bot.screens.view import shorten
from catalogue.checkin.door import MAX_CODES_PER_MESSAGE
from catalogue.checkin.door import MAX_HEADCOUNT
from catalogue.checkin.door import Answer
from catalogue.checkin.door import Batch
from catalogue.checkin.door import Problem
from catalogue.checkin.door import Undone
from catalogue.checkin.passes import show_code
from catalogue.checkin.tables import CheckInMethod
from catalogue.checkin.today import Counts
from catalogue.checkin.today import TodaySession
from catalogue.models import OfferSession
from catalogue.models import translated

SESSIONS_AS_BUTTONS = 10  # more sessions today than this: pick a venue first
TYPED_SHOWN = 24  # characters of a malformed item repeated in its answer
ANSWER_ICONS = {
    Answer.CHECKED_IN: "✅",
    Answer.WALK_IN: "🚶",
    Answer.ALREADY: "☑️",
    Answer.UNKNOWN: "❓",
    Answer.MALFORMED: "⚠️",
}


def _clock(moment: datetime, viewer: Viewer) -> str:
    return format_time(moment.astimezone(viewer.zone), "HH:mm", locale=viewer.locale)


def session_line(viewer: Viewer, item: TodaySession) -> str:
    """ "#12 · 18:30–20:00 · Robotics club · Library" """
    times = f"{_clock(item.session.starts_at, viewer)}–{_clock(item.session.ends_at, viewer)}"
    parts = [f"#{item.session.id}", times, viewer.t(item.offer.title)]
    if item.venue is not None:
        parts.append(viewer.t(item.venue.name))
    return " · ".join(parts)


def _session_button(viewer: Viewer, item: TodaySession) -> InlineKeyboardButton:
    label = (
        f"{_clock(item.session.starts_at, viewer)} · {translated(item.offer.title, viewer.locale)}"
    )
    if item.venue is not None:
        label += f" · {translated(item.venue.name, viewer.locale)}"
    return button(label, CheckInSession(session_id=item.session.id))


def stale_button() -> str:
    return _("This button is out of date.")


# ---------------------------------------------------------------- choosing a session


def choose_session(
    viewer: Viewer, items: Sequence[TodaySession], words: str = "", by_venue: bool = True
) -> View:
    """Today's sessions to check in to: buttons, or venues first when there are many."""
    builder = InlineKeyboardBuilder()
    if not items:
        text = (
            _("No session today matches “{words}”.").format(words=escape(words))
            if words
            else _("There are no sessions today.")
        )
        if words:
            builder.row(button(_("All of today's sessions"), CheckInSessions()))
        builder.row(menu_button())
        return View("📋 " + text, builder.as_markup())
    lines = ["📋 <b>" + _("Check-in: which session?") + "</b>", ""]
    if by_venue and len(items) > SESSIONS_AS_BUTTONS:
        venues: dict[int, tuple[str, int]] = {}
        for item in items:
            key = item.venue.id if item.venue is not None else 0
            name = translated(item.venue.name, viewer.locale) if item.venue else _("Online")
            venues[key] = (name, venues.get(key, ("", 0))[1] + 1)
        lines.append(
            _(
                "{count} sessions today. Choose the venue, or type /checkin and a word "
                "from the title."
            ).format(count=len(items))
        )
        for venue_id, (name, count) in sorted(venues.items(), key=lambda item: item[1][0]):
            builder.row(button(f"📍 {name} ({count})", CheckInVenue(venue_id=venue_id)))
        return View("\n".join(lines), builder.as_markup())
    lines += [session_line(viewer, item) for item in items[: SESSIONS_AS_BUTTONS * 3]]
    for item in items[:SESSIONS_AS_BUTTONS]:
        builder.row(_session_button(viewer, item))
    if len(items) > SESSIONS_AS_BUTTONS:
        lines += ["", _("More than fit here: type /checkin and a word from the title.")]
    else:
        lines += ["", _("Tip: /attend 12 K7QM-4XPD checks a code in to session #12 in one line.")]
    if words:
        builder.row(button(_("All of today's sessions"), CheckInSessions()))
    return View(shorten("\n".join(lines), MESSAGE_LIMIT), builder.as_markup())


def check_in_mode(viewer: Viewer, facts: TodaySession, counts: Counts) -> View:
    when = formatting.when(
        facts.session.starts_at, facts.session.ends_at, viewer.zone, viewer.locale
    )
    lines = [
        "🚪 <b>" + _("Checking in: {title}").format(title=viewer.t(facts.offer.title)) + "</b>",
        f"#{facts.session.id} · {when}",
    ]
    if facts.venue is not None:
        lines.append("📍 " + viewer.t(facts.venue.name))
    lines += ["", counts_line(counts), ""]
    lines.append(
        _(
            "Type or scan pass codes: one per message or several in one (up to {limit}). "
            "Each code gets its own answer."
        ).format(limit=MAX_CODES_PER_MESSAGE)
    )
    lines.append(
        _("/count 25 records a headcount for drop-in visitors; /undo takes back your last entry.")
    )
    builder = InlineKeyboardBuilder()
    builder.row(
        button("📱 " + _("QR for self check-in"), SelfCheckInQr(session_id=facts.session.id))
    )
    builder.row(
        button("🔁 " + _("Another session"), CheckInSessions()),
        button("✖ " + _("Finish"), StopCheckIn()),
    )
    return View("\n".join(lines), builder.as_markup())


def counts_line(counts: Counts) -> str:
    return "👥 " + _(
        "Registered: {registered} · checked in: {checked_in} (walk-ins: {walk_ins}) · "
        "headcount: {headcount}"
    ).format(
        registered=counts.registered,
        checked_in=counts.checked_in,
        walk_ins=counts.walk_ins,
        headcount=counts.headcount,
    )


def check_in_finished() -> str:
    return _("Check-in finished. Thank you!")


# ---------------------------------------------------------------- answers


def answer_text(answer: Answer) -> str:
    return {
        Answer.CHECKED_IN: _("checked in"),
        Answer.WALK_IN: _("not registered: checked in as a walk-in"),
        Answer.ALREADY: _("already checked in"),
        Answer.UNKNOWN: _("unknown code"),
        Answer.MALFORMED: _("not a pass code (check for a typo)"),
    }[answer]


def answers_messages(batch: Batch, session_id: int) -> list[str]:
    """One line per code, in the order typed; split into messages Telegram accepts."""
    lines = []
    for item in batch.answers:
        shown = show_code(item.code) if item.code else escape(shorten(item.typed, TYPED_SHOWN))
        lines.append(
            f"{ANSWER_ICONS[item.answer]} <code>{shown}</code> — {answer_text(item.answer)}"
        )
    footer = _("#{session}: {count} checked in.").format(session=session_id, count=batch.checked_in)
    if batch.entry_id is not None:
        footer += " " + _("/undo takes this back.")
    lines += ["", footer]
    messages, current = [], ""
    for line in lines:
        if len(current) + len(line) + 1 > MESSAGE_LIMIT:
            messages.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    messages.append(current)
    return messages


def scan_answer(answer: Answer, facts: TodaySession, viewer: Viewer, checked_in: int) -> str:
    return "\n".join(
        [
            f"{ANSWER_ICONS[answer]} {answer_text(answer).capitalize()}",
            _("#{session}: {count} checked in.").format(session=facts.session.id, count=checked_in),
        ]
    )


def problem_text(problem: Problem, viewer: Viewer, offer_session: OfferSession | None) -> str:
    if problem is Problem.NOT_TODAY and offer_session is not None:
        when = formatting.when(
            offer_session.starts_at, offer_session.ends_at, viewer.zone, viewer.locale
        )
        return _(
            "Session #{session} is not today ({when}): check-in is open on the day only."
        ).format(session=offer_session.id, when=when)
    return {
        Problem.NO_SESSION: _(
            "There is no such session. Use the number shown by /checkin, e.g. #12."
        ),
        Problem.NOT_TODAY: _("This session is not today: check-in is open on the day only."),
        Problem.CANCELLED: _("This session has been cancelled: nobody can be checked in."),
        Problem.OVER: _("This session is over."),
        Problem.NO_CODES: _("Send the pass codes, e.g. K7QM-4XPD."),
        Problem.TOO_MANY_CODES: _(
            "That is more than {limit} codes in one message: nothing was recorded. "
            "Please send them in smaller batches."
        ).format(limit=MAX_CODES_PER_MESSAGE),
        Problem.BAD_NUMBER: _("The headcount must be a whole number from 1 to {limit}.").format(
            limit=MAX_HEADCOUNT
        ),
        Problem.TOKEN_UNKNOWN: _("This check-in QR is not valid. Ask a volunteer at the door."),
        Problem.TOKEN_EXPIRED: _(
            "This check-in QR has expired. Ask the volunteer to show a new one."
        ),
    }[problem]


def _escaped(text: str) -> str:
    """Plain text shown in HTML mode: the <session> of a usage line is not a tag."""
    return escape(text, quote=False)


def attend_usage() -> str:
    return _escaped(
        _(
            "Usage: /attend <session> <code> [<code> …], e.g. /attend 12 K7QM-4XPD. "
            "The session numbers are in /checkin."
        )
    )


def count_usage() -> str:
    return _escaped(
        _(
            "Usage: /count <session> <number>, e.g. /count 12 25 (or /count 25 while checking "
            "in to a session)."
        )
    )


def codes_expected() -> str:
    return _("Send pass codes as text (e.g. K7QM-4XPD), or press Finish.")


def headcount_recorded(facts: TodaySession, viewer: Viewer, people: int, total: int) -> str:
    return "\n".join(
        [
            "👥 "
            + _("Recorded a headcount of {people} at #{session} {title}.").format(
                people=people, session=facts.session.id, title=viewer.t(facts.offer.title)
            ),
            _("Headcount so far: {total}. /undo takes this back.").format(total=total),
        ]
    )


def undone_text(undone: Undone | None, viewer: Viewer) -> str:
    if undone is None:
        return _("Nothing to undo: you have made no entries in the last day.")
    where = f"#{undone.session.session.id} {viewer.t(undone.session.offer.title)}"
    if undone.method is CheckInMethod.HEADCOUNT:
        return "↩️ " + _("Undone: the headcount of {people} at {where}.").format(
            people=undone.people, where=where
        )
    return "↩️ " + _("Undone: {count} check-in(s) at {where}.").format(
        count=undone.people, where=where
    )


def self_check_in_caption(viewer: Viewer, facts: TodaySession, expires_at: datetime) -> View:
    text = "\n".join(
        [
            "📱 <b>"
            + _("Self check-in: {title}").format(title=viewer.t(facts.offer.title))
            + "</b>",
            _("Residents scan this QR with their phone camera and are checked in."),
            _("Valid until {time}.").format(time=_clock(expires_at, viewer)),
        ]
    )
    builder = InlineKeyboardBuilder()
    builder.row(button("🔄 " + _("New QR"), SelfCheckInQr(session_id=facts.session.id)))
    return View(text, builder.as_markup())
