"""Offer cards kept in memory: the catalogue part of a card (offer, provider, festival, next
sessions with venues) is the same for every resident, asked for on every press of an offer
button, and changes seldom. What is the resident's own (seats, subscriptions) is kept apart
(catalogue.subscriptions.CardStates).

A handler keeps one `CardCache` for the process and, per press::

    card = await card_cache.card(session, offer_id, utc_now())

A card is forgotten
* when anything writes to the programme's tables, at once in this process and, over Redis,
  in the others (catalogue/table_changes.py);
* when `catalogue_version` (catalogue.search.engine) changes, checked at most every `recheck_every`:
  an import by a command beside a bot that has no Redis to hear it from;
* when its first upcoming session ends (the card shows sessions until they end);
* after `max_age`, which bounds what the checks above cannot see (a venue renamed by hand).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Provider
from catalogue.models import Venue
from catalogue.queries import OfferCard
from catalogue.queries import SessionView
from catalogue.queries import offer_card
from catalogue.search.engine import CatalogueVersion
from catalogue.search.engine import catalogue_version
from catalogue.table_changes import TableCache
from catalogue.table_changes import TableChanges
from catalogue.table_changes import detached_copy

PROGRAMME_TABLES = tuple(
    model.__tablename__ for model in (Offer, OfferSession, Venue, Provider, Festival)
)


@dataclass(frozen=True)
class _Entry:
    card: OfferCard
    loaded_for: datetime


class CardCache:
    """Offer cards by offer id, at most `max_cards` of them (the oldest go first)."""

    def __init__(
        self,
        changes: TableChanges,
        *,
        recheck_every: timedelta = timedelta(seconds=10),
        max_age: timedelta = timedelta(minutes=1),
        max_cards: int = 5000,
    ) -> None:
        self.recheck_every = recheck_every.total_seconds()
        self._cards = TableCache[int, _Entry](
            changes, PROGRAMME_TABLES, max_age=max_age, max_entries=max_cards
        )
        self._version: CatalogueVersion | None = None
        self._checked_at = -math.inf

    async def card(self, session: AsyncSession, offer_id: int, now: datetime) -> OfferCard | None:
        """What `catalogue.queries.offer_card` returns, from memory when it is still true."""
        await self._forget_if_version_changed(session)
        entry = self._cards.get(session, offer_id)
        if entry is not None and self._fresh(entry, now):
            return entry.card
        stamp = self._cards.stamp()
        card = await offer_card(session, offer_id, now)
        if card is None:
            return None
        card = _detached(card)
        self._cards.keep(session, offer_id, stamp, _Entry(card, now))
        return card

    @staticmethod
    def _fresh(entry: _Entry, now: datetime) -> bool:
        valid_until = entry.card.valid_until
        return entry.loaded_for <= now and (valid_until is None or now < valid_until)

    async def _forget_if_version_changed(self, session: AsyncSession) -> None:
        if time.monotonic() - self._checked_at < self.recheck_every:
            return
        self._checked_at = time.monotonic()
        version = await catalogue_version(session)
        if version != self._version:
            self._version = version
            self._cards.forget_all()


def _detached(card: OfferCard) -> OfferCard:
    """The card with copies of its rows that belong to no session: shared by every resident's
    request, they never load from or write to a database, and no session's identity map
    hands them (or their title dicts) to code that might change them."""
    return replace(
        card,
        offer=detached_copy(card.offer),
        provider=detached_copy(card.provider),
        festival=detached_copy(card.festival),
        sessions=[
            SessionView(detached_copy(item.session), detached_copy(item.venue))
            for item in card.sessions
        ],
    )
