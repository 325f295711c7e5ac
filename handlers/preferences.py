"""/settings: reminder times, reminders on/off, quiet hours, time zone, news, weekly digest.

Every change re-plans the resident's queued reminders and digest (catalogue/outbox/preferences.py).
The quiet-hours and time-zone screens also accept typed text; anything unreadable gets a
clear answer and the question again.
"""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.preferences import ChangePreference
from bot.callbacks.preferences import OpenPreferences
from bot.callbacks.preferences import PreferencesScreen
from bot.filters import NOT_TEXT
from bot.filters import TYPED
from bot.screens.preferences import DIGEST_TIMES
from bot.screens.preferences import QUIET_CHOICES
from bot.screens.preferences import ZONE_CHOICES
from bot.screens.preferences import preferences_digest
from bot.screens.preferences import preferences_main
from bot.screens.preferences import preferences_offsets
from bot.screens.preferences import preferences_quiet
from bot.screens.preferences import preferences_zone
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import shorten
from bot.screens.view import show
from bot.settings import Settings
from bot.states import PreferencesForm
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.outbox.preferences import find_zone
from catalogue.outbox.preferences import set_announcements
from catalogue.outbox.preferences import set_digest
from catalogue.outbox.preferences import set_quiet_hours
from catalogue.outbox.preferences import set_reminders_on
from catalogue.outbox.preferences import set_time_zone
from catalogue.outbox.preferences import toggle_offset
from catalogue.outbox.timing import parse_quiet_hours

router = Router(name=__name__)


def screen(
    which: PreferencesScreen, viewer: Viewer, resident: Resident, settings: Settings
) -> View:
    if which == PreferencesScreen.OFFSETS:
        return preferences_offsets(viewer, resident)
    if which == PreferencesScreen.QUIET:
        return preferences_quiet(viewer, resident)
    if which == PreferencesScreen.ZONE:
        return preferences_zone(viewer, resident, settings.city_zone, utc_now())
    if which == PreferencesScreen.DIGEST:
        return preferences_digest(viewer, resident)
    return preferences_main(viewer, resident, settings.city_zone)


# Screens that also read typed text, and what they read.
FORM_OF_SCREEN = {
    PreferencesScreen.QUIET: PreferencesForm.quiet,
    PreferencesScreen.ZONE: PreferencesForm.zone,
}


@router.message(Command("settings"))
@router.callback_query(OpenPreferences.filter())
async def open_settings(
    event: Message | CallbackQuery,
    state: FSMContext,
    resident: Resident,
    viewer: Viewer,
    settings: Settings,
    callback_data: OpenPreferences | None = None,
) -> None:
    which = callback_data.screen if callback_data else PreferencesScreen.MAIN
    typed = FORM_OF_SCREEN.get(which)
    if typed is not None:
        await state.set_state(typed)
    else:
        await state.clear()
    await show(event, screen(which, viewer, resident, settings))


@router.callback_query(ChangePreference.filter())
async def change_setting(
    callback: CallbackQuery,
    callback_data: ChangePreference,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
    settings: Settings,
) -> None:
    now, city_zone, value = utc_now(), settings.city_zone, callback_data.value
    back_to = PreferencesScreen.MAIN
    match callback_data.field:
        case "off":
            back_to = PreferencesScreen.OFFSETS
            if not await toggle_offset(session, resident, value, now, city_zone):
                callback_answer.text = _("Choose up to four reminder times.")
        case "rem":
            await set_reminders_on(session, resident, bool(value), now, city_zone)
            callback_answer.text = _("Reminders on.") if value else _("Reminders off.")
        case "quiet" if 0 <= value <= len(QUIET_CHOICES):
            start, end = QUIET_CHOICES[value - 1] if value else (None, None)
            await set_quiet_hours(session, resident, start, end, now, city_zone)
            await state.clear()
        case "zone" if 0 <= value <= len(ZONE_CHOICES):
            zone_name = ZONE_CHOICES[value - 1] if value else None
            await set_time_zone(session, resident, zone_name, now, city_zone)
            viewer = Viewer.of(resident, city_zone)
            await state.clear()
        case "ann":
            await set_announcements(session, resident, bool(value))
        case "dday" if -1 <= value <= 6:
            back_to = PreferencesScreen.DIGEST
            weekday = None if value < 0 else value
            await set_digest(session, resident, weekday, resident.digest_minute, now, city_zone)
        case "dtime" if value in DIGEST_TIMES:
            back_to = PreferencesScreen.DIGEST
            weekday = resident.digest_weekday if resident.digest_weekday is not None else 0
            await set_digest(session, resident, weekday, value, now, city_zone)
        case _:
            callback_answer.text = _("This button is out of date.")
    await show(callback, screen(back_to, viewer, resident, settings))


@router.message(StateFilter(PreferencesForm.zone), TYPED)
async def typed_zone(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    settings: Settings,
) -> None:
    zone_name = find_zone(message.text or "")
    if zone_name is None:
        await message.answer(
            _(
                "I don't know the time zone “{text}”. Try a name like Europe/Dublin, or a city."
            ).format(text=escape(shorten(message.text or "", 40)))
            + "\n"
            + _("/cancel to stop.")
        )
        return
    await set_time_zone(session, resident, zone_name, utc_now(), settings.city_zone)
    await state.clear()
    viewer = Viewer.of(resident, settings.city_zone)
    await message.answer(_("Time zone set: {zone}.").format(zone=zone_name))
    await show(message, preferences_main(viewer, resident, settings.city_zone))


@router.message(StateFilter(PreferencesForm.quiet), TYPED)
async def typed_quiet_hours(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
    settings: Settings,
) -> None:
    hours = parse_quiet_hours(message.text or "")
    if hours is None:
        await message.answer(
            _("Please write quiet hours as two times, e.g. 22:30-07:00.")
            + "\n"
            + _("/cancel to stop.")
        )
        return
    await set_quiet_hours(session, resident, *hours, utc_now(), settings.city_zone)
    await state.clear()
    await show(message, preferences_main(viewer, resident, settings.city_zone))


@router.message(StateFilter(PreferencesForm.zone), NOT_TEXT)
@router.message(StateFilter(PreferencesForm.quiet), NOT_TEXT)
async def not_text(message: Message) -> None:
    await message.answer(_("Please type it as text, or /cancel to stop."))
