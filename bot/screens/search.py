"""Search results, "did you mean", and the inline-mode answers."""

from __future__ import annotations

from html import escape

from aiogram.types import InlineKeyboardButton
from aiogram.types import InlineKeyboardMarkup
from aiogram.types import InlineQueryResultArticle
from aiogram.types import InputTextMessageContent
from aiogram.types import KeyboardButton
from aiogram.types import ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import formatting
from bot.callbacks.browse import Navigate
from bot.callbacks.browse import PageCounter
from bot.callbacks.browse import Screen
from bot.callbacks.search import SearchFor
from bot.callbacks.search import SearchPage
from bot.callbacks.search import SearchResult
from bot.callbacks.search import SearchToggle
from bot.callbacks.search import ToggleSearchFilter
from bot.screens.browse import offer_card
from bot.screens.view import BUTTON_TEXT_LIMIT
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import button
from bot.screens.view import menu_button
from bot.screens.view import shorten
from catalogue.models import Offer
from catalogue.models import translated
from catalogue.queries import OfferCard
from catalogue.search.engine import QueryNote
from catalogue.search.engine import SearchHit
from catalogue.search.engine import SearchResults

RESULTS_PER_PAGE = 5
TOGGLE_LABELS = {
    SearchToggle.FREE: __("🆓 Free"),
    SearchToggle.STEP_FREE: __("♿ Step-free"),
    SearchToggle.THIS_WEEK: __("📅 This week"),
    SearchToggle.MY_TRACK: __("🎯 My track"),
    SearchToggle.NEAR_ME: __("📍 Near me"),
}
# `SearchFilters` field names, as "relax" advice.
FILTER_NAMES = {
    "free_only": SearchToggle.FREE,
    "step_free_only": SearchToggle.STEP_FREE,
    "when": SearchToggle.THIS_WEEK,
    "track_id": SearchToggle.MY_TRACK,
}


def results(
    viewer: Viewer,
    query: str,
    found: SearchResults,
    offers: dict[int, Offer],
    page: int,
    toggles: set[SearchToggle],
    has_track: bool,
) -> View:
    shown_query = escape(shorten(query, 60))
    # Rows built directly: aiogram's builder deep-copies every button on the way out.
    rows: list[list[InlineKeyboardButton]] = []
    if found.note in {QueryNote.EMPTY, QueryNote.TOO_SHORT, QueryNote.NOTHING_TO_SEARCH} and not (
        found.hits
    ):
        text = "🔎 " + _(
            "Type what you would like to learn, in a word or two: for example "
            "<i>ceramics</i>, <i>английский</i> or <i>robotics</i>."
        )
        rows.append([menu_button()])
        return View(text, InlineKeyboardMarkup(inline_keyboard=rows))
    pages = max(1, -(-found.total // RESULTS_PER_PAGE))
    if found.total == 0:
        lines = ["🔎 " + _("Nothing found for «{query}».").format(query=shown_query)]
        advice = found.suggestions
        if advice and advice.did_you_mean:
            lines.append(_("Did you mean:"))
            rows.append(
                [button(word, SearchFor(text=word[:40])) for word in advice.did_you_mean[:3]]
            )
        relaxable = [
            FILTER_NAMES[name]
            for name in (advice.relax_filters if advice else [])
            if name in FILTER_NAMES
        ]
        if relaxable:
            lines.append(_("Or drop a filter:"))
            rows.append(
                [
                    button("✖ " + str(TOGGLE_LABELS[toggle]), ToggleSearchFilter(name=toggle))
                    for toggle in relaxable
                ]
            )
    else:
        first = page * RESULTS_PER_PAGE + 1
        last = min(found.total, first + RESULTS_PER_PAGE - 1)
        lines = [
            "🔎 "
            + _("«{query}»: {first}–{last} of {total}").format(
                query=shown_query, first=first, last=last, total=found.total
            )
        ]
        if found.note == QueryNote.SHORTENED:
            lines.append(_("(Only the beginning of a long message was searched.)"))
        for number, hit in enumerate(found.hits, start=first):
            offer = offers.get(hit.offer_id)
            if offer is not None:
                rows.append(
                    [
                        button(
                            result_label(viewer, number, offer, hit),
                            SearchResult(offer_id=offer.id, page=page),
                        )
                    ]
                )
        if pages > 1:
            navigation = []
            if page > 0:
                navigation.append(button("‹", SearchPage(page=page - 1)))
            navigation.append(button(f"{page + 1} / {pages}", PageCounter()))
            if page < pages - 1:
                navigation.append(button("›", SearchPage(page=page + 1)))
            rows.append(navigation)
    available = [toggle for toggle in SearchToggle if toggle != SearchToggle.MY_TRACK or has_track]
    for start in range(0, len(available), 3):
        rows.append(
            [
                button(
                    ("✅ " if toggle in toggles else "") + str(TOGGLE_LABELS[toggle]),
                    ToggleSearchFilter(name=toggle),
                )
                for toggle in available[start : start + 3]
            ]
        )
    rows.append([menu_button()])
    return View("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows))


def result_label(viewer: Viewer, number: int, offer: Offer, hit: SearchHit) -> str:
    """ "3. Pottery wheel · 6 Dec, 17:00 · 0.4 km": the title gives way, the facts stay."""
    facts = []
    if hit.next_session_at is not None:
        facts.append(formatting.short_when(hit.next_session_at, viewer.zone, viewer.locale))
    if hit.distance_km is not None:
        facts.append(_("{km} km").format(km=f"{hit.distance_km:.1f}"))
    suffix = "".join(" · " + fact for fact in facts)
    prefix = f"{number}. "
    room = max(BUTTON_TEXT_LIMIT - len(prefix) - len(suffix), 12)
    return prefix + shorten(translated(offer.title, viewer.locale), room) + suffix


def ask_location() -> View:
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="📍 " + _("Send my location"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    text = _(
        "Share your location and I will put the nearest learning places first. "
        "It is used for this search only and is not stored."
    )
    return View(text, keyboard)  # type: ignore[arg-type]


def stale_search() -> View:
    builder = InlineKeyboardBuilder()
    builder.row(menu_button())
    return View(
        _("This search has expired. Just type what you are looking for again."), builder.as_markup()
    )


def inline_article(viewer: Viewer, card: OfferCard, bot_username: str) -> InlineQueryResultArticle:
    """An offer card to share in any chat, with a button that opens it in the bot."""
    view = offer_card(viewer, card, back=Navigate(to=Screen.MENU))
    link = f"https://t.me/{bot_username}?start=offer_{card.offer.id}"
    open_in_bot = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="🏙 " + _("Open in the bot"), url=link)]]
    )
    next_session = card.sessions[0].session.starts_at if card.sessions else None
    description = formatting.kind(card.offer)
    if next_session is not None:
        description += " · " + formatting.short_when(next_session, viewer.zone, viewer.locale)
    return InlineQueryResultArticle(
        id=str(card.offer.id),
        title=translated(card.offer.title, viewer.locale),
        description=description,
        input_message_content=InputTextMessageContent(message_text=view.text, parse_mode="HTML"),
        reply_markup=open_in_bot,
    )
