"""The offer card as one resident sees it: the catalogue part (shared, from the card cache)
with their own seats and subscription buttons. Shown by browsing, search, deep links and the
subscribe buttons alike."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.filters.callback_data import CallbackData
from sqlalchemy.ext.asyncio import AsyncSession

from bot import subscription_screens
from bot.callbacks import ChooseTrack
from bot.screens import View, Viewer
from catalogue.cards import CardCache
from catalogue.models import Resident, utc_now
from scheduler.subscriptions import CardStates, card_subscriptions


@dataclass(frozen=True)
class OfferCards:
    """What offer cards keep in memory: every press of an offer button asks for both."""

    programme: CardCache  # what the offer is, where and when: the same for everyone
    states: CardStates  # seats, and what each resident holds and follows

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
        return subscription_screens.card_view(viewer, card, back, state)
