"""Screens of browsing: language, main menu, categories, tracks, offer lists, the offer card,
help."""

from __future__ import annotations

from html import escape

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton
from aiogram.types import InlineKeyboardMarkup
from aiogram.types import WebAppInfo
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import formatting
from bot.callbacks.browse import ChooseCategory
from bot.callbacks.browse import ChooseLanguage
from bot.callbacks.browse import ChooseTrack
from bot.callbacks.browse import Navigate
from bot.callbacks.browse import PageCounter
from bot.callbacks.browse import Screen
from bot.callbacks.browse import ShowOffer
from bot.callbacks.learners import AboutMe
from bot.callbacks.learners import AboutMeAction
from bot.callbacks.learners import OpenPassport
from bot.callbacks.learners import SurveyAction
from bot.callbacks.learners import SurveyButton
from bot.callbacks.preferences import OpenPreferences
from bot.command_menus import RESIDENT_COMMANDS
from bot.screens.view import DESCRIPTION_LIMIT
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import _back
from bot.screens.view import button
from bot.screens.view import fit_message
from bot.screens.view import menu_button
from bot.screens.view import pager
from bot.screens.view import shorten
from bot.screens.view import upcoming_range
from bot.settings import SUPPORTED_LOCALES
from catalogue.models import Category
from catalogue.models import Track
from catalogue.models import translated
from catalogue.queries import OfferCard
from catalogue.queries import OfferPage
from catalogue.queries import TrackSummary

LANGUAGE_BUTTONS = {"en": "🇬🇧 English", "ru": "🇷🇺 Русский"}


def language_picker(current: str | None) -> View:
    builder = InlineKeyboardBuilder()
    for code in SUPPORTED_LOCALES:
        mark = "✅ " if code == current else ""
        builder.add(button(mark + LANGUAGE_BUTTONS[code], ChooseLanguage(code=code)))
    text = "🌍 " + _("Choose your language.") + "\n" + _("You can change it later with /language.")
    return View(text, builder.as_markup())


def mini_app_button(text: str, url: str) -> InlineKeyboardButton:
    """A button that opens the Mini App (docs/mini-app.md) inside Telegram."""
    return InlineKeyboardButton(text=text, web_app=WebAppInfo(url=url))


def main_menu(
    viewer: Viewer,
    category: Category | None,
    track: Track | None,
    mini_app_url: str | None = None,
) -> View:
    lines = ["🏙 <b>" + _("Learning City") + "</b>", ""]
    if track is not None:
        lines.append(_("Your learning track: <b>{track}</b>").format(track=viewer.t(track.title)))
    elif category is not None:
        lines.append(_("You are in: <b>{category}</b>").format(category=viewer.t(category.title)))
        lines.append(_("Pick a learning track to see what is coming up."))
    else:
        lines.append(_("Tell me who you are and I will show the learning that fits you."))
    builder = InlineKeyboardBuilder()
    if mini_app_url is not None:
        builder.row(mini_app_button("🗓 " + _("Programme of the week"), mini_app_url))
    if track is not None:
        builder.row(button("📚 " + _("My track"), Navigate(to=Screen.MY_TRACK)))
    builder.row(button("🧭 " + _("Choose category and track"), Navigate(to=Screen.CATEGORIES)))
    builder.row(button("🎓 " + _("Learning passport"), OpenPassport()))
    builder.row(
        button("👤 " + _("About me"), AboutMe(action=AboutMeAction.OPEN)),
        button("💡 " + _("What I'd like to learn"), SurveyButton(action=SurveyAction.OPEN)),
    )
    builder.row(
        button("🔔 " + _("My subscriptions"), Navigate(to=Screen.MY_SUBSCRIPTIONS)),
        button("⚙️ " + _("Settings"), OpenPreferences()),
    )
    builder.row(
        button("🌍 " + _("Language"), Navigate(to=Screen.LANGUAGE)),
        button("❓ " + _("Help"), Navigate(to=Screen.HELP)),
    )
    return View("\n".join(lines), builder.as_markup())


def categories(viewer: Viewer, items: list[Category], selected_id: int | None) -> View:
    text = (
        "👥 <b>"
        + _("Who are you?")
        + "</b>\n"
        + _("Every resident of a learning city is a student. Choose your category.")
    )
    builder = InlineKeyboardBuilder()
    for category in items:
        mark = "✅ " if category.id == selected_id else ""
        builder.row(
            button(
                mark + translated(category.title, viewer.locale),
                ChooseCategory(category_id=category.id),
            )
        )
    builder.row(_back(Navigate(to=Screen.MENU)))
    return View(text, builder.as_markup())


def tracks(
    viewer: Viewer, category: Category, items: list[TrackSummary], selected_id: int | None
) -> View:
    lines = [f"<b>{viewer.t(category.title)}</b>"]
    if category.description:
        lines.append(viewer.t(category.description))
    lines += ["", _("Choose your personal learning track:")]
    builder = InlineKeyboardBuilder()
    for item in items:
        mark = "✅ " if item.track.id == selected_id else ""
        title = translated(item.track.title, viewer.locale)
        builder.row(
            button(f"{mark}{title} ({item.upcoming_offers})", ChooseTrack(track_id=item.track.id))
        )
    if not items:
        lines.append(_("No tracks here yet."))
    builder.row(_back(Navigate(to=Screen.CATEGORIES)))
    return View("\n".join(lines), builder.as_markup())


def offer_list(viewer: Viewer, page: OfferPage) -> View:
    track = page.track
    lines = [f"📚 <b>{viewer.t(track.title)}</b>"]
    if track.description:
        lines.append(viewer.t(track.description))
    lines.append("")
    if page.total == 0:
        lines.append(_("Nothing is scheduled in this track right now. Try another track."))
    else:
        lines.append(upcoming_range(page.first_number, len(page.items), page.total))
    builder = InlineKeyboardBuilder()
    for number, item in enumerate(page.items, start=page.first_number):
        when = (
            formatting.short_when(item.next_session.starts_at, viewer.zone, viewer.locale)
            if item.next_session
            else ""
        )
        title = translated(item.offer.title, viewer.locale)
        label = f"{number}. {shorten(title, 40)} · {when}" if when else f"{number}. {title}"
        builder.row(
            button(label, ShowOffer(offer_id=item.offer.id, track_id=track.id, page=page.page))
        )
    if page.pages > 1:
        builder.row(
            *pager(
                page.page,
                page.pages,
                lambda number: ChooseTrack(track_id=track.id, page=number),
                PageCounter(),
            )
        )
    builder.row(
        _back(ChooseCategory(category_id=track.category_id)),
        menu_button(),
    )
    return View("\n".join(lines), builder.as_markup())


def offer_card(
    viewer: Viewer,
    card: OfferCard,
    back: CallbackData,
    *,
    session_notes: dict[int, list[str]] | None = None,
    extra_rows: list[list[InlineKeyboardButton]] | None = None,
) -> View:
    """The offer card; `session_notes` add lines under a session (seats, your subscription),
    `extra_rows` add buttons above Back (bot/screens/preferences.py uses both)."""
    offer = card.offer
    lines = [
        f"<b>{viewer.t(offer.title)}</b>",
        f"<i>{formatting.kind(offer)} · {formatting.offer_format(offer)} · "
        f"{formatting.language_name(offer.language)}</i>",
    ]
    description = translated(offer.description, viewer.locale)
    if description:
        lines += ["", escape(shorten(description, DESCRIPTION_LIMIT))]
    lines.append("")
    lines.append("👤 " + _("For whom: {ages}").format(ages=formatting.ages(offer)))
    lines.append("💳 " + _("Price: {price}").format(price=formatting.price(offer, viewer.locale)))
    lines.append("🏫 " + _("Provider: {provider}").format(provider=viewer.t(card.provider.name)))
    if card.festival is not None:
        lines.append(
            "🎪 " + _("Part of: {festival}").format(festival=viewer.t(card.festival.title))
        )
    if offer.accessibility:
        lines.append("♿ " + viewer.t(offer.accessibility))
    lines.append("")
    if not card.sessions:
        lines.append(_("No upcoming sessions."))
    else:
        lines.append("🗓 <b>" + _("Next sessions:") + "</b>")
        for item in card.sessions:
            when = formatting.when(
                item.session.starts_at, item.session.ends_at, viewer.zone, viewer.locale
            )
            lines.append(f"• {when}")
            if item.venue is not None:
                step_free = " · " + _("step-free access") if item.venue.step_free else ""
                lines.append(
                    f"   📍 {viewer.t(item.venue.name)}, {viewer.t(item.venue.address)}{step_free}"
                )
            if item.session.online_url:
                lines.append("   💻 " + escape(item.session.online_url))
            if item.session.status == "changed":
                lines.append("   ⚠️ " + _("time or place changed"))
            lines.extend((session_notes or {}).get(item.session.id, []))
        if card.upcoming_total > len(card.sessions):
            more = card.upcoming_total - len(card.sessions)
            lines.append(_("…and {count} more").format(count=more))
    last_row = [_back(back)]
    if not isinstance(back, Navigate):
        last_row.append(menu_button())
    # Built directly: InlineKeyboardBuilder deep-copies every button on each add and export,
    # about half of the card's rendering time.
    keyboard = InlineKeyboardMarkup(inline_keyboard=[*(extra_rows or []), last_row])
    return View(fit_message("\n".join(lines)), keyboard)


def help_screen() -> View:
    """What I can do: the same commands, and words, as the menu beside the input field."""
    lead = _(
        "I show the courses, master classes, lectures, excursions and festival events "
        "of your city that fit you."
    )
    commands = [f"/{name} — {description}" for name, description in RESIDENT_COMMANDS]
    text = "\n".join(["❓ <b>" + _("What I can do") + "</b>", "", lead, "", *commands])
    builder = InlineKeyboardBuilder()
    builder.row(_back(Navigate(to=Screen.MENU)))
    return View(text, builder.as_markup())
