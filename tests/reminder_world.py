"""A small programme of our own for subscription and reminder tests, and a worker to send.

The demo catalogue moves with the calendar; these tests need sessions at times they choose,
with a capacity, a venue with coordinates, in a track of their own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select

from bot.startup.app import App
from bot.startup.dispatcher import create_bot
from bot.startup.offline_api import OfflineSession
from bot.startup.offline_api import OfflineTelegram
from bot.startup.sending import create_outbox_worker
from catalogue.models import Category
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import OfferKind
from catalogue.models import OfferSession
from catalogue.models import Provider
from catalogue.models import Resident
from catalogue.models import Track
from catalogue.models import TrackStep
from catalogue.models import Venue
from catalogue.outbox.messages import OutboxMessage
from scheduler.outbox import OutboxWorker
from tests.resident_chat import ResidentChat


@dataclass(frozen=True)
class Made:
    offer_id: int
    external_id: str
    session_ids: list[int]
    track_id: int
    category_title: str
    track_title: str


async def make_offer(
    app: App,
    starts: list[datetime],
    *,
    title: str = "Pottery for beginners",
    capacity: int | None = None,
    track_id: int | None = None,
) -> Made:
    """An offer with one session per start (90 minutes each) at a venue with coordinates,
    in a new category and track (or in `track_id`)."""
    tag = uuid.uuid4().hex[:8]
    async with app.session_maker.begin() as session:
        if track_id is None:
            category = Category(
                external_id=f"cat-{tag}", title={"en": f"Makers {tag}"}, description={}, position=99
            )
            session.add(category)
            await session.flush()
            track = Track(
                external_id=f"trk-{tag}",
                category_id=category.id,
                title={"en": f"Clay and glaze {tag}"},
                description={},
            )
            session.add(track)
        else:
            track = await session.get(Track, track_id)
            category = await session.get(Category, track.category_id)
        provider = Provider(external_id=f"prov-{tag}", name={"en": "Town studio"})
        venue = Venue(
            external_id=f"venue-{tag}",
            name={"en": "Old Factory"},
            address={"en": "1 Mill Street"},
            latitude=56.5012,
            longitude=60.8155,
            step_free=True,
            accessibility={},
        )
        session.add_all([provider, venue])
        await session.flush()
        offer = Offer(
            external_id=f"offer-{tag}",
            title={"en": title},
            description={"en": "Hands in clay."},
            kind=OfferKind.WORKSHOP,
            format=OfferFormat.IN_PERSON,
            language="en",
            provider_id=provider.id,
            accessibility={},
            keywords=[],
        )
        session.add(offer)
        await session.flush()
        session.add(TrackStep(track_id=track.id, offer_id=offer.id, position=0))
        sessions = [
            OfferSession(
                external_id=f"{offer.external_id}-{number}",
                offer_id=offer.id,
                venue_id=venue.id,
                starts_at=start,
                ends_at=start + timedelta(minutes=90),
                capacity=capacity,
            )
            for number, start in enumerate(starts, start=1)
        ]
        session.add_all(sessions)
        await session.flush()
        return Made(
            offer.id,
            offer.external_id,
            [item.id for item in sessions],
            track.id,
            category.title["en"],
            track.title["en"],
        )


async def english_resident(chat: ResidentChat) -> ResidentChat:
    await chat.send("/start")
    await chat.press("English")
    return chat


async def open_card(chat: ResidentChat, made: Made):
    return await chat.send(f"/start offer_{made.external_id}")


def last_answer(chat: ResidentChat) -> str:
    answers = [call for call in chat.telegram.calls if call.method == "answerCallbackQuery"]
    return str(answers[-1].params.get("text", "")) if answers else ""


def worker_for(app: App, telegram: OfflineTelegram, now: datetime) -> OutboxWorker:
    """An outbox worker delivering into `telegram`, its clock stopped at `now`."""
    settings = app.settings.model_copy(update={"outbound_rate": 1000.0})
    bot = create_bot(settings, OfflineSession(telegram))
    worker = create_outbox_worker(settings, app.session_maker, app.i18n, bot)
    worker.clock = lambda: now
    return worker


async def outbox_rows(app: App, kind: str | None = None) -> list[OutboxMessage]:
    async with app.session_maker() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.due_at, OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(await session.scalars(query))


async def resident_row(app: App, chat: ResidentChat) -> Resident:
    async with app.session_maker() as session:
        return await session.scalar(select(Resident).where(Resident.telegram_id == chat.user.id))
