"""Offer cards kept in memory: the catalogue part of a card (offer, provider, festival, next
sessions with venues) is the same for every resident, asked for on every press of an offer
button, and changes seldom. What is the resident's own (seats, subscriptions) is not kept.

A handler keeps one `CardCache` for the process and, per press::

    card = await card_cache.card(session, offer_id, utc_now())

A card is forgotten
* at once, in this process, when a transaction that edited the programme through our own
  functions commits (they call `note_programme_edit`);
* when `catalogue_version` (catalogue.search) changes, checked at most every `recheck_every`:
  imports, edits and deletions by other processes or by hand;
* when its first upcoming session ends (the card shows sessions until they end);
* after `max_age`, which bounds what the checks above cannot see (a venue renamed by hand).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from catalogue.queries import OfferCard, SessionView, offer_card
from catalogue.search import CatalogueVersion, catalogue_version
from catalogue.table_changes import detached_copy

_EDITED = "learncity.programme_edited"


class _Committed:
    # Transactions that edited the programme and committed, in this process.
    edits = 0


def note_programme_edit(session: AsyncSession) -> None:
    """Called by whatever writes offers, sessions, venues, providers or festivals: when the
    transaction commits, every `CardCache` of the process forgets its cards."""
    session.info[_EDITED] = True


@event.listens_for(Session, "after_commit")
def _count_edit(session: Session) -> None:
    if session.info.pop(_EDITED, False):
        _Committed.edits += 1


@event.listens_for(Session, "after_rollback")
def _drop_edit(session: Session) -> None:
    session.info.pop(_EDITED, None)


@dataclass(frozen=True)
class _Entry:
    card: OfferCard
    loaded_for: datetime
    loaded_at: float  # time.monotonic()


class CardCache:
    """Offer cards by offer id, at most `max_cards` of them (the oldest go first)."""

    def __init__(
        self,
        *,
        recheck_every: timedelta = timedelta(seconds=10),
        max_age: timedelta = timedelta(minutes=1),
        max_cards: int = 5000,
    ) -> None:
        self.recheck_every = recheck_every.total_seconds()
        self.max_age = max_age.total_seconds()
        self.max_cards = max_cards
        self._cards: dict[int, _Entry] = {}
        # Bumped whenever the cards are dropped: a card loaded before that is not kept.
        self._generation = 0
        self._edits_seen = _Committed.edits
        self._version: CatalogueVersion | None = None
        self._checked_at = -math.inf

    async def card(self, session: AsyncSession, offer_id: int, now: datetime) -> OfferCard | None:
        """What `catalogue.queries.offer_card` returns, from memory when it is still true."""
        await self._forget_if_changed(session)
        entry = self._cards.get(offer_id)
        if entry is not None and self._fresh(entry, now):
            return entry.card
        generation = self._generation
        card = await offer_card(session, offer_id, now)
        if card is None:
            return None
        card = _detached(card)
        # Not kept if the cards were dropped meanwhile, or if this very transaction edited
        # the programme: it may yet roll back.
        if generation == self._generation and not session.info.get(_EDITED):
            if len(self._cards) >= self.max_cards:
                del self._cards[next(iter(self._cards))]
            self._cards[offer_id] = _Entry(card, now, time.monotonic())
        return card

    def _fresh(self, entry: _Entry, now: datetime) -> bool:
        valid_until = entry.card.valid_until
        return (
            entry.loaded_for <= now
            and (valid_until is None or now < valid_until)
            and time.monotonic() - entry.loaded_at < self.max_age
        )

    async def _forget_if_changed(self, session: AsyncSession) -> None:
        if self._edits_seen != _Committed.edits:
            self._edits_seen = _Committed.edits
            self._forget()
        if time.monotonic() - self._checked_at < self.recheck_every:
            return
        self._checked_at = time.monotonic()
        version = await catalogue_version(session)
        if version != self._version:
            self._version = version
            self._forget()

    def _forget(self) -> None:
        self._cards = {}
        self._generation += 1


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
