"""A resident's progress along their track: which steps they attended."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.tables import CheckIn
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Track
from catalogue.models import TrackStep
from catalogue.queries import next_start_of


@dataclass(frozen=True)
class TrackStepState:
    offer: Offer
    done: bool
    next_session: OfferSession | None


@dataclass(frozen=True)
class TrackProgress:
    track: Track
    steps: list[TrackStepState] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def next_step(self) -> TrackStepState | None:
        """The first step not done that has a session ahead, else the first step not done."""
        open_steps = [step for step in self.steps if not step.done]
        ahead = [step for step in open_steps if step.next_session is not None]
        return (ahead or open_steps or [None])[0]


async def track_progress(
    session: AsyncSession, resident: Resident, now: datetime
) -> TrackProgress | None:
    """The resident's track, step by step: a step is done once they attended any session
    of its offer. None when they have not chosen a track."""
    if resident.track_id is None:
        return None
    track = await session.get(Track, resident.track_id)
    if track is None:
        return None
    offers = list(
        await session.scalars(
            select(Offer)
            .join(TrackStep, TrackStep.offer_id == Offer.id)
            .where(TrackStep.track_id == track.id)
            .order_by(TrackStep.position, Offer.id)
        )
    )
    offer_ids = [offer.id for offer in offers]
    done = set(
        await session.scalars(
            select(OfferSession.offer_id)
            .join(CheckIn, CheckIn.session_id == OfferSession.id)
            .where(CheckIn.resident_id == resident.id, OfferSession.offer_id.in_(offer_ids))
            .distinct()
        )
    )
    upcoming = await next_start_of(session, offer_ids, now)
    steps = [TrackStepState(offer, offer.id in done, upcoming.get(offer.id)) for offer in offers]
    return TrackProgress(track, steps)
