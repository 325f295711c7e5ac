"""Screens of subscriptions and reminder settings: the card's buttons, /my and /settings."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_timedelta, get_day_names

from bot import formatting
from bot.attendance_screens import track_progress_section
from bot.callbacks import (
    ChangeSetting,
    ChooseTrack,
    Navigate,
    OpenSettings,
    Screen,
    SettingsScreen,
    Subscribe,
    Unsubscribe,
)
from bot.screens import (
    LANGUAGE_BUTTONS,
    MESSAGE_LIMIT,
    View,
    Viewer,
    button,
    menu_button,
    offer_card,
    shorten,
)
from catalogue.attendance import TrackProgress
from catalogue.models import Resident, translated
from catalogue.queries import OfferCard
from scheduler.models import AttendanceStatus, SubscriptionKind
from scheduler.subscriptions import CardSubscriptions, MySubscriptions
from scheduler.timing import OFFSET_CHOICES, clock_text

QUIET_CHOICES = ((22 * 60, 8 * 60), (23 * 60, 7 * 60), (21 * 60, 9 * 60))
# Besides the city's own zone (choice 0).
ZONE_CHOICES = ("Europe/Dublin", "Europe/London", "Europe/Moscow", "Asia/Yekaterinburg", "UTC")
DIGEST_TIMES = (8 * 60, 9 * 60, 12 * 60, 18 * 60, 20 * 60)
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
    viewer: Viewer, card: OfferCard, back: CallbackData, state: CardSubscriptions
) -> View:
    """The offer card with a subscribe button per session and follow buttons."""
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
        if status == AttendanceStatus.GOING:
            lines.append("   ✅ " + _("You are going; I will remind you."))
            label = "✅ " + _("{when}: going · cancel").format(when=when)
        elif status == AttendanceStatus.WAITLISTED:
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
    return offer_card(viewer, card, back, session_notes=notes, extra_rows=rows)


# ---------------------------------------------------------------- /my


def offsets_text(offsets: list[int], locale: str) -> str:
    if not offsets:
        return _("none")
    parts = [offset_label(offset, locale) for offset in sorted(offsets, reverse=True)]
    return ", ".join(parts)


def offset_label(minutes: int, locale: str) -> str:
    """ "1 day", "3 hours", "15 minutes" in the reader's language."""
    return format_timedelta(timedelta(minutes=minutes), threshold=1, locale=locale)


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
    for item in mine.sessions:
        when = formatting.short_when(item.session.starts_at, viewer.zone, viewer.locale)
        line = f"• {when} — {viewer.t(item.offer.title)}"
        if item.status == AttendanceStatus.WAITLISTED:
            line += " · ⏳ " + _("waitlist #{position}").format(position=item.position)
        lines.append(line)
        title = translated(item.offer.title, viewer.locale)
        builder.row(button(f"✖ {when} · {title}", Unsubscribe(what="s", target=item.session.id)))
    if mine.total_sessions > len(mine.sessions):
        more = mine.total_sessions - len(mine.sessions)
        lines.append(_("…and {count} more").format(count=more))
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
                f"✖ {icon} {title}", Unsubscribe(what=codes[follow.kind], target=follow.target_id)
            )
        )
    if progress is not None:
        section, rows = track_progress_section(viewer, progress)
        lines += ["", *section]
        for row in rows:
            builder.row(*row)
    lines += ["", reminders_summary(viewer, resident)]
    builder.row(button("⚙️ " + _("Settings"), OpenSettings()), menu_button())
    return View(shorten("\n".join(lines), MESSAGE_LIMIT), builder.as_markup())


def reminders_summary(viewer: Viewer, resident: Resident) -> str:
    if not resident.reminders_on:
        return "🔕 " + _("Reminders are off.")
    return "⏰ " + _("Reminders: {offsets} before.").format(
        offsets=offsets_text(resident.reminder_offsets, viewer.locale)
    )


# ---------------------------------------------------------------- /settings


def _zone_label(name: str, now: datetime) -> str:
    return f"{name} ({now.astimezone(ZoneInfo(name)).strftime('%H:%M')})"


def settings_main(viewer: Viewer, resident: Resident, city_zone: ZoneInfo) -> View:
    on, off = _("on"), _("off")
    if resident.quiet_from is not None and resident.quiet_until is not None:
        quiet = f"{clock_text(resident.quiet_from)}–{clock_text(resident.quiet_until)}"
    else:
        quiet = _("none")
    zone = resident.timezone or _("city time ({zone})").format(zone=city_zone.key)
    if resident.digest_weekday is not None and resident.digest_minute is not None:
        day = get_day_names("wide", locale=viewer.locale)[resident.digest_weekday]
        digest = _("{day} at {time}").format(day=day, time=clock_text(resident.digest_minute))
    else:
        digest = off
    lines = [
        "⚙️ <b>" + _("Settings") + "</b>",
        "",
        reminders_summary(viewer, resident),
        "🌙 " + _("Quiet hours: {hours}").format(hours=quiet),
        "🕒 " + _("Time zone: {zone}").format(zone=zone),
        "📣 "
        + _("News of new offers in what you follow: {state}").format(
            state=on if resident.announcements_on else off
        ),
        "📰 " + _("Weekly digest: {when}").format(when=digest),
        "🌍 " + _("Language: {language}").format(language=LANGUAGE_BUTTONS[viewer.locale]),
    ]
    builder = InlineKeyboardBuilder()
    reminders_toggle = (
        "🔕 " + _("Turn reminders off") if resident.reminders_on else "🔔 " + _("Turn reminders on")
    )
    builder.row(
        button("⏰ " + _("Reminder times"), OpenSettings(screen=SettingsScreen.OFFSETS)),
        button(reminders_toggle, ChangeSetting(field="rem", value=int(not resident.reminders_on))),
    )
    builder.row(
        button("🌙 " + _("Quiet hours"), OpenSettings(screen=SettingsScreen.QUIET)),
        button("🕒 " + _("Time zone"), OpenSettings(screen=SettingsScreen.ZONE)),
    )
    news_toggle = "📣 " + (_("Turn news off") if resident.announcements_on else _("Turn news on"))
    builder.row(
        button(news_toggle, ChangeSetting(field="ann", value=int(not resident.announcements_on))),
        button("📰 " + _("Weekly digest"), OpenSettings(screen=SettingsScreen.DIGEST)),
    )
    builder.row(button("🌍 " + _("Language"), Navigate(to=Screen.LANGUAGE)), menu_button())
    return View("\n".join(lines), builder.as_markup())


def _back_to_settings() -> InlineKeyboardButton:
    return button("« " + _("Back"), OpenSettings())


def settings_offsets(viewer: Viewer, resident: Resident) -> View:
    text = (
        "⏰ <b>"
        + _("Reminder times")
        + "</b>\n"
        + _("Choose when I remind you before each session you subscribed to (up to four).")
    )
    builder = InlineKeyboardBuilder()
    chosen = set(resident.reminder_offsets or [])
    for offset in OFFSET_CHOICES:
        mark = "✅ " if offset in chosen else ""
        label = mark + _("{time} before").format(time=offset_label(offset, viewer.locale))
        builder.add(button(label, ChangeSetting(field="off", value=offset)))
    builder.adjust(2)
    builder.row(_back_to_settings())
    return View(text, builder.as_markup())


def settings_quiet(viewer: Viewer, resident: Resident) -> View:
    text = "\n".join(
        [
            "🌙 <b>" + _("Quiet hours") + "</b>",
            _("A reminder due in your quiet hours comes just before they begin; news waits "
              "until they end."),
            "",
            _("Or type your own, e.g. <code>22:30-07:00</code>."),
        ]
    )  # fmt: skip
    builder = InlineKeyboardBuilder()
    current = (resident.quiet_from, resident.quiet_until)
    for number, (start, end) in enumerate(QUIET_CHOICES, start=1):
        mark = "✅ " if current == (start, end) else ""
        label = f"{mark}{clock_text(start)}–{clock_text(end)}"
        builder.add(button(label, ChangeSetting(field="quiet", value=number)))
    builder.adjust(3)
    none_mark = "✅ " if resident.quiet_from is None else ""
    builder.row(button(none_mark + _("No quiet hours"), ChangeSetting(field="quiet", value=0)))
    builder.row(_back_to_settings())
    return View(text, builder.as_markup())


def settings_zone(viewer: Viewer, resident: Resident, city_zone: ZoneInfo, now: datetime) -> View:
    text = "\n".join(
        [
            "🕒 <b>" + _("Time zone") + "</b>",
            _("I show times and send reminders in this zone. Travelling? Pick where you are."),
            "",
            _("Or type a zone or a city, e.g. <code>Europe/Dublin</code> or <code>Dublin</code>."),
        ]
    )
    builder = InlineKeyboardBuilder()
    city_mark = "✅ " if resident.timezone is None else ""
    builder.row(
        button(
            city_mark + _("City time: {zone}").format(zone=_zone_label(city_zone.key, now)),
            ChangeSetting(field="zone", value=0),
        )
    )
    for number, name in enumerate(ZONE_CHOICES, start=1):
        if name == city_zone.key:
            continue
        mark = "✅ " if resident.timezone == name else ""
        builder.add(
            button(mark + _zone_label(name, now), ChangeSetting(field="zone", value=number))
        )
    builder.adjust(1, 2)
    builder.row(_back_to_settings())
    return View(text, builder.as_markup())


def settings_digest(viewer: Viewer, resident: Resident) -> View:
    text = "\n".join(
        [
            "📰 <b>" + _("Weekly digest") + "</b>",
            _("Once a week: new offers and the coming week's sessions in your track."),
            _("Choose the day and the time."),
        ]
    )
    builder = InlineKeyboardBuilder()
    days = get_day_names("abbreviated", locale=viewer.locale)
    for weekday in range(7):
        mark = "✅ " if resident.digest_weekday == weekday else ""
        builder.add(button(mark + days[weekday], ChangeSetting(field="dday", value=weekday)))
    builder.adjust(4, 3)
    time_row = []
    for minute in DIGEST_TIMES:
        chosen = resident.digest_weekday is not None and resident.digest_minute == minute
        mark = "✅ " if chosen else ""
        time_row.append(
            button(mark + clock_text(minute), ChangeSetting(field="dtime", value=minute))
        )
    builder.row(*time_row)
    off_mark = "✅ " if resident.digest_weekday is None else ""
    builder.row(button(off_mark + _("No digest"), ChangeSetting(field="dday", value=-1)))
    builder.row(_back_to_settings())
    return View(text, builder.as_markup())
