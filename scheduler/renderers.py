"""What the bot says on its own about sessions and offers: loaded and decided at send time.

Each renderer here loads what a batch of rows is about in a few queries and decides per row
whether it is still wanted (`Skip`), due later (`Reschedule`: its session moved) or ready.
How a ready one looks is not decided here: each factory takes the drawing function of its
kind (bot/screens/notices.py, in the resident's language and zone), and the composition root
(bot/startup/outbox_drawings.py) puts the renderers it builds into the outbox's registry.

A reminder is dropped, never sent late, when its session has begun: nobody is told "your
class starts" two hours after it started. When the bot was down, an overdue reminder whose
session is still ahead goes out on start, and only the latest of several overdue ones.
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Category
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import SessionStatus
from catalogue.models import Track
from catalogue.models import TrackStep
from catalogue.models import Venue
from catalogue.models import translated
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from catalogue.outbox.reminders import REMINDER
from catalogue.outbox.reminders import quiet_hours
from catalogue.outbox.reminders import resident_zone
from catalogue.outbox.timing import reminder_due
from catalogue.queries import next_start_of
from catalogue.queries import offers_by_id
from catalogue.queries import sessions_by_id
from scheduler.delivery import Outgoing
from scheduler.rendering import RenderContext
from scheduler.rendering import Rendered
from scheduler.rendering import Renderer
from scheduler.rendering import Reschedule
from scheduler.rendering import Skip

DIGEST_DAYS = 7
DIGEST_ITEMS = 8  # sessions a digest lists, at most

OffersWithSession = Sequence[tuple[Offer, OfferSession]]
# The drawing functions, one per kind: (the resident, what it is about) → the message.
DrawReminder = Callable[[Resident, Offer, OfferSession, Venue | None, datetime], Outgoing]
DrawChange = Callable[
    [Resident, Offer, OfferSession, Venue | None, datetime | None, Venue | None], Outgoing
]
DrawPromotion = Callable[[Resident, Offer, OfferSession, Venue | None], Outgoing]
DrawAnnouncement = Callable[[Resident, Offer, OfferSession, str], Outgoing]
DrawDigest = Callable[[Resident, str, OffersWithSession, OffersWithSession], Outgoing]


async def residents_of_messages(
    session: AsyncSession, rows: list[OutboxMessage]
) -> dict[int, Resident]:
    """The residents outbox messages are for, by id (a message without one has none)."""
    ids = {row.resident_id for row in rows if row.resident_id is not None}
    if not ids:
        return {}
    return {r.id: r for r in await session.scalars(select(Resident).where(Resident.id.in_(ids)))}


async def render_each_resident(
    session: AsyncSession,
    rows: list[OutboxMessage],
    render_one: Callable[[OutboxMessage, Resident], Awaitable[Rendered]],
) -> dict[int, Rendered]:
    """Each message rendered for its resident; skipped when the resident is gone."""
    residents = await residents_of_messages(session, rows)
    rendered: dict[int, Rendered] = {}
    for row in rows:
        resident = residents.get(row.resident_id or 0)
        rendered[row.id] = (
            Skip("resident gone") if resident is None else await render_one(row, resident)
        )
    return rendered


async def _statuses(
    session: AsyncSession, rows: list[OutboxMessage]
) -> dict[tuple[int, int], SeatStatus]:
    session_ids = {row.session_id for row in rows if row.session_id is not None}
    resident_ids = {row.resident_id for row in rows if row.resident_id is not None}
    if not session_ids or not resident_ids:
        return {}
    found = await session.execute(
        select(Seat.resident_id, Seat.session_id, Seat.status).where(
            Seat.session_id.in_(session_ids), Seat.resident_id.in_(resident_ids)
        )
    )
    return {(resident_id, session_id): status for resident_id, session_id, status in found}


def _session_ids(rows: list[OutboxMessage]) -> set[int]:
    return {row.session_id for row in rows if row.session_id}


@dataclass(frozen=True)
class AboutSession:
    """What a row about a session is decided on: its resident, the session, its offer and
    venue, and the status of the resident's seat at it (None: they hold none)."""

    resident: Resident
    offer_session: OfferSession
    offer: Offer
    venue: Venue | None
    seat_status: SeatStatus | None


async def _render_about_sessions(
    session: AsyncSession,
    rows: list[OutboxMessage],
    decide: Callable[[OutboxMessage, AboutSession], Rendered],
) -> dict[int, Rendered]:
    """Rows about a session, loaded in three queries; `decide` renders each whose resident
    and session are still there."""
    residents = await residents_of_messages(session, rows)
    sessions = await sessions_by_id(session, _session_ids(rows))
    statuses = await _statuses(session, rows)
    rendered: dict[int, Rendered] = {}
    for row in rows:
        resident = residents.get(row.resident_id or 0)
        facts = sessions.get(row.session_id or 0)
        if resident is None or facts is None:
            rendered[row.id] = Skip("session or resident gone")
            continue
        offer_session, offer, venue = facts
        seat_status = statuses.get((resident.id, offer_session.id))
        rendered[row.id] = decide(
            row, AboutSession(resident, offer_session, offer, venue, seat_status)
        )
    return rendered


# ---------------------------------------------------------------- reminders


def reminder_renderer(draw: DrawReminder) -> Renderer:
    """Reminders before a session the resident is going to."""

    async def render(
        session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
    ) -> dict[int, Rendered]:
        superseded = await _superseded(session, rows, context.now)

        def decide(row: OutboxMessage, about: AboutSession) -> Rendered:
            resident, offer_session, now = about.resident, about.offer_session, context.now
            if not resident.reminders_on:
                return Skip("reminders off")
            if offer_session.status == SessionStatus.CANCELLED:
                return Skip("session cancelled")
            if about.seat_status != SeatStatus.GOING:
                return Skip("not going")
            if offer_session.starts_at <= now:
                return Skip("session already begun")
            if (
                row.anchor_at != offer_session.starts_at
                and (due := _due_again(row, resident, offer_session, context)) > now
            ):
                return Reschedule(due, offer_session.starts_at)
            if row.id in superseded:
                return Skip("a later reminder is due too")
            return draw(resident, about.offer, offer_session, about.venue, now)

        return await _render_about_sessions(session, rows, decide)

    return render


def _due_again(
    row: OutboxMessage, resident: Resident, offer_session: OfferSession, context: RenderContext
) -> datetime:
    """The session moved without us being told (e.g. an import): when this reminder is due."""
    zone = resident_zone(resident, context.config.city_zone)
    offset = int(row.payload.get("offset", 60))
    return reminder_due(offer_session.starts_at, offset, zone, quiet_hours(resident))


async def _superseded(session: AsyncSession, rows: list[OutboxMessage], now: datetime) -> set[int]:
    """Overdue reminders with a later reminder for the same session also due (after downtime,
    the "1 day before" and "1 hour before" are both due: only the latter is sent)."""
    session_ids = {row.session_id for row in rows if row.session_id is not None}
    if not session_ids:
        return set()
    others = await session.execute(
        select(OutboxMessage.resident_id, OutboxMessage.session_id, OutboxMessage.due_at).where(
            OutboxMessage.kind == REMINDER,
            OutboxMessage.session_id.in_(session_ids),
            OutboxMessage.resident_id.in_({row.resident_id for row in rows}),
            OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.CLAIMED, OutboxState.SENT]),
            OutboxMessage.due_at <= now,
        )
    )
    latest: dict[tuple[int, int], datetime] = {}
    for resident_id, session_id, due_at in others:
        key = (resident_id, session_id)
        latest[key] = max(latest.get(key, due_at), due_at)
    return {
        row.id
        for row in rows
        if latest.get((row.resident_id, row.session_id), row.due_at) > row.due_at
    }


# ---------------------------------------------------------------- changes and promotions


def change_renderer(draw: DrawChange) -> Renderer:
    """A session moved or was cancelled: told to those going or waiting for a seat."""

    async def render(
        session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
    ) -> dict[int, Rendered]:
        old_venues = await _old_venues(session, rows)

        def decide(row: OutboxMessage, about: AboutSession) -> Rendered:
            offer_session = about.offer_session
            cancelled = row.payload.get("change") == "cancelled"
            old_starts = _parse(row.payload.get("old_starts_at"))
            if cancelled != (offer_session.status == SessionStatus.CANCELLED):
                return Skip("changed again since")
            if about.seat_status not in (SeatStatus.GOING, SeatStatus.WAITLISTED):
                return Skip("no longer subscribed")
            if max(offer_session.starts_at, old_starts or offer_session.starts_at) <= context.now:
                return Skip("session already begun")
            old_venue = old_venues.get(row.payload.get("old_venue_id") or 0)
            return draw(
                about.resident, about.offer, offer_session, about.venue, old_starts, old_venue
            )

        return await _render_about_sessions(session, rows, decide)

    return render


async def _old_venues(session: AsyncSession, rows: list[OutboxMessage]) -> dict[int, Venue]:
    ids = {row.payload.get("old_venue_id") for row in rows} - {None}
    if not ids:
        return {}
    return {
        venue.id: venue for venue in await session.scalars(select(Venue).where(Venue.id.in_(ids)))
    }


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def promotion_renderer(draw: DrawPromotion) -> Renderer:
    """A seat came free and went to the resident first on the waitlist."""

    async def render(
        session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
    ) -> dict[int, Rendered]:
        def decide(row: OutboxMessage, about: AboutSession) -> Rendered:
            if about.seat_status != SeatStatus.GOING:
                return Skip("no longer going")
            if about.offer_session.status == SessionStatus.CANCELLED:
                return Skip("session cancelled")
            if about.offer_session.starts_at <= context.now:
                return Skip("session already begun")
            return draw(about.resident, about.offer, about.offer_session, about.venue)

        return await _render_about_sessions(session, rows, decide)

    return render


# ---------------------------------------------------------------- announcements and digests


def announcement_renderer(draw: DrawAnnouncement) -> Renderer:
    """A new offer in a track or festival the resident follows."""

    async def render(
        session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
    ) -> dict[int, Rendered]:
        residents = await residents_of_messages(session, rows)
        offer_ids = {int(row.payload.get("offer_id", 0)) for row in rows}
        offers = await offers_by_id(session, offer_ids)
        first = await next_start_of(session, offer_ids, context.now)
        rendered: dict[int, Rendered] = {}
        for row in rows:
            resident = residents.get(row.resident_id or 0)
            offer = offers.get(int(row.payload.get("offer_id", 0)))
            if resident is None or offer is None:
                rendered[row.id] = Skip("offer or resident gone")
            elif not resident.announcements_on:
                rendered[row.id] = Skip("announcements off")
            elif offer.id not in first:
                rendered[row.id] = Skip("no session ahead")
            else:
                title = await _followed_title(session, row, resident.language)
                rendered[row.id] = draw(resident, offer, first[offer.id], title)
        return rendered

    return render


async def _followed_title(session: AsyncSession, row: OutboxMessage, language: str) -> str:
    """The title of the festival or track followed, in the resident's language."""
    model = Festival if row.payload.get("via") == "festival" else Track
    followed = await session.get(model, int(row.payload.get("target", 0)))
    return translated(followed.title, language) if followed else ""


def digest_renderer(draw: DrawDigest) -> Renderer:
    """The weekly digest of the resident's track (or category)."""

    async def render(
        session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
    ) -> dict[int, Rendered]:
        async def one(row: OutboxMessage, resident: Resident) -> Rendered:
            if resident.digest_weekday is None:
                return Skip("digest off")
            return await _digest(session, context.now, resident, draw)

        return await render_each_resident(session, rows, one)

    return render


async def _digest(
    session: AsyncSession, now: datetime, resident: Resident, draw: DrawDigest
) -> Rendered:
    """New offers and the coming week's sessions in the resident's track (or category)."""
    if resident.track_id is not None:
        scope = await session.get(Track, resident.track_id)
        in_scope = select(TrackStep.offer_id).where(TrackStep.track_id == resident.track_id)
    elif resident.category_id is not None:
        scope = await session.get(Category, resident.category_id)
        in_scope = (
            select(TrackStep.offer_id)
            .join(Track, Track.id == TrackStep.track_id)
            .where(Track.category_id == resident.category_id)
        )
    else:
        return Skip("no track or category chosen")
    if scope is None:
        return Skip("track or category gone")
    offer_ids = set(await session.scalars(in_scope.distinct()))
    offers = await offers_by_id(session, offer_ids)
    first = await next_start_of(session, offer_ids, now)
    new = [
        (offers[offer_id], first[offer_id])
        for offer_id in sorted(first, key=lambda offer_id: first[offer_id].starts_at)
        if offers[offer_id].created_at > now - timedelta(days=DIGEST_DAYS)
    ]
    upcoming = await _week_ahead(session, offer_ids, offers, now)
    if not new and not upcoming:
        return Skip("nothing new or coming up")
    return draw(resident, translated(scope.title, resident.language), new, upcoming)


async def _week_ahead(
    session: AsyncSession, offer_ids: set[int], offers: dict[int, Offer], now: datetime
) -> list[tuple[Offer, OfferSession]]:
    """The first DIGEST_ITEMS sessions of these offers in the coming DIGEST_DAYS."""
    upcoming_sessions = await session.scalars(
        select(OfferSession)
        .where(
            OfferSession.offer_id.in_(offer_ids),
            OfferSession.starts_at > now,
            OfferSession.starts_at <= now + timedelta(days=DIGEST_DAYS),
            OfferSession.status != SessionStatus.CANCELLED,
        )
        .order_by(OfferSession.starts_at)
        .limit(DIGEST_ITEMS)
    )
    return [(offers[item.offer_id], item) for item in upcoming_sessions]
