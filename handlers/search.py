"""Search: plain text outside a form finds offers; filters, "did you mean", near me, inline mode.

The query and the chosen filters are kept in the resident's FSM data (Redis when several
processes serve the bot), so buttons carry only a page number or a filter name.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import screens, search_screens
from bot.replies import show
from bot.screens import Viewer
from bot.search_callbacks import (
    SearchFor,
    SearchPage,
    SearchResult,
    SearchToggle,
    ToggleSearchFilter,
)
from catalogue.models import Offer, Resident, utc_now
from catalogue.queries import offer_card
from catalogue.search import CatalogueSearch, GeoPoint, SearchFilters, When
from handlers.subscriptions import offer_card_view

router = Router(name=__name__)

SEARCH_KEY = "search"
QUERY_LIMIT = 200  # the index reads only the beginning of longer text anyway
INLINE_RESULTS = 10


def search_filters(saved: dict[str, Any], resident: Resident) -> SearchFilters:
    toggles = set(saved.get("toggles", []))
    near = saved.get("near")
    return SearchFilters(
        free_only=SearchToggle.FREE in toggles,
        step_free_only=SearchToggle.STEP_FREE in toggles,
        when=When.THIS_WEEK if SearchToggle.THIS_WEEK in toggles else None,
        track_id=resident.track_id if SearchToggle.MY_TRACK in toggles else None,
        near=GeoPoint(*near) if near else None,
    )


async def show_results(
    event: Message | CallbackQuery,
    saved: dict[str, Any],
    page: int,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
    catalogue_search: CatalogueSearch,
) -> None:
    index = await catalogue_search.refresh_if_stale(session)
    per_page = search_screens.RESULTS_PER_PAGE
    page = max(page, 0)
    found = index.search(
        saved["query"],
        search_filters(saved, resident),
        now=utc_now(),
        zone=viewer.zone,
        limit=(page + 1) * per_page,
    )
    if found.total and page * per_page >= found.total:
        page = (found.total - 1) // per_page
        found = index.search(
            saved["query"], search_filters(saved, resident), now=utc_now(), zone=viewer.zone,
            limit=(page + 1) * per_page,
        )  # fmt: skip
    hits = found.hits[page * per_page :]
    rows = await session.scalars(select(Offer).where(Offer.id.in_([hit.offer_id for hit in hits])))
    offers = {offer.id: offer for offer in rows}
    toggles = {SearchToggle(name) for name in saved.get("toggles", [])}
    if saved.get("near"):
        toggles.add(SearchToggle.NEAR_ME)
    page_results = replace(found, hits=hits)
    view = search_screens.results(
        viewer, saved["query"], page_results, offers, page, toggles, resident.track_id is not None
    )
    await show(event, view)


async def saved_search(state: FSMContext) -> dict[str, Any] | None:
    saved = (await state.get_data()).get(SEARCH_KEY)
    return saved if isinstance(saved, dict) and "query" in saved else None


@router.message(StateFilter(None), F.text, ~F.text.startswith("/"))
async def search_typed_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
    catalogue_search: CatalogueSearch,
) -> None:
    previous = await saved_search(state) or {}
    # A new query keeps the filters the resident chose; near-me needs a fresh location.
    saved = {"query": (message.text or "")[:QUERY_LIMIT], "toggles": previous.get("toggles", [])}
    await state.update_data({SEARCH_KEY: saved})
    await show_results(message, saved, 0, session, resident, viewer, catalogue_search)


@router.callback_query(SearchFor.filter())
async def search_suggestion(
    callback: CallbackQuery,
    callback_data: SearchFor,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
    catalogue_search: CatalogueSearch,
) -> None:
    saved = (await saved_search(state)) or {"toggles": []}
    saved["query"] = callback_data.text
    await state.update_data({SEARCH_KEY: saved})
    await show_results(callback, saved, 0, session, resident, viewer, catalogue_search)


@router.callback_query(SearchPage.filter())
async def turn_page(
    callback: CallbackQuery,
    callback_data: SearchPage,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
    catalogue_search: CatalogueSearch,
) -> None:
    saved = await saved_search(state)
    if saved is None:
        callback_answer.text = _("This search has expired.")
        await show(callback, search_screens.stale_search())
        return
    await show_results(
        callback, saved, callback_data.page, session, resident, viewer, catalogue_search
    )


@router.callback_query(ToggleSearchFilter.filter())
async def toggle_filter(
    callback: CallbackQuery,
    callback_data: ToggleSearchFilter,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
    catalogue_search: CatalogueSearch,
) -> None:
    saved = await saved_search(state)
    if saved is None:
        callback_answer.text = _("This search has expired.")
        await show(callback, search_screens.stale_search())
        return
    toggle = callback_data.name
    if toggle == SearchToggle.NEAR_ME:
        if saved.get("near"):
            saved["near"] = None
        else:
            # Telegram asks for a location only through a reply keyboard, in a new message.
            if isinstance(callback.message, Message):
                await show(callback.message, search_screens.ask_location())
            return
    elif toggle == SearchToggle.MY_TRACK and resident.track_id is None:
        callback_answer.text = _("Choose a learning track first: /tracks")
        return
    else:
        toggles = set(saved.get("toggles", []))
        toggles.symmetric_difference_update({toggle.value})
        saved["toggles"] = sorted(toggles)
    await state.update_data({SEARCH_KEY: saved})
    await show_results(callback, saved, 0, session, resident, viewer, catalogue_search)


@router.message(F.location)
async def search_near_location(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
    catalogue_search: CatalogueSearch,
) -> None:
    location = message.location
    assert location is not None  # the filter guarantees it
    saved = await saved_search(state) or {"query": "", "toggles": []}
    saved["near"] = [location.latitude, location.longitude]
    await state.update_data({SEARCH_KEY: saved})
    await show_results(message, saved, 0, session, resident, viewer, catalogue_search)


@router.callback_query(SearchResult.filter())
async def open_result(
    callback: CallbackQuery,
    callback_data: SearchResult,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    resident: Resident,
    viewer: Viewer,
) -> None:
    back = SearchPage(page=callback_data.page)
    view = await offer_card_view(session, resident, viewer, callback_data.offer_id, back)
    if view is None:
        callback_answer.text = _("This offer has been removed from the programme.")
        await show(callback, screens.notice(_("This offer is no longer in the programme."), back))
        return
    await show(callback, view)


@router.inline_query()
async def inline_search(
    inline_query: InlineQuery,
    bot: Bot,
    session: AsyncSession,
    viewer: Viewer,
    catalogue_search: CatalogueSearch,
) -> None:
    """`@bot pottery` in any chat: offer cards to share with friends."""
    index = await catalogue_search.refresh_if_stale(session)
    query = inline_query.query[:QUERY_LIMIT]
    # An empty query shows what is on this week, soonest first.
    filters = SearchFilters() if query.strip() else SearchFilters(when=When.THIS_WEEK)
    found = index.search(query, filters, now=utc_now(), zone=viewer.zone, limit=INLINE_RESULTS)
    me = await bot.me()
    articles = []
    for hit in found.hits:
        card = await offer_card(session, hit.offer_id, utc_now())
        if card is not None:
            articles.append(search_screens.inline_article(viewer, card, me.username or ""))
    await inline_query.answer(articles, cache_time=60, is_personal=False)
