"""Search: plain text outside a form finds offers; filters, "did you mean", near me, inline mode.

The query and the chosen filters are kept in the resident's FSM data (Redis when several
processes serve the bot), so buttons carry only a page number or a filter name.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram import F
from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.types import InlineQuery
from aiogram.types import InlineQueryResultsButton
from aiogram.types import Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.search import DemandReport
from bot.callbacks.search import OpenSearchResult
from bot.callbacks.search import SearchAsTyped
from bot.callbacks.search import SearchFor
from bot.callbacks.search import SearchPage
from bot.callbacks.search import SearchResult
from bot.callbacks.search import SearchToggle
from bot.callbacks.search import ToggleSearchFilter
from bot.filters import TYPED
from bot.filters import Magic
from bot.middlewares.hand_over import HandOver
from bot.permissions import protect
from bot.screens import search as search_screens
from bot.screens.learners.survey import with_survey
from bot.screens.offer_cards import OfferCards
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import show
from catalogue.learners.survey import survey_between
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.queries import offers_by_id
from catalogue.search.demand import demand_period
from catalogue.search.demand import record_opened
from catalogue.search.demand import record_search
from catalogue.search.demand import unmet_queries
from catalogue.search.engine import CatalogueSearch
from catalogue.search.engine import GeoPoint
from catalogue.search.engine import SearchFilters
from catalogue.search.engine import SearchResults
from catalogue.search.engine import When
from catalogue.team import Permission
from handlers.browse import show_offer

router = Router(name=__name__)

SEARCH_KEY = "search"
DEMAND_KEY = "search_demand"  # the last counted query, until one of its results is opened
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

    @classmethod
    def of(cls, data: dict[str, Any]) -> ResidentSearch | None:
        """The search of the resident an update comes from; None for an update from no one."""
        if "resident" not in data or "state" not in data:
            return None
        return cls(
            data["state"],
            data["session"],
            data["resident"],
            data["viewer"],
            data["catalogue_search"],
        )

    async def saved(self) -> dict[str, Any] | None:
        return kept_search(await self.state.get_data())

    async def new(self, event: Message | CallbackQuery, query: str) -> None:
        """A new query: keeps the filters the resident chose (near-me needs a fresh location)
        and is counted, anonymously, for the demand report (catalogue/search/demand.py)."""
        data = await self.state.get_data()
        previous = kept_search(data) or {}
        saved = {"query": query, "toggles": previous.get("toggles", [])}
        found, view = await self.results(saved)
        day = utc_now().astimezone(self.viewer.zone).date()
        met = found.total > 0 and not found.nearest
        key = await record_search(self.session, found.searched or query, met, day)
        demand = {"key": key, "day": day.isoformat()} if key else None
        await self.state.set_data(data | {SEARCH_KEY: saved, DEMAND_KEY: demand})
        await show(event, view)

    async def opened(self) -> None:
        """A result of the last counted query was opened: counted once per query."""
        data = await self.state.get_data()
        demand = data.get(DEMAND_KEY)
        if isinstance(demand, dict) and "key" in demand and "day" in demand:
            await self.state.update_data({DEMAND_KEY: None})
            await record_opened(self.session, demand["key"], date.fromisoformat(demand["day"]))

    async def show(
        self, event: Message | CallbackQuery, saved: dict[str, Any], page: int = 0
    ) -> None:
        await self.state.update_data({SEARCH_KEY: saved})
        _, view = await self.results(saved, page)
        await show(event, view)

    async def results(self, saved: dict[str, Any], page: int = 0) -> tuple[SearchResults, View]:
        """The search kept in `saved`, and its screen at `page`."""
        index = await self.catalogue_search.refresh_if_stale(self.session)
        per_page = search_screens.RESULTS_PER_PAGE
        filters = self.filters(saved)
        found = index.search(
            saved["query"],
            filters,
            now=utc_now(),
            zone=self.viewer.zone,
            limit=(max(page, 0) + 1) * per_page,
            locale=self.viewer.locale,
            correct=not saved.get("as_typed", False),
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
        return found, view

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


def kept_search(data: dict[str, Any]) -> dict[str, Any] | None:
    """The search kept in a resident's FSM data; None once it has expired (or was never made)."""
    saved = data.get(SEARCH_KEY)
    return saved if isinstance(saved, dict) and "query" in saved else None


async def still_kept(callback: CallbackQuery, state: FSMContext) -> dict[str, Any] | bool:
    """Filter of the buttons under results: the kept search, handed on as `saved`."""
    saved = kept_search(await state.get_data())
    return {"saved": saved} if saved is not None else False


# The handlers here may take `search` instead of the five services it bundles.
router.message.middleware(HandOver("search", ResidentSearch.of))
router.callback_query.middleware(HandOver("search", ResidentSearch.of))


@router.message(StateFilter(None), TYPED)
async def search_typed_text(message: Message, search: ResidentSearch) -> None:
    await search.new(message, (message.text or "")[:QUERY_LIMIT])


@router.callback_query(SearchFor.filter())
async def search_suggestion(
    callback: CallbackQuery, callback_data: SearchFor, search: ResidentSearch
) -> None:
    await search.new(callback, callback_data.text[:QUERY_LIMIT])


@router.callback_query(SearchAsTyped.filter(), still_kept)
async def search_as_typed(
    callback: CallbackQuery, search: ResidentSearch, saved: dict[str, Any]
) -> None:
    """ "Search «…» instead": the words as typed, without the correction."""
    await search.show(callback, saved | {"as_typed": True})


@router.callback_query(OpenSearchResult.filter())
async def open_result(
    callback: CallbackQuery,
    callback_data: OpenSearchResult,
    callback_answer: CallbackAnswer,
    search: ResidentSearch,
    offer_cards: OfferCards,
) -> None:
    """An offer opened from the results: the card as browse shows it, and the query met."""
    await search.opened()
    await show_offer(
        callback,
        SearchResult(offer_id=callback_data.offer_id, page=callback_data.page),
        callback_answer,
        search.session,
        offer_cards,
        search.resident,
        search.viewer,
    )


@router.callback_query(SearchPage.filter(), still_kept)
async def turn_page(
    callback: CallbackQuery,
    callback_data: SearchPage,
    search: ResidentSearch,
    saved: dict[str, Any],
) -> None:
    await search.show(callback, saved, callback_data.page)


@router.callback_query(ToggleSearchFilter.filter(), still_kept)
async def toggle_filter(
    callback: CallbackQuery,
    callback_data: ToggleSearchFilter,
    callback_answer: CallbackAnswer,
    search: ResidentSearch,
    saved: dict[str, Any],
) -> None:
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


@router.callback_query(SearchPage.filter())
@router.callback_query(ToggleSearchFilter.filter())
@router.callback_query(SearchAsTyped.filter())
async def search_expired(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    """A button under results whose search is no longer kept (`still_kept` found none)."""
    callback_answer.text = _("This search has expired.")
    await show(callback, search_screens.stale_search())


@router.message(Magic(F.location))
async def search_near_location(message: Message, search: ResidentSearch) -> None:
    location = message.location
    assert location is not None  # the filter guarantees it
    saved = await search.saved() or {"query": "", "toggles": []}
    await search.show(message, saved | {"near": [location.latitude, location.longitude]})


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
    found = index.search(
        query,
        filters,
        now=utc_now(),
        zone=viewer.zone,
        limit=INLINE_RESULTS,
        locale=viewer.locale,
    )
    me = await bot.me()
    articles = []
    for hit in found.hits:
        card = await offer_cards.programme.card(session, hit.offer_id, utc_now())
        if card is not None:
            articles.append(search_screens.inline_article(viewer, card, me.username or ""))
    searched = search_screens.inline_searched(found) if articles else None
    # What was searched, above the results; pressing it opens the bot.
    heading = (
        None
        if searched is None
        else InlineQueryResultsButton(text=searched, start_parameter="search")
    )
    await inline_query.answer(
        articles, cache_time=60, is_personal=viewer.locale != "en", button=heading
    )


# ---------------------------------------------------------------- the demand report (/report)

demand_router = protect(Router(name=f"{__name__}.demand"), Permission.VIEW_REPORTS)
router.include_router(demand_router)
DEMAND_ROWS = 20
UTC_ZONE = ZoneInfo("UTC")


async def show_demand(
    event: Message | CallbackQuery,
    session: AsyncSession,
    words: list[str],
    today: date,
    zone: ZoneInfo = UTC_ZONE,
) -> None:
    """`/report demand [FROM TO]` and its button: the top unmet queries of a period, and what
    residents answered the survey "What would you like to learn?" (catalogue/learners/)."""
    period = demand_period(words, today)
    if period is None:
        await show(event, View(search_screens.demand_usage()))
        return
    rows = await unmet_queries(session, *period, limit=DEMAND_ROWS)
    survey = await survey_between(session, *period, zone)
    await show(event, with_survey(search_screens.demand_report(rows, *period), survey))


@demand_router.callback_query(DemandReport.filter())
async def demand_button(callback: CallbackQuery, session: AsyncSession, viewer: Viewer) -> None:
    today = utc_now().astimezone(viewer.zone).date()
    await show_demand(callback, session, [], today, viewer.zone)
