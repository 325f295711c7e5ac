"""Screens of /settings: reminder times, quiet hours, time zone, news and the weekly digest."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_timedelta
from babel.dates import get_day_names

from bot.callbacks.browse import Navigate
from bot.callbacks.browse import Screen
from bot.callbacks.preferences import ChangePreference
from bot.callbacks.preferences import OpenPreferences
from bot.callbacks.preferences import PreferencesScreen
from bot.screens.browse import LANGUAGE_BUTTONS
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import button
from bot.screens.view import menu_button
from catalogue.models import Resident
from catalogue.outbox.preferences import OffsetChange
from catalogue.outbox.timing import OFFSET_CHOICES
from catalogue.outbox.timing import clock_text

QUIET_CHOICES = ((22 * 60, 8 * 60), (23 * 60, 7 * 60), (21 * 60, 9 * 60))
# Besides the city's own zone (choice 0).
ZONE_CHOICES = ("Europe/Dublin", "Europe/London", "Europe/Moscow", "Asia/Yekaterinburg", "UTC")
DIGEST_TIMES = (8 * 60, 9 * 60, 12 * 60, 18 * 60, 20 * 60)


# ---------------------------------------------------------------- /my


def offsets_text(offsets: list[int], locale: str) -> str:
    if not offsets:
        return _("none")
    parts = [offset_label(offset, locale) for offset in sorted(offsets, reverse=True)]
    return ", ".join(parts)


def offset_label(minutes: int, locale: str) -> str:
    """ "1 day", "3 hours", "15 minutes" in the reader's language."""
    return format_timedelta(timedelta(minutes=minutes), threshold=1, locale=locale)


def reminders_summary(viewer: Viewer, resident: Resident) -> str:
    if not resident.reminders_on or not resident.reminder_offsets:
        return "🔕 " + _("Reminders are off.")
    return "⏰ " + _("Reminders: {offsets} before.").format(
        offsets=offsets_text(resident.reminder_offsets, viewer.locale)
    )


# ---------------------------------------------------------------- /settings


def _zone_label(name: str, now: datetime) -> str:
    return f"{name} ({now.astimezone(ZoneInfo(name)).strftime('%H:%M')})"


def preferences_main(viewer: Viewer, resident: Resident, city_zone: ZoneInfo) -> View:
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
        button("⏰ " + _("Reminder times"), OpenPreferences(screen=PreferencesScreen.OFFSETS)),
        button(
            reminders_toggle, ChangePreference(field="rem", value=int(not resident.reminders_on))
        ),
    )
    builder.row(
        button("🌙 " + _("Quiet hours"), OpenPreferences(screen=PreferencesScreen.QUIET)),
        button("🕒 " + _("Time zone"), OpenPreferences(screen=PreferencesScreen.ZONE)),
    )
    news_toggle = "📣 " + (_("Turn news off") if resident.announcements_on else _("Turn news on"))
    builder.row(
        button(
            news_toggle, ChangePreference(field="ann", value=int(not resident.announcements_on))
        ),
        button("📰 " + _("Weekly digest"), OpenPreferences(screen=PreferencesScreen.DIGEST)),
    )
    builder.row(button("🌍 " + _("Language"), Navigate(to=Screen.LANGUAGE)), menu_button())
    return View("\n".join(lines), builder.as_markup())


def _back_to_preferences() -> InlineKeyboardButton:
    return button("« " + _("Back"), OpenPreferences())


def offset_change_text(change: OffsetChange) -> str | None:
    """The answer to ticking or unticking a reminder time; None: the screen says it."""
    return {
        OffsetChange.REFUSED: _("Choose up to four reminder times."),
        OffsetChange.REMINDERS_OFF: _("No reminder time is left, so reminders are off."),
        OffsetChange.REMINDERS_ON: _("Reminders on."),
    }.get(change)


def preferences_offsets(viewer: Viewer, resident: Resident) -> View:
    text = (
        "⏰ <b>"
        + _("Reminder times")
        + "</b>\n"
        + _("Choose when I remind you before each session you subscribed to (up to four).")
    )
    if not resident.reminders_on:
        text += "\n\n🔕 " + _("Reminders are off: choosing a time turns them on.")
    builder = InlineKeyboardBuilder()
    chosen = set(resident.reminder_offsets or [])
    for offset in OFFSET_CHOICES:
        mark = "✅ " if offset in chosen else ""
        label = mark + _("{time} before").format(time=offset_label(offset, viewer.locale))
        builder.add(button(label, ChangePreference(field="off", value=offset)))
    builder.adjust(2)
    builder.row(_back_to_preferences())
    return View(text, builder.as_markup())


def preferences_quiet(viewer: Viewer, resident: Resident) -> View:
    text = "\n".join(
        [
            "🌙 <b>" + _("Quiet hours") + "</b>",
            _("A reminder due in your quiet hours comes just before they begin; news of what "
              "you follow waits until they end. Announcements of the festival team are not "
              "held back."),
            "",
            _("Or type your own, e.g. <code>22:30-07:00</code>."),
        ]
    )  # fmt: skip
    builder = InlineKeyboardBuilder()
    current = (resident.quiet_from, resident.quiet_until)
    for number, (start, end) in enumerate(QUIET_CHOICES, start=1):
        mark = "✅ " if current == (start, end) else ""
        label = f"{mark}{clock_text(start)}–{clock_text(end)}"
        builder.add(button(label, ChangePreference(field="quiet", value=number)))
    builder.adjust(3)
    none_mark = "✅ " if resident.quiet_from is None else ""
    builder.row(button(none_mark + _("No quiet hours"), ChangePreference(field="quiet", value=0)))
    builder.row(_back_to_preferences())
    return View(text, builder.as_markup())


def preferences_zone(
    viewer: Viewer, resident: Resident, city_zone: ZoneInfo, now: datetime
) -> View:
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
            ChangePreference(field="zone", value=0),
        )
    )
    for number, name in enumerate(ZONE_CHOICES, start=1):
        if name == city_zone.key:
            continue
        mark = "✅ " if resident.timezone == name else ""
        builder.add(
            button(mark + _zone_label(name, now), ChangePreference(field="zone", value=number))
        )
    builder.adjust(1, 2)
    builder.row(_back_to_preferences())
    return View(text, builder.as_markup())


def preferences_digest(viewer: Viewer, resident: Resident) -> View:
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
        builder.add(button(mark + days[weekday], ChangePreference(field="dday", value=weekday)))
    builder.adjust(4, 3)
    time_row = []
    for minute in DIGEST_TIMES:
        chosen = resident.digest_weekday is not None and resident.digest_minute == minute
        mark = "✅ " if chosen else ""
        time_row.append(
            button(mark + clock_text(minute), ChangePreference(field="dtime", value=minute))
        )
    builder.row(*time_row)
    off_mark = "✅ " if resident.digest_weekday is None else ""
    builder.row(button(off_mark + _("No digest"), ChangePreference(field="dday", value=-1)))
    builder.row(_back_to_preferences())
    return View(text, builder.as_markup())
