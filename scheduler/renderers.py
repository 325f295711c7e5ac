"""Turning outbox rows into messages at send time, a batch at a time.

Each renderer loads what its rows are about in a few queries, decides per row whether it is
still wanted (`Skip`), due later (`Reschedule`: its session moved) or ready (`Outgoing`), and
renders it in the resident's language and zone with bot/screens/notices.py.

A reminder is dropped, never sent late, when its session has begun: nobody is told "your
class starts" two hours after it started. When the bot was down, an overdue reminder whose
session is still ahead goes out on start, and only the latest of several overdue ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.screens import notices
from bot.screens.view import View, Viewer
from catalogue.models import (
    Category,
    Festival,
    Offer,
    OfferSession,
    Resident,
    Seat,
    SeatStatus,
    SessionStatus,
    Track,
    TrackStep,
    Venue,
    translated,
)
from catalogue.outbox.messages import OutboxMessage, OutboxState
from catalogue.outbox.reminders import (
    ANNOUNCE,
    CHANGE,
    DIGEST,
    PROMOTED,
    REMINDER,
    quiet_hours,
    resident_zone,
)
from catalogue.outbox.timing import reminder_due
from scheduler.delivery import Outgoing
from scheduler.outbox import RenderContext, Rendered, Reschedule, Skip, renderer

DIGEST_DAYS = 7

SessionFacts = tuple[OfferSession, Offer, Venue | None]


def _outgoing(view: View) -> Outgoing:
    return Outgoing(view.text, view.markup)


async def _residents(session: AsyncSession, rows: list[OutboxMessage]) -> dict[int, Resident]:
    ids = {row.resident_id for row in rows if row.resident_id is not None}
    if not ids:
        return {}
    return {r.id: r for r in await session.scalars(select(Resident).where(Resident.id.in_(ids)))}


async def _sessions(session: AsyncSession, ids: set[int]) -> dict[int, SessionFacts]:
    if not ids:
        return {}
    rows = await session.execute(
        select(OfferSession, Offer, Venue)
        .join(Offer, Offer.id == OfferSession.offer_id)
        .outerjoin(Venue, Venue.id == OfferSession.venue_id)
        .where(OfferSession.id.in_(ids))
    )
    return {offer_session.id: (offer_session, offer, venue) for offer_session, offer, venue in rows}


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


def _viewer(context: RenderContext, resident: Resident) -> Viewer:
    return Viewer.of(resident, context.settings.city_zone)


@renderer(REMINDER)
async def render_reminders(
    session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
) -> dict[int, Rendered]:
    now = context.now
    residents = await _residents(session, rows)
    sessions = await _sessions(session, {row.session_id for row in rows if row.session_id})
    statuses = await _statuses(session, rows)
    superseded = await _superseded(session, rows, now)
    rendered: dict[int, Rendered] = {}
    for row in rows:
        resident = residents.get(row.resident_id or 0)
        facts = sessions.get(row.session_id or 0)
        if resident is None or facts is None:
            rendered[row.id] = Skip("session or resident gone")
            continue
        offer_session, offer, venue = facts
        if not resident.reminders_on:
            rendered[row.id] = Skip("reminders off")
        elif offer_session.status == SessionStatus.CANCELLED:
            rendered[row.id] = Skip("session cancelled")
        elif statuses.get((resident.id, offer_session.id)) != SeatStatus.GOING:
            rendered[row.id] = Skip("not going")
        elif offer_session.starts_at <= now:
            rendered[row.id] = Skip("session already begun")
        elif (
            row.anchor_at != offer_session.starts_at
            and (due := _due_again(row, resident, offer_session, context)) > now
        ):
            rendered[row.id] = Reschedule(due, offer_session.starts_at)
        elif row.id in superseded:
            rendered[row.id] = Skip("a later reminder is due too")
        else:
            with context.i18n.use_locale(resident.language):
                viewer = _viewer(context, resident)
                view = notices.reminder(viewer, offer, offer_session, venue, now)
            rendered[row.id] = _outgoing(view)
    return rendered


def _due_again(
    row: OutboxMessage, resident: Resident, offer_session: OfferSession, context: RenderContext
) -> datetime:
    """The session moved without us being told (e.g. an import): when this reminder is due."""
    zone = resident_zone(resident, context.settings.city_zone)
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


@renderer(CHANGE)
async def render_changes(
    session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
) -> dict[int, Rendered]:
    residents = await _residents(session, rows)
    sessions = await _sessions(session, {row.session_id for row in rows if row.session_id})
    statuses = await _statuses(session, rows)
    old_venue_ids = {row.payload.get("old_venue_id") for row in rows} - {None}
    old_venues = {}
    if old_venue_ids:
        found = await session.scalars(select(Venue).where(Venue.id.in_(old_venue_ids)))
        old_venues = {venue.id: venue for venue in found}
    rendered: dict[int, Rendered] = {}
    for row in rows:
        resident = residents.get(row.resident_id or 0)
        facts = sessions.get(row.session_id or 0)
        if resident is None or facts is None:
            rendered[row.id] = Skip("session or resident gone")
            continue
        offer_session, offer, venue = facts
        cancelled = row.payload.get("change") == "cancelled"
        old_starts = _parse(row.payload.get("old_starts_at"))
        if cancelled != (offer_session.status == SessionStatus.CANCELLED):
            rendered[row.id] = Skip("changed again since")
        elif statuses.get((resident.id, offer_session.id)) not in (
            SeatStatus.GOING,
            SeatStatus.WAITLISTED,
        ):
            rendered[row.id] = Skip("no longer subscribed")
        elif max(offer_session.starts_at, old_starts or offer_session.starts_at) <= context.now:
            rendered[row.id] = Skip("session already begun")
        else:
            old_venue = old_venues.get(row.payload.get("old_venue_id") or 0)
            with context.i18n.use_locale(resident.language):
                view = notices.change_notice(
                    _viewer(context, resident), offer, offer_session, venue, old_starts, old_venue
                )
            rendered[row.id] = _outgoing(view)
    return rendered


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@renderer(PROMOTED)
async def render_promotions(
    session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
) -> dict[int, Rendered]:
    residents = await _residents(session, rows)
    sessions = await _sessions(session, {row.session_id for row in rows if row.session_id})
    statuses = await _statuses(session, rows)
    rendered: dict[int, Rendered] = {}
    for row in rows:
        resident = residents.get(row.resident_id or 0)
        facts = sessions.get(row.session_id or 0)
        if resident is None or facts is None:
            rendered[row.id] = Skip("session or resident gone")
            continue
        offer_session, offer, venue = facts
        if statuses.get((resident.id, offer_session.id)) != SeatStatus.GOING:
            rendered[row.id] = Skip("no longer going")
        elif offer_session.status == SessionStatus.CANCELLED:
            rendered[row.id] = Skip("session cancelled")
        elif offer_session.starts_at <= context.now:
            rendered[row.id] = Skip("session already begun")
        else:
            with context.i18n.use_locale(resident.language):
                view = notices.promoted(_viewer(context, resident), offer, offer_session, venue)
            rendered[row.id] = _outgoing(view)
    return rendered


async def _first_upcoming(
    session: AsyncSession, offer_ids: set[int], now: datetime, until: datetime | None = None
) -> dict[int, OfferSession]:
    if not offer_ids:
        return {}
    query = (
        select(OfferSession)
        .where(
            OfferSession.offer_id.in_(offer_ids),
            OfferSession.starts_at > now,
            OfferSession.status != SessionStatus.CANCELLED,
        )
        .order_by(OfferSession.starts_at)
    )
    if until is not None:
        query = query.where(OfferSession.starts_at <= until)
    first: dict[int, OfferSession] = {}
    for offer_session in await session.scalars(query):
        first.setdefault(offer_session.offer_id, offer_session)
    return first


@renderer(ANNOUNCE)
async def render_announcements(
    session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
) -> dict[int, Rendered]:
    residents = await _residents(session, rows)
    offer_ids = {int(row.payload.get("offer_id", 0)) for row in rows}
    offers = {o.id: o for o in await session.scalars(select(Offer).where(Offer.id.in_(offer_ids)))}
    first = await _first_upcoming(session, offer_ids, context.now)
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
            model = Festival if row.payload.get("via") == "festival" else Track
            where = await session.get(model, int(row.payload.get("target", 0)))
            with context.i18n.use_locale(resident.language):
                title = translated(where.title, resident.language) if where else ""
                view = notices.announcement(
                    _viewer(context, resident), offer, first[offer.id], title
                )
            rendered[row.id] = _outgoing(view)
    return rendered


@renderer(DIGEST)
async def render_digests(
    session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
) -> dict[int, Rendered]:
    residents = await _residents(session, rows)
    rendered: dict[int, Rendered] = {}
    for row in rows:
        resident = residents.get(row.resident_id or 0)
        if resident is None:
            rendered[row.id] = Skip("resident gone")
        elif resident.digest_weekday is None:
            rendered[row.id] = Skip("digest off")
        else:
            rendered[row.id] = await _digest(session, context, resident)
    return rendered


async def _digest(session: AsyncSession, context: RenderContext, resident: Resident) -> Rendered:
    """New offers and the coming week's sessions in the resident's track (or category)."""
    now = context.now
    if resident.track_id is not None:
        scope = await session.get(Track, resident.track_id)
        tracks = select(TrackStep.offer_id).where(TrackStep.track_id == resident.track_id)
    elif resident.category_id is not None:
        scope = await session.get(Category, resident.category_id)
        tracks = (
            select(TrackStep.offer_id)
            .join(Track, Track.id == TrackStep.track_id)
            .where(Track.category_id == resident.category_id)
        )
    else:
        return Skip("no track or category chosen")
    if scope is None:
        return Skip("track or category gone")
    offer_ids = set(await session.scalars(tracks.distinct()))
    week_ahead = now + timedelta(days=DIGEST_DAYS)
    offers = {o.id: o for o in await session.scalars(select(Offer).where(Offer.id.in_(offer_ids)))}
    first = await _first_upcoming(session, offer_ids, now)
    new = [
        (offers[offer_id], first[offer_id])
        for offer_id in sorted(first, key=lambda offer_id: first[offer_id].starts_at)
        if offers[offer_id].created_at > now - timedelta(days=DIGEST_DAYS)
    ]
    upcoming_sessions = await session.scalars(
        select(OfferSession)
        .where(
            OfferSession.offer_id.in_(offer_ids),
            OfferSession.starts_at > now,
            OfferSession.starts_at <= week_ahead,
            OfferSession.status != SessionStatus.CANCELLED,
        )
        .order_by(OfferSession.starts_at)
        .limit(notices.DIGEST_ITEMS)
    )
    upcoming = [(offers[item.offer_id], item) for item in upcoming_sessions]
    if not new and not upcoming:
        return Skip("nothing new or coming up")
    with context.i18n.use_locale(resident.language):
        title = translated(scope.title, resident.language)
        return _outgoing(notices.digest(_viewer(context, resident), title, new, upcoming))
