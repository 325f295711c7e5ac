"""The offer card as one resident sees it: the catalogue part (shared, from the card cache)
with their own seats and subscription buttons. Shown by browsing, search, deep links and the
subscribe buttons alike."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from typing import Any

from aiogram.filters.callback_data import CallbackData
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks.browse import ChooseTrack
from bot.screens.subscriptions import card_view
from bot.screens.view import View
from bot.screens.view import Viewer
from catalogue.cards import CardCache
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.queries import OfferCard
from catalogue.subscriptions import CardStates
from catalogue.subscriptions import CardSubscriptions
from catalogue.subscriptions import card_subscriptions

# Drawn cards kept: a card is the same for everyone with the same language, zone, seats and
# subscriptions, and drawing one (buttons, dates) costs more than the rest of a warm press.
DRAWN_CARDS = 1000


@dataclass(frozen=True)
class OfferCards:
    """What offer cards keep in memory: every press of an offer button asks for both."""

    programme: CardCache  # what the offer is, where and when: the same for everyone
    states: CardStates  # seats, and what each resident holds and follows
    mini_app_url: str | None = None  # Settings.mini_app_url: cards link the Mini App
    _drawn: dict[tuple[Any, ...], tuple[OfferCard, View]] = field(default_factory=dict)

    async def view(
        self,
        session: AsyncSession,
        resident: Resident,
        viewer: Viewer,
        offer_id: int,
        back: CallbackData,
    ) -> View | None:
        """The offer card with the resident's subscription buttons; None if the offer is gone."""
        card = await self.programme.card(session, offer_id, utc_now())
        if card is None:
            return None
        track_id = back.track_id if isinstance(back, ChooseTrack) else None
        sessions = [item.session for item in card.sessions]
        state = await card_subscriptions(
            session, self.states, resident, card.offer, sessions, track_id
        )
        return self._draw(viewer, card, back, state)

    def _draw(
        self, viewer: Viewer, card: OfferCard, back: CallbackData, state: CardSubscriptions
    ) -> View:
        key = (card.offer.id, viewer, back.pack(), _hashable(state))
        drawn = self._drawn.get(key)
        if drawn is not None and drawn[0] is card:  # a card reloaded since is drawn anew
            return drawn[1]
        view = card_view(viewer, card, back, state, self.mini_app_url)
        if len(self._drawn) >= DRAWN_CARDS:
            del self._drawn[next(iter(self._drawn))]
        self._drawn[key] = (card, view)
        return view


def _hashable(state: CardSubscriptions) -> tuple[Any, ...]:
    # Every field, so a field added to CardSubscriptions cannot be left out of the key.
    return tuple(
        tuple(value.items()) if isinstance(value, dict) else value
        for value in (getattr(state, item.name) for item in fields(state))
    )
