"""Search: plain text outside a form finds offers; filters, "did you mean", near me, inline mode.

The query and the chosen filters are kept in the resident's FSM data (Redis when several
processes serve the bot), so buttons carry only a page number or a filter name.
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

from aiogram import BaseMiddleware
from aiogram import Bot
from aiogram import F
from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.types import InlineQuery
from aiogram.types import Message
from aiogram.types import TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.search import SearchFor
from bot.callbacks.search import SearchPage
from bot.callbacks.search import SearchResult
from bot.callbacks.search import SearchToggle
from bot.callbacks.search import ToggleSearchFilter
from bot.filters import TYPED
from bot.filters import Magic
from bot.screens import search as search_screens
from bot.screens.offer_cards import OfferCards
from bot.screens.view import Viewer
from bot.screens.view import notice
from bot.screens.view import show
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.queries import offers_by_id
from catalogue.search.engine import CatalogueSearch
from catalogue.search.engine import GeoPoint
from catalogue.search.engine import SearchFilters
from catalogue.search.engine import When

router = Router(name=__name__)

SEARCH_KEY = "search"
QUERY_LIMIT = 200  # the index reads only the beginning of longer text anyway
INLINE_RESULTS = 10


@dataclass
class ResidentSearch:
    """One resident's search: what they asked for, kept in FSM data, and its results screen."""

    state: FSMContext
    session: AsyncSession
    resident: Resident
    viewer: Viewer
    catalogue_search: CatalogueSearch

    async def saved(self) -> dict[str, Any] | None:
        saved = (await self.state.get_data()).get(SEARCH_KEY)
        return saved if isinstance(saved, dict) and "query" in saved else None

    async def show(
        self, event: Message | CallbackQuery, saved: dict[str, Any], page: int = 0
    ) -> None:
        await self.state.update_data({SEARCH_KEY: saved})
        index = await self.catalogue_search.refresh_if_stale(self.session)
        per_page = search_screens.RESULTS_PER_PAGE
        filters = self.filters(saved)
        found = index.search(
            saved["query"],
            filters,
            now=utc_now(),
            zone=self.viewer.zone,
            limit=(max(page, 0) + 1) * per_page,
        )
        # A page past the end (results shrank since the button was drawn) shows the last one.
        page = min(max(page, 0), max(found.total - 1, 0) // per_page)
        hits = found.hits[page * per_page :]
        offers = await offers_by_id(self.session, [hit.offer_id for hit in hits])
        toggles = {SearchToggle(name) for name in saved.get("toggles", [])}
        if saved.get("near"):
            toggles.add(SearchToggle.NEAR_ME)
        view = search_screens.results(
            self.viewer,
            saved["query"],
            replace(found, hits=hits),
            offers,
            page,
            toggles,
            has_track=self.resident.track_id is not None,
        )
        await show(event, view)

    def filters(self, saved: dict[str, Any]) -> SearchFilters:
        toggles = set(saved.get("toggles", []))
        near = saved.get("near")
        return SearchFilters(
            free_only=SearchToggle.FREE in toggles,
            step_free_only=SearchToggle.STEP_FREE in toggles,
            when=When.THIS_WEEK if SearchToggle.THIS_WEEK in toggles else None,
            track_id=self.resident.track_id if SearchToggle.MY_TRACK in toggles else None,
            near=GeoPoint(*near) if near else None,
        )

    @staticmethod
    async def expired(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
        callback_answer.text = _("This search has expired.")
        await show(callback, search_screens.stale_search())


class ResidentSearchMiddleware(BaseMiddleware):
    """Hands this router's handlers a `ResidentSearch` instead of five separate services."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if "resident" in data and "state" in data:
            data["search"] = ResidentSearch(
                data["state"],
                data["session"],
                data["resident"],
                data["viewer"],
                data["catalogue_search"],
            )
        return await handler(event, data)


router.message.middleware(ResidentSearchMiddleware())
router.callback_query.middleware(ResidentSearchMiddleware())


@router.message(StateFilter(None), TYPED)
async def search_typed_text(message: Message, search: ResidentSearch) -> None:
    previous = await search.saved() or {}
    # A new query keeps the filters the resident chose; near-me needs a fresh location.
    query = (message.text or "")[:QUERY_LIMIT]
    await search.show(message, {"query": query, "toggles": previous.get("toggles", [])})


@router.callback_query(SearchFor.filter())
async def search_suggestion(
    callback: CallbackQuery, callback_data: SearchFor, search: ResidentSearch
) -> None:
    saved = await search.saved() or {"toggles": []}
    await search.show(callback, saved | {"query": callback_data.text})


@router.callback_query(SearchPage.filter())
async def turn_page(
    callback: CallbackQuery,
    callback_data: SearchPage,
    callback_answer: CallbackAnswer,
    search: ResidentSearch,
) -> None:
    saved = await search.saved()
    if saved is None:
        await search.expired(callback, callback_answer)
        return
    await search.show(callback, saved, callback_data.page)


@router.callback_query(ToggleSearchFilter.filter())
async def toggle_filter(
    callback: CallbackQuery,
    callback_data: ToggleSearchFilter,
    callback_answer: CallbackAnswer,
    search: ResidentSearch,
) -> None:
    saved = await search.saved()
    if saved is None:
        await search.expired(callback, callback_answer)
        return
    toggle = callback_data.name
    if toggle == SearchToggle.NEAR_ME and not saved.get("near"):
        # Telegram asks for a location only through a reply keyboard, in a new message.
        if isinstance(callback.message, Message):
            await show(callback.message, search_screens.ask_location())
        return
    if toggle == SearchToggle.NEAR_ME:
        saved["near"] = None
    elif toggle == SearchToggle.MY_TRACK and search.resident.track_id is None:
        callback_answer.text = _("Choose a learning track first: /tracks")
        return
    else:
        saved["toggles"] = sorted(set(saved.get("toggles", [])) ^ {toggle.value})
    await search.show(callback, saved)


@router.message(Magic(F.location))
async def search_near_location(message: Message, search: ResidentSearch) -> None:
    location = message.location
    assert location is not None  # the filter guarantees it
    saved = await search.saved() or {"query": "", "toggles": []}
    await search.show(message, saved | {"near": [location.latitude, location.longitude]})


@router.callback_query(SearchResult.filter())
async def open_result(
    callback: CallbackQuery,
    callback_data: SearchResult,
    callback_answer: CallbackAnswer,
    session: AsyncSession,
    offer_cards: OfferCards,
    resident: Resident,
    viewer: Viewer,
) -> None:
    back = SearchPage(page=callback_data.page)
    view = await offer_cards.view(session, resident, viewer, callback_data.offer_id, back)
    if view is None:
        callback_answer.text = _("This offer has been removed from the programme.")
        await show(callback, notice(_("This offer is no longer in the programme."), back))
        return
    await show(callback, view)


@router.inline_query()
async def inline_search(
    inline_query: InlineQuery,
    bot: Bot,
    session: AsyncSession,
    viewer: Viewer,
    catalogue_search: CatalogueSearch,
    offer_cards: OfferCards,
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
        card = await offer_cards.programme.card(session, hit.offer_id, utc_now())
        if card is not None:
            articles.append(search_screens.inline_article(viewer, card, me.username or ""))
    await inline_query.answer(articles, cache_time=60, is_personal=False)
