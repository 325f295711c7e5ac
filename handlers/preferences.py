"""/settings: reminder times, reminders on/off, quiet hours, time zone, news, weekly digest.

Every change re-plans the resident's queued reminders and digest (catalogue/outbox/preferences.py).
The quiet-hours and time-zone screens also accept typed text; anything unreadable gets a
clear answer and the question again. Every handler works at the resident's `SettingsDesk`,
handed over by a `HandOver` middleware (bot/middlewares/hand_over.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

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
from bot.middlewares.hand_over import HandOver
from bot.middlewares.hand_over import from_parts
from bot.screens.preferences import DIGEST_TIMES
from bot.screens.preferences import QUIET_CHOICES
from bot.screens.preferences import ZONE_CHOICES
from bot.screens.preferences import offset_change_text
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

Event = Message | CallbackQuery

# Screens that also read typed text, and what they read.
FORM_OF_SCREEN = {
    PreferencesScreen.QUIET: PreferencesForm.quiet,
    PreferencesScreen.ZONE: PreferencesForm.zone,
}


@dataclass
class SettingsDesk:
    """What a resident's /settings work goes through: their form, the database session, the
    resident and how they read, and the city's settings."""

    state: FSMContext
    session: AsyncSession
    resident: Resident
    viewer: Viewer
    settings: Settings

    @classmethod
    def of(cls, data: dict[str, Any]) -> SettingsDesk | None:
        """The desk of an update; None for one that lacks a part (no chat, no resident)."""
        return from_parts(cls, data, "state", "session", "resident", "viewer", "settings")

    @property
    def now(self) -> datetime:
        return utc_now()

    def screen(self, which: PreferencesScreen) -> View:
        viewer, resident, city_zone = self.viewer, self.resident, self.settings.city_zone
        if which == PreferencesScreen.OFFSETS:
            return preferences_offsets(viewer, resident)
        if which == PreferencesScreen.QUIET:
            return preferences_quiet(viewer, resident)
        if which == PreferencesScreen.ZONE:
            return preferences_zone(viewer, resident, city_zone, self.now)
        if which == PreferencesScreen.DIGEST:
            return preferences_digest(viewer, resident)
        return preferences_main(viewer, resident, city_zone)

    async def show(self, event: Event, which: PreferencesScreen = PreferencesScreen.MAIN) -> None:
        """Show a screen; one that reads typed text waits for it, any other ends the form."""
        typed = FORM_OF_SCREEN.get(which)
        if typed is not None:
            await self.state.set_state(typed)
        else:
            await self.state.clear()
        await show(event, self.screen(which))

    async def set_zone(self, zone_name: str | None) -> None:
        city_zone = self.settings.city_zone
        await set_time_zone(self.session, self.resident, zone_name, self.now, city_zone)
        self.viewer = Viewer.of(self.resident, city_zone)

    async def change(self, field: str, value: int) -> tuple[PreferencesScreen, str | None]:
        """One button's change; the screen to show next and what to answer the press."""
        session, resident, now = self.session, self.resident, self.now
        city_zone = self.settings.city_zone
        match field:
            case "off":
                change = await toggle_offset(session, resident, value, now, city_zone)
                return PreferencesScreen.OFFSETS, offset_change_text(change)
            case "rem":
                await set_reminders_on(session, resident, bool(value), now, city_zone)
                return PreferencesScreen.MAIN, _("Reminders on.") if value else _("Reminders off.")
            case "quiet" if 0 <= value <= len(QUIET_CHOICES):
                start, end = QUIET_CHOICES[value - 1] if value else (None, None)
                await set_quiet_hours(session, resident, start, end, now, city_zone)
            case "zone" if 0 <= value <= len(ZONE_CHOICES):
                await self.set_zone(ZONE_CHOICES[value - 1] if value else None)
            case "ann":
                await set_announcements(session, resident, bool(value))
            case "dday" if -1 <= value <= 6:
                weekday = None if value < 0 else value
                await set_digest(session, resident, weekday, resident.digest_minute, now, city_zone)
                return PreferencesScreen.DIGEST, None
            case "dtime" if value in DIGEST_TIMES:
                weekday = resident.digest_weekday if resident.digest_weekday is not None else 0
                await set_digest(session, resident, weekday, value, now, city_zone)
                return PreferencesScreen.DIGEST, None
            case _:
                return PreferencesScreen.MAIN, _("This button is out of date.")
        return PreferencesScreen.MAIN, None


router = Router(name=__name__)
router.message.middleware(HandOver("desk", SettingsDesk.of))
router.callback_query.middleware(HandOver("desk", SettingsDesk.of))


@router.message(Command("settings"))
@router.callback_query(OpenPreferences.filter())
async def open_settings(
    event: Event, desk: SettingsDesk, callback_data: OpenPreferences | None = None
) -> None:
    await desk.show(event, callback_data.screen if callback_data else PreferencesScreen.MAIN)


@router.callback_query(ChangePreference.filter())
async def change_setting(
    callback: CallbackQuery,
    callback_data: ChangePreference,
    callback_answer: CallbackAnswer,
    desk: SettingsDesk,
) -> None:
    back_to, answer = await desk.change(callback_data.field, callback_data.value)
    if answer is not None:
        callback_answer.text = answer
    await desk.show(callback, back_to)


@router.message(StateFilter(PreferencesForm.zone), TYPED)
async def typed_zone(message: Message, desk: SettingsDesk) -> None:
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
    await desk.set_zone(zone_name)
    await message.answer(_("Time zone set: {zone}.").format(zone=zone_name))
    await desk.show(message)


@router.message(StateFilter(PreferencesForm.quiet), TYPED)
async def typed_quiet_hours(message: Message, desk: SettingsDesk) -> None:
    hours = parse_quiet_hours(message.text or "")
    if hours is None:
        await message.answer(
            _("Please write quiet hours as two times, e.g. 22:30-07:00.")
            + "\n"
            + _("/cancel to stop.")
        )
        return
    await set_quiet_hours(desk.session, desk.resident, *hours, desk.now, desk.settings.city_zone)
    await desk.show(message)


@router.message(StateFilter(PreferencesForm.zone), NOT_TEXT)
@router.message(StateFilter(PreferencesForm.quiet), NOT_TEXT)
async def not_text(message: Message) -> None:
    await message.answer(_("Please type it as text, or /cancel to stop."))
