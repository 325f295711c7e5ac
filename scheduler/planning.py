"""Periodic planning: reminders kept in step with the programme, new offers announced, and
weekly digests."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import SessionStatus
from catalogue.models import Subscription
from catalogue.models import SubscriptionKind
from catalogue.models import TrackStep
from catalogue.outbox.messages import Conflict
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from catalogue.outbox.messages import enqueue_many
from catalogue.outbox.reminders import ANNOUNCE
from catalogue.outbox.reminders import REMINDER
from catalogue.outbox.reminders import digest_message
from catalogue.outbox.reminders import notice
from catalogue.outbox.reminders import plan_reminders

ANNOUNCE_WINDOW = timedelta(days=14)  # offers newer than this are announced


async def resync_reminders(session: AsyncSession, now: datetime, city_zone: ZoneInfo) -> int:
    """Sessions moved behind our back (a catalogue import): move their reminders too.

    Finds residents going to an upcoming session whose reminder rows are anchored to another
    start time, and plans their reminders again. Returns how many (resident, session) pairs.
    """
    pairs = (
        await session.execute(
            select(Seat.resident_id, Seat.session_id)
            .join(OfferSession, OfferSession.id == Seat.session_id)
            .join(
                OutboxMessage,
                and_(
                    OutboxMessage.session_id == Seat.session_id,
                    OutboxMessage.resident_id == Seat.resident_id,
                    OutboxMessage.kind == REMINDER,
                ),
            )
            .where(
                Seat.status == SeatStatus.GOING,
                OfferSession.starts_at > now,
                OfferSession.status != SessionStatus.CANCELLED,
                OutboxMessage.anchor_at != OfferSession.starts_at,
                OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENT]),
            )
            .distinct()
        )
    ).all()
    by_session: dict[int, list[int]] = {}
    for resident_id, session_id in pairs:
        by_session.setdefault(session_id, []).append(resident_id)
    for session_id, resident_ids in by_session.items():
        offer_session = await session.get(OfferSession, session_id)
        residents = list(
            await session.scalars(select(Resident).where(Resident.id.in_(resident_ids)))
        )
        if offer_session is not None:
            await plan_reminders(session, offer_session, residents, now, city_zone)
    return len(pairs)


# ---------------------------------------------------------------- announcements


async def announce_new_offers(session: AsyncSession, now: datetime, city_zone: ZoneInfo) -> int:
    """Tell followers of a track or festival about offers that appeared after they followed.

    Idempotent (one row per resident and offer); only offers with a session still ahead.
    Returns how many announcements were queued (or were already).
    """
    upcoming_offers = (
        select(OfferSession.offer_id)
        .where(OfferSession.starts_at > now, OfferSession.status != SessionStatus.CANCELLED)
        .distinct()
    )
    in_followed = or_(
        and_(
            Subscription.kind == SubscriptionKind.TRACK,
            Offer.id.in_(
                select(TrackStep.offer_id).where(TrackStep.track_id == Subscription.target_id)
            ),
        ),
        and_(
            Subscription.kind == SubscriptionKind.FESTIVAL,
            Offer.festival_id == Subscription.target_id,
        ),
    )
    rows = (
        await session.execute(
            select(Resident, Offer, Subscription)
            .join(Subscription, Subscription.resident_id == Resident.id)
            .join(Offer, in_followed)
            .where(
                Resident.announcements_on.is_(True),
                Resident.is_active.is_(True),
                Offer.created_at > Subscription.created_at,
                Offer.created_at > now - ANNOUNCE_WINDOW,
                Offer.id.in_(upcoming_offers),
            )
        )
    ).all()
    seen: set[tuple[int, int]] = set()
    messages = []
    for resident, offer, subscription in rows:
        if (resident.id, offer.id) in seen:
            continue  # in a followed track and a followed festival: told once
        seen.add((resident.id, offer.id))
        payload = {"offer_id": offer.id, "via": subscription.kind, "target": subscription.target_id}
        key = f"{ANNOUNCE}:{resident.id}:{offer.id}"
        messages.append(notice(ANNOUNCE, resident, key, now, city_zone, payload=payload))
    await enqueue_many(session, messages, Conflict.KEEP)
    return len(messages)


async def plan_digests(session: AsyncSession, now: datetime, city_zone: ZoneInfo) -> int:
    """Every opted-in resident has their next digest queued (run hourly; idempotent)."""
    residents = await session.scalars(
        select(Resident).where(
            Resident.digest_weekday.is_not(None),
            Resident.digest_minute.is_not(None),
            Resident.is_active.is_(True),
        )
    )
    messages = [
        message
        for resident in residents
        if (message := digest_message(resident, now, city_zone)) is not None
    ]
    await enqueue_many(session, messages, Conflict.KEEP)
    return len(messages)
