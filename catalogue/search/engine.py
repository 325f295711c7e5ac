"""Catalogue search for the bot and the command line: the index built from the database,
kept current, and the search command. How matching and ranking work is told in
`catalogue.search.index`; everything a caller needs is importable from here. The index and
its numpy and rapidfuzz are imported when the first one is built, not when the bot starts.

A handler keeps one `CatalogueSearch` for the process and, per query::

    index = await catalogue_search.refresh_if_stale(session)
    results = index.search(text, SearchFilters(free_only=True), now=now, zone=resident_zone)
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from datetime import UTC
from datetime import timedelta
from typing import TYPE_CHECKING
from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Category
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Provider
from catalogue.models import SessionStatus
from catalogue.models import Track
from catalogue.models import TrackStep
from catalogue.models import Venue
from catalogue.models import translated
from catalogue.models import utc_now
from catalogue.search.synonyms import synonym_groups
from catalogue.search.text import is_cyrillic
from catalogue.search.types import CatalogueSnapshot
from catalogue.search.types import CatalogueVersion
from catalogue.search.types import DateRange
from catalogue.search.types import GeoPoint
from catalogue.search.types import Matched
from catalogue.search.types import OfferFacts
from catalogue.search.types import QueryNote
from catalogue.search.types import SearchFilters
from catalogue.search.types import SearchHit
from catalogue.search.types import SearchResults
from catalogue.search.types import SessionFacts
from catalogue.search.types import Suggestions
from catalogue.search.types import TrackMembership
from catalogue.search.types import VenueFacts
from catalogue.search.types import When

if TYPE_CHECKING:
    from catalogue.search.index import SearchIndex

FactsT = TypeVar("FactsT")

__all__ = [
    "CatalogueSearch",
    "CatalogueVersion",
    "DateRange",
    "GeoPoint",
    "Matched",
    "QueryNote",
    "SearchFilters",
    "SearchHit",
    "SearchResults",
    "Suggestions",
    "When",
    "build_search_index",
    "catalogue_version",
    "search_command",
]


async def catalogue_version(session: AsyncSession) -> CatalogueVersion:
    """One scan of the offer table and a primary-key lookup: about 30 ms at 100k offers on
    PostgreSQL, which is why `CatalogueSearch` checks it at most every few seconds."""
    last_session_id = select(func.max(OfferSession.id)).scalar_subquery()
    row = await session.execute(
        select(func.count(Offer.id), func.max(Offer.updated_at), last_session_id)
    )
    return CatalogueVersion(*row.one())


async def load_snapshot(session: AsyncSession) -> CatalogueSnapshot:
    """What the index needs, in ten queries; the version is read first, so a change made
    while loading shows as a newer version at the next check."""
    version = await catalogue_version(session)
    offers = await _facts(
        session,
        OfferFacts,
        select(
            Offer.id,
            Offer.title,
            Offer.keywords,
            Offer.kind,
            Offer.format,
            Offer.language,
            Offer.age_min,
            Offer.age_max,
            Offer.price_minor,
            Offer.provider_id,
            Offer.description,
            Offer.festival_id,
        ).order_by(Offer.id),
    )
    providers = dict((await session.execute(select(Provider.id, Provider.name))).all())
    venues = await _facts(
        session,
        VenueFacts,
        select(
            Venue.id, Venue.name, Venue.latitude, Venue.longitude, Venue.step_free, Venue.address
        ),
    )
    sessions = await _facts(
        session,
        SessionFacts,
        select(
            OfferSession.offer_id,
            OfferSession.venue_id,
            OfferSession.starts_at,
            OfferSession.ends_at,
        ).where(OfferSession.ends_at > utc_now(), OfferSession.status != SessionStatus.CANCELLED),
    )
    tracks = await _facts(
        session,
        TrackMembership,
        select(TrackStep.offer_id, TrackStep.track_id, Track.category_id).join(
            Track, Track.id == TrackStep.track_id
        ),
    )
    return CatalogueSnapshot(
        version,
        offers,
        providers,
        venues,
        sessions,
        tracks,
        festival_titles=dict((await session.execute(select(Festival.id, Festival.title))).all()),
        track_titles=dict((await session.execute(select(Track.id, Track.title))).all()),
        category_titles=dict((await session.execute(select(Category.id, Category.title))).all()),
        synonyms=[group.words for group in await synonym_groups(session)],
    )


async def _facts(
    session: AsyncSession, facts_type: Callable[..., FactsT], query: Select
) -> list[FactsT]:
    """Each row of `query` as a `facts_type`: its columns in the order of the type's fields."""
    return [facts_type(*row) for row in await session.execute(query)]


async def build_search_index(session: AsyncSession) -> SearchIndex:
    # Imported here: numpy and rapidfuzz would add 13 MB and 0.15 s to every start.
    from catalogue.search.index import SearchIndex

    snapshot = await load_snapshot(session)
    # The CPU part runs in a thread, so a large catalogue does not stall the bot's loop.
    return await asyncio.to_thread(SearchIndex.build, snapshot)


class CatalogueSearch:
    """The process's search index, rebuilt when the catalogue changes.

    `refresh_if_stale` compares a fingerprint of the catalogue (the number of offers, the
    latest `Offer.updated_at` and the highest session id) with the index's, at most once
    every `recheck_every`, so a query seldom costs a database round trip. Every import
    re-stamps `updated_at` on the offers it carries, and new sessions raise the highest id,
    so imports are seen. Edits the fingerprint cannot see, such as a session moved or
    cancelled without its offer being re-imported or a venue made step-free, are picked up
    by the rebuild every `rebuild_every`. While a rebuild runs, other queries use the
    previous index instead of waiting.
    """

    def __init__(
        self,
        *,
        recheck_every: timedelta = timedelta(seconds=10),
        rebuild_every: timedelta = timedelta(minutes=30),
    ) -> None:
        self.recheck_every = recheck_every.total_seconds()
        self.rebuild_every = rebuild_every.total_seconds()
        self._index: SearchIndex | None = None
        self._checked_at = -math.inf
        self._lock = asyncio.Lock()

    async def refresh_if_stale(self, session: AsyncSession) -> SearchIndex:
        """The current index, rebuilt first if the catalogue has changed."""
        index = self._index
        if index is not None and (
            self._lock.locked() or time.monotonic() - self._checked_at < self.recheck_every
        ):
            return index
        async with self._lock:
            self._checked_at = time.monotonic()
            index = self._index
            if (
                index is None
                or time.monotonic() - index.built_at >= self.rebuild_every
                or await catalogue_version(session) != index.version
            ):
                self._index = await build_search_index(session)
            return self._index


# ---------------------------------------------------------------- command line


async def search_command(
    session: AsyncSession,
    query: str,
    limit: int = 10,
    as_json: bool = False,
    locale: str | None = None,
) -> str:
    """`learncity catalogue search`: ranked lines "id<TAB>title<TAB>score" (the stable id,
    the title in the query's script), after a line saying what was searched when it was not
    the words typed; the nearest offers and a line of advice when nothing matches. With
    `as_json`, one object: the query, what was searched, the correction applied, whether the
    results are the nearest offers, and the results."""
    index = await build_search_index(session)
    results = index.search(query, now=utc_now(), zone=UTC, limit=limit, locale=locale)
    offer_ids = [hit.offer_id for hit in results.hits]
    rows = await session.execute(
        select(Offer.id, Offer.external_id, Offer.title).where(Offer.id.in_(offer_ids))
    )
    offers = {offer_id: (external_id, title) for offer_id, external_id, title in rows}
    if as_json:
        return json.dumps(
            {
                "query": query,
                "searched": results.searched or query,
                "correction": results.correction.value if results.correction else None,
                "nearest": results.nearest,
                "did_you_mean": results.suggestions.did_you_mean if results.suggestions else [],
                "results": [
                    {
                        "id": offers[hit.offer_id][0],
                        "title": offers[hit.offer_id][1],
                        "score": hit.score,
                        "matched": hit.matched.value,
                        "next_session_at": (
                            hit.next_session_at.isoformat() if hit.next_session_at else None
                        ),
                    }
                    for hit in results.hits
                ],
            },
            ensure_ascii=False,
            indent=2,
        )
    lines = []
    if results.searched:
        lines.append(f"Showing results for «{results.searched}» ({results.correction}).")
    if results.nearest or not results.hits:
        lines.append(_advice(results))
    script = results.searched or query
    locale = "ru" if is_cyrillic(script) else "en"
    lines += [
        f"{offers[hit.offer_id][0]}\t{translated(offers[hit.offer_id][1], locale)}\t{hit.score:.1f}"
        for hit in results.hits
    ]
    return "\n".join(lines)


def _advice(results: SearchResults) -> str:
    if results.note in {QueryNote.EMPTY, QueryNote.TOO_SHORT, QueryNote.NOTHING_TO_SEARCH}:
        return "Nothing to search for: type at least one word of two letters or more."
    spellings = results.suggestions.did_you_mean if results.suggestions else []
    advice = "No offers found."
    if spellings:
        advice += f" Did you mean: {', '.join(spellings)}?"
    if results.nearest:
        advice += " The nearest offers:"
    return advice
