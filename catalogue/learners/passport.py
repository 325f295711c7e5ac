"""A resident's learning passport: what they attended, for how long, and what they completed.

Hours are the sessions' scheduled lengths (from start to end) of every session the resident was
checked in at. An offer counts towards each track it is a step of, and towards each of those
tracks' categories; an offer in no track counts under no category (`uncategorised_hours`), so
the hours by category may add up to more or less than the total.

Reading the passport also records any completion the rules grant that was not recorded yet
(a rule set after the check-ins, a check-in made by another path): the attended sessions
give the first visit of every offer, so that costs the rules' queries and no more. About
five queries, whatever the number of sessions attended.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.tables import CheckIn
from catalogue.learners.tables import CompletionKind
from catalogue.learners.tracks import CompletedTarget
from catalogue.learners.tracks import Recorded
from catalogue.learners.tracks import Target
from catalogue.learners.tracks import completions_of
from catalogue.learners.tracks import record_met
from catalogue.models import Category
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Track
from catalogue.models import TrackStep
from catalogue.models import Translations
from catalogue.queries import select_sessions

RECENT_SESSIONS = 10  # sessions the passport lists; the totals count them all


@dataclass(frozen=True)
class AttendedSession:
    title: Translations
    starts_at: datetime
    hours: float


@dataclass(frozen=True)
class Passport:
    sessions: int = 0
    hours: float = 0.0
    recent: list[AttendedSession] = field(default_factory=list)
    # (title, hours), most hours first
    by_category: list[tuple[Translations, float]] = field(default_factory=list)
    by_track: list[tuple[Translations, float]] = field(default_factory=list)
    uncategorised_hours: float = 0.0
    completed: list[CompletedTarget] = field(default_factory=list)


def _hours(starts_at: datetime, ends_at: datetime) -> float:
    return max((ends_at - starts_at).total_seconds(), 0.0) / 3600


async def passport_of(session: AsyncSession, resident_id: int) -> Passport:
    attended = (
        await session.execute(
            select_sessions(
                OfferSession.offer_id,
                OfferSession.starts_at,
                OfferSession.ends_at,
                Offer.title,
                Offer.festival_id,
                CheckIn.checked_in_at,
            )
            .join(CheckIn, CheckIn.session_id == OfferSession.id)
            .where(CheckIn.resident_id == resident_id)
            .order_by(OfferSession.starts_at.desc(), OfferSession.id.desc())
        )
    ).all()
    hours_by_offer: dict[int, float] = defaultdict(float)
    first_visits: dict[int, datetime] = {}
    targets: set[Target] = set()
    for offer_id, starts_at, ends_at, _title, festival_id, checked_in_at in attended:
        hours_by_offer[offer_id] += _hours(starts_at, ends_at)
        earlier = first_visits.get(offer_id)
        first_visits[offer_id] = checked_in_at if earlier is None else min(earlier, checked_in_at)
        if festival_id is not None:
            targets.add((CompletionKind.FESTIVAL, festival_id))
    steps = (
        await session.execute(
            select(TrackStep.offer_id, Track.id, Track.title, Category.id, Category.title)
            .join(Track, Track.id == TrackStep.track_id)
            .join(Category, Category.id == Track.category_id)
            .where(TrackStep.offer_id.in_(list(hours_by_offer)))
        )
    ).all()
    track_hours: dict[int, float] = defaultdict(float)
    category_offers: dict[int, set[int]] = defaultdict(set)
    titles: dict[tuple[str, int], Translations] = {}
    in_a_track: set[int] = set()
    for offer_id, track_id, track_title, category_id, category_title in steps:
        track_hours[track_id] += hours_by_offer[offer_id]
        targets.add((CompletionKind.TRACK, track_id))
        category_offers[category_id].add(offer_id)
        titles["track", track_id] = track_title
        titles["category", category_id] = category_title
        in_a_track.add(offer_id)
    category_hours = {
        category_id: sum(hours_by_offer[offer] for offer in offers)
        for category_id, offers in category_offers.items()
    }
    recent = [
        AttendedSession(title, starts_at, _hours(starts_at, ends_at))
        for _offer, starts_at, ends_at, title, _festival, _at in attended[:RECENT_SESSIONS]
    ]

    def ranked(kind: str, hours: dict[int, float]) -> list[tuple[Translations, float]]:
        order = sorted(hours.items(), key=lambda item: (-item[1], item[0]))
        return [(titles[kind, key], value) for key, value in order]

    # Completions a rule grants and nobody recorded yet (a rule set after the check-ins).
    completed = await completions_of(session, resident_id)
    kept: set[Recorded] = {
        (
            resident_id,
            *(
                (item.target_id, None)
                if item.kind is CompletionKind.TRACK
                else (None, item.target_id)
            ),
        )
        for item in completed
    }
    visits = {resident_id: first_visits} if first_visits else {}
    if await record_met(session, visits, targets, kept):
        completed = await completions_of(session, resident_id)
    return Passport(
        sessions=len(attended),
        hours=sum(hours_by_offer.values()),
        recent=recent,
        by_category=ranked("category", category_hours),
        by_track=ranked("track", track_hours),
        uncategorised_hours=sum(
            value for offer, value in hours_by_offer.items() if offer not in in_a_track
        ),
        completed=completed,
    )
