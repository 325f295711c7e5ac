"""Search results, "did you mean", and the inline-mode answers."""

from __future__ import annotations

from datetime import date
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
from bot.callbacks.search import OpenSearchResult
from bot.callbacks.search import SearchAsTyped
from bot.callbacks.search import SearchFor
from bot.callbacks.search import SearchPage
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
from catalogue.search.demand import UnmetQuery
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
    if found.total == 0 or found.nearest:
        lines = ["🔎 " + _("Nothing found for «{query}».").format(query=shown_query)]
        if found.searched:
            lines.append(searched_line(found.searched))
        if found.nearest:
            lines.append(_("The nearest offers:"))
            rows += result_rows(viewer, found.hits, offers, page, first=1)
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
        shown = escape(shorten(found.searched, 60)) if found.searched else shown_query
        lines = [
            "🔎 "
            + _("«{query}»: {first}–{last} of {total}").format(
                query=shown, first=first, last=last, total=found.total
            )
        ]
        if found.searched:
            lines.append(searched_line(found.searched))
            rows.append(
                [
                    button(
                        "🔤 " + _("Search «{query}» instead").format(query=shorten(query, 30)),
                        SearchAsTyped(),
                    )
                ]
            )
        if found.note == QueryNote.SHORTENED:
            lines.append(_("(Only the beginning of a long message was searched.)"))
        rows += result_rows(viewer, found.hits, offers, page, first)
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


def searched_line(searched: str) -> str:
    """What was searched instead of what was typed."""
    return _("Showing results for «{searched}».").format(searched=escape(shorten(searched, 60)))


def result_rows(
    viewer: Viewer, hits: list[SearchHit], offers: dict[int, Offer], page: int, first: int
) -> list[list[InlineKeyboardButton]]:
    return [
        [
            button(
                result_label(viewer, number, offers[hit.offer_id], hit),
                OpenSearchResult(offer_id=hit.offer_id, page=page),
            )
        ]
        for number, hit in enumerate(hits, start=first)
        if hit.offer_id in offers
    ]


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


def inline_searched(found: SearchResults) -> str | None:
    """Above inline results: what was searched instead of what was typed, or that these
    are the nearest offers."""
    if found.nearest:
        return "🔎 " + _("Nothing found. The nearest offers:")
    if found.searched:
        return "🔎 " + _("Showing results for «{searched}».").format(
            searched=shorten(found.searched, 40)
        )
    return None


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


# ---------------------------------------------------------------- the demand report


def demand_lines(rows: list[UnmetQuery], since: date, until: date) -> list[str]:
    """The report's lines, in HTML (`learncity report demand` prints them as plain text)."""
    period = f"{since.isoformat()} – {until.isoformat()}"
    lines = [
        "🔎 <b>" + _("What residents looked for and did not find") + "</b>",
        escape(period),
        _(
            "Anonymous: each query counts every time it found nothing or none of its results "
            "was opened; forms of the same words count together."
        ),
        "",
    ]
    if not rows:
        lines.append(_("No unmet queries in this period."))
    for number, row in enumerate(rows, start=1):
        lines.append(
            f"{number}. «{escape(shorten(row.query, 60))}» — "
            + _("{unmet} unmet: {nothing} found nothing, {unopened} not opened").format(
                unmet=row.unmet, nothing=row.found_nothing, unopened=row.not_opened
            )
        )
    return lines


def demand_report(rows: list[UnmetQuery], since: date, until: date) -> View:
    lines = demand_lines(rows, since, until)
    lines += ["", _("Any period: <code>/report demand 2025-06-01 2025-06-30</code>")]
    builder = InlineKeyboardBuilder()
    builder.row(menu_button())
    return View("\n".join(lines), builder.as_markup())


def demand_usage() -> str:
    return _(
        "Give the period as two dates, the first not after the second: "
        "<code>/report demand 2025-06-01 2025-06-30</code>, or none for the last 30 days."
    )
