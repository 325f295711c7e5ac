"""The catalogue functions behind the programme dialogues, on the real database: looking up
what a button names, a session that can still change, and the previews shown before Save."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import SessionStatus
from catalogue.models import Venue
from catalogue.models import utc_now
from catalogue.programme import offer_by_id
from catalogue.programme import offer_preview_card
from catalogue.programme import offer_record
from catalogue.programme import preview_session
from catalogue.programme import validated_offer
from catalogue.programme import venue_by_id
from catalogue.queries import session_by_id
from catalogue.session_changes import cancel_session
from catalogue.session_changes import changeable_session

CITY = ZoneInfo("Asia/Yekaterinburg")


async def a_session_with_a_venue(session: AsyncSession) -> OfferSession:
    found = await session.scalar(
        select(OfferSession)
        .where(OfferSession.venue_id.is_not(None), OfferSession.starts_at > utc_now())
        .order_by(OfferSession.id)
        .limit(1)
    )
    assert found is not None
    return found


async def test_offers_and_venues_are_found_by_id_or_not_at_all(session: AsyncSession) -> None:
    offer = await session.scalar(select(Offer).order_by(Offer.id).limit(1))
    venue = await session.scalar(select(Venue).order_by(Venue.id).limit(1))
    assert await offer_by_id(session, offer.id) is offer
    assert await venue_by_id(session, venue.id) is venue
    for missing in (None, 0, 999_999):
        assert await offer_by_id(session, missing) is None
        assert await venue_by_id(session, missing) is None


async def test_a_session_comes_with_its_offer_and_venue(session: AsyncSession) -> None:
    offer_session = await a_session_with_a_venue(session)
    found = await session_by_id(session, offer_session.id)
    assert found is not None
    found_session, offer, venue = found
    assert found_session is offer_session
    assert offer.id == offer_session.offer_id
    assert venue is not None
    assert venue.id == offer_session.venue_id
    assert await session_by_id(session, 999_999) is None


async def test_a_cancelled_session_can_no_longer_change(session: AsyncSession) -> None:
    offer_session = await a_session_with_a_venue(session)
    assert await changeable_session(session, offer_session.id) is not None
    await cancel_session(session, offer_session.id, city_zone=CITY)
    assert offer_session.status == SessionStatus.CANCELLED
    assert await changeable_session(session, offer_session.id) is None
    assert await session_by_id(session, offer_session.id) is not None, "still shown"
    assert await changeable_session(session, 999_999) is None


async def test_an_offer_preview_keeps_the_sessions_it_already_has(session: AsyncSession) -> None:
    offer_session = await a_session_with_a_venue(session)
    offer = await offer_by_id(session, offer_session.offer_id)
    draft = await offer_record(session, offer)
    draft["price"] = 300
    record = validated_offer(draft)

    card = await offer_preview_card(session, record, offer.id, utc_now())
    assert card is not None
    assert card.offer.price_minor == 30000
    assert card.provider.id == offer.provider_id
    assert card.upcoming_total >= 1
    assert offer_session.id in {view.session.id for view in card.sessions}

    new = await offer_preview_card(session, record, None, utc_now())
    assert new is not None
    assert (new.sessions, new.upcoming_total) == ([], 0)

    draft["provider"] = "no-such-provider"
    assert await offer_preview_card(session, validated_offer(draft), None, utc_now()) is None


async def test_a_session_preview_is_built_from_the_form_record(session: AsyncSession) -> None:
    offer = await session.scalar(select(Offer).order_by(Offer.id).limit(1))
    venue = await session.scalar(select(Venue).order_by(Venue.id).limit(1))
    start = (utc_now() + timedelta(days=3)).replace(microsecond=0)
    record = {
        "id": "new-session",
        "offer": offer.external_id,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=90)).isoformat(),
        "capacity": 12,
        "online_url": None,
    }
    preview = preview_session(record, offer, venue)
    assert (preview.offer_id, preview.venue_id, preview.capacity) == (offer.id, venue.id, 12)
    assert preview.ends_at - preview.starts_at == timedelta(minutes=90)
    assert preview.id is None, "not saved"
    assert preview_session(record, offer, None).venue_id is None
