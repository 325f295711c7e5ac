"""Screens of subscriptions: the offer card's buttons, /my, and a track's progress."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import formatting
from bot.callbacks.browse import ChooseTrack
from bot.callbacks.browse import ShowOffer
from bot.callbacks.preferences import OpenPreferences
from bot.callbacks.subscriptions import MyPage
from bot.callbacks.subscriptions import Subscribe
from bot.callbacks.subscriptions import Unsubscribe
from bot.screens.browse import mini_app_button
from bot.screens.browse import offer_card
from bot.screens.preferences import offsets_text
from bot.screens.preferences import reminders_summary
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import button
from bot.screens.view import fit_message
from bot.screens.view import menu_button
from bot.screens.view import pager
from bot.screens.view import upcoming_range
from catalogue.checkin.progress import TrackProgress
from catalogue.models import Resident
from catalogue.models import SeatStatus
from catalogue.models import SubscriptionKind
from catalogue.models import translated
from catalogue.queries import OfferCard
from catalogue.seats import Outcome
from catalogue.seats import Result
from catalogue.subscriptions import CardSubscriptions
from catalogue.subscriptions import MySubscriptions


def track_progress_section(
    viewer: Viewer, progress: TrackProgress
) -> tuple[list[str], list[list[InlineKeyboardButton]]]:
    """Lines for /my (and after a check-in): the track's steps, done or not, and the next one."""
    lines = [
        "📚 <b>"
        + _("Your track: {title}").format(title=viewer.t(progress.track.title))
        + "</b> — "
        + _("{done} of {total} steps done").format(done=progress.done, total=len(progress.steps))
    ]
    for step in progress.steps:
        lines.append(("✅ " if step.done else "▫️ ") + viewer.t(step.offer.title))
    rows: list[list[InlineKeyboardButton]] = []
    following = progress.next_step
    if following is None:
        if progress.steps:
            lines.append("🎉 " + _("Every step done. Congratulations!"))
        return lines, rows
    if following.next_session is not None:
        when = formatting.short_when(following.next_session.starts_at, viewer.zone, viewer.locale)
        lines.append(
            "👉 "
            + _("Next step: {title}, {when}").format(
                title=viewer.t(following.offer.title), when=when
            )
        )
    else:
        lines.append(
            "👉 "
            + _("Next step: {title} (no date yet)").format(title=viewer.t(following.offer.title))
        )
    label = "👉 " + _("Next step: {title}").format(
        title=translated(following.offer.title, viewer.locale)
    )
    rows.append([button(label, ShowOffer(offer_id=following.offer.id, track_id=progress.track.id))])
    return lines, rows


KIND_CODES = {
    "o": SubscriptionKind.OFFER,
    "t": SubscriptionKind.TRACK,
    "f": SubscriptionKind.FESTIVAL,
}
KIND_ICONS = {
    SubscriptionKind.OFFER: "🔔",
    SubscriptionKind.TRACK: "📚",
    SubscriptionKind.FESTIVAL: "🎪",
}


# ---------------------------------------------------------------- the offer card


def card_view(
    viewer: Viewer,
    card: OfferCard,
    back: CallbackData,
    state: CardSubscriptions,
    mini_app_url: str | None = None,
) -> View:
    """The offer card with a subscribe button per session and follow buttons, and with
    `mini_app_url` a button opening its next session in the Mini App."""
    track_id, page = (back.track_id, back.page) if isinstance(back, ChooseTrack) else (0, 0)

    def toggle(what: str, target: int) -> Subscribe:
        return Subscribe(
            what=what, target=target, offer_id=card.offer.id, track_id=track_id, page=page
        )

    notes: dict[int, list[str]] = {}
    rows: list[list[InlineKeyboardButton]] = []
    for item in card.sessions:
        session_id = item.session.id
        seats, status = state.seats.get(session_id), state.status.get(session_id)
        lines = []
        full = seats is not None and seats.left == 0
        if seats is not None and seats.capacity is not None:
            if full:
                lines.append(
                    "   🪑 " + _("Full: {count} on the waitlist").format(count=seats.waitlisted)
                )
            else:
                lines.append(
                    "   🪑 "
                    + _("{left} of {capacity} seats left").format(
                        left=seats.left, capacity=seats.capacity
                    )
                )
        when = formatting.short_when(item.session.starts_at, viewer.zone, viewer.locale)
        if session_id in state.begun:  # under way: too late to be reminded or to sign up
            lines.append("   ▶️ " + _("In progress now."))
            if status == SeatStatus.GOING:
                lines.append("   ✅ " + _("You are going."))
            notes[session_id] = lines
            continue
        if status == SeatStatus.GOING:
            lines.append("   ✅ " + _("You are going."))
            label = "✅ " + _("{when}: going · cancel").format(when=when)
        elif status == SeatStatus.WAITLISTED:
            position = state.position.get(session_id, 0)
            lines.append(
                "   ⏳ " + _("You are number {position} on the waitlist.").format(position=position)
            )
            label = "⏳ " + _("{when}: waitlisted · leave").format(when=when)
        elif full:
            label = "⏳ " + _("Join the waitlist: {when}").format(when=when)
        else:
            label = "🔔 " + _("Remind me: {when}").format(when=when)
        notes[session_id] = lines
        rows.append([button(label, toggle("s", session_id))])
    if card.sessions:
        label = (
            "🔕 " + _("Stop following all sessions")
            if state.follows_offer
            else "🔔 " + _("All sessions of this offer")
        )
        rows.append([button(label, toggle("o", card.offer.id))])
    follow_row = []
    if state.track_id:
        label = "📚 " + (_("Unfollow the track") if state.follows_track else _("Follow the track"))
        follow_row.append(button(label, toggle("t", state.track_id)))
    if state.festival_id:
        label = "🎪 " + (
            _("Unfollow the festival") if state.follows_festival else _("Follow the festival")
        )
        follow_row.append(button(label, toggle("f", state.festival_id)))
    if follow_row:
        rows.append(follow_row)
    if mini_app_url is not None and card.sessions:
        page_url = f"{mini_app_url}sessions/{card.sessions[0].session.id}"
        rows.append([mini_app_button("🗓 " + _("Open in the programme"), page_url)])
    return offer_card(viewer, card, back, session_notes=notes, extra_rows=rows)


def my_subscriptions(
    viewer: Viewer,
    resident: Resident,
    mine: MySubscriptions,
    progress: TrackProgress | None = None,
) -> View:
    """/my; with `progress`, the resident's track step by step and the suggested next step."""
    lines = ["🔔 <b>" + _("My subscriptions") + "</b>", ""]
    builder = InlineKeyboardBuilder()
    if mine.empty:
        lines.append(_("Nothing yet. Open an offer and press “Remind me” under a session."))
    if mine.sessions:
        lines.append("🗓 <b>" + _("Coming up") + "</b>")
    if mine.pages > 1:
        lines.append(upcoming_range(mine.first_number, len(mine.sessions), mine.total_sessions))
    for item in mine.sessions:
        when = formatting.short_when(item.session.starts_at, viewer.zone, viewer.locale)
        line = f"• {when} — {viewer.t(item.offer.title)}"
        if item.status == SeatStatus.WAITLISTED:
            line += " · ⏳ " + _("waitlist #{position}").format(position=item.position)
        lines.append(line)
        title = translated(item.offer.title, viewer.locale)
        cancel = Unsubscribe(what="s", target=item.session.id, page=mine.page)
        builder.row(button(f"✖ {when} · {title}", cancel))
    if mine.pages > 1:
        builder.row(*pager(mine.page, mine.pages, lambda page: MyPage(page=page)))
    if mine.follows:
        lines += ["", "👣 <b>" + _("Following") + "</b>"]
    follow_labels = {
        SubscriptionKind.OFFER: _("All sessions of: {title}"),
        SubscriptionKind.TRACK: _("Track: {title}"),
        SubscriptionKind.FESTIVAL: _("Festival: {title}"),
    }
    codes = {kind: code for code, kind in KIND_CODES.items()}
    for follow in mine.follows:
        icon = KIND_ICONS[follow.kind]
        lines.append(f"{icon} " + follow_labels[follow.kind].format(title=viewer.t(follow.title)))
        title = translated(follow.title, viewer.locale)
        builder.row(
            button(
                f"✖ {icon} {title}",
                Unsubscribe(what=codes[follow.kind], target=follow.target_id, page=mine.page),
            )
        )
    if progress is not None:
        section, rows = track_progress_section(viewer, progress)
        lines += ["", *section]
        for row in rows:
            builder.row(*row)
    lines += ["", reminders_summary(viewer, resident)]
    builder.row(button("⚙️ " + _("Settings"), OpenPreferences()), menu_button())
    return View(fit_message("\n".join(lines)), builder.as_markup())


def result_text(kind: str, result: Result, resident: Resident, locale: str) -> str:
    """What a subscribe or unsubscribe did, as the chat's alert and the Mini App say it."""
    outcome = result.outcome
    if outcome == Outcome.GOING:
        if not resident.reminders_on:
            return _("Subscribed. Reminders are off: turn them on in /settings.")
        if not result.reminders:  # every reminder time has passed already
            return _("Subscribed. It begins too soon for a reminder: none will come.")
        offsets = offsets_text(list(result.reminders), locale)
        return _("Subscribed: I will remind you {offsets} before.").format(offsets=offsets)
    if outcome == Outcome.WAITLISTED:
        return _("The session is full: you are number {position} on the waitlist.").format(
            position=result.position
        )
    if outcome == Outcome.FOLLOWING:
        if kind == SubscriptionKind.OFFER:
            return _(
                "Following every session: {going} with a seat, {waitlisted} on a waitlist."
            ).format(going=result.going, waitlisted=result.waitlisted)
        if not resident.announcements_on:
            return _("Following. News of new offers is off: turn it on in /settings.")
        return _("Following: I will tell you about new offers in it.")
    return {
        Outcome.ALREADY: _("You are already subscribed."),
        Outcome.STARTED: _("This session has already begun."),
        Outcome.CANCELLED: _("This session has been cancelled."),
        Outcome.GONE: _("This is no longer in the programme."),
        Outcome.LEFT: _("Unsubscribed."),
        Outcome.NOT_SUBSCRIBED: _("You were not subscribed."),
    }[outcome]
