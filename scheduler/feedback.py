"""The one feedback prompt after an attended session: loaded and decided at send time.

`catalogue.checkin.door` queues a row (kind "feedback", one per resident and session, due when
the session ends) for every check-in; this renderer decides at send time whether it is still
wanted: not when the check-in was undone, the resident already rated, or the session ended
more than FEEDBACK_STALE ago. A session that now ends later waits for its new end; quiet hours
hold the prompt until they are over. How the prompt looks is handed in
(bot/screens/feedback.py, through bot/startup/outbox_drawings.py).

`comments_renderer` draws an organiser's daily message of the comments residents wrote since
the day before (kind "comments", queued by catalogue.checkin.feedback.plan_comment_digests).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy import tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.feedback import SessionComment
from catalogue.checkin.feedback import comments_between
from catalogue.checkin.feedback import comments_since
from catalogue.checkin.feedback import still_organiser
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import SessionFeedback
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.reminders import quiet_hours
from catalogue.outbox.reminders import resident_zone
from catalogue.queries import sessions_by_id
from scheduler.delivery import Outgoing
from scheduler.rendering import RenderContext
from scheduler.rendering import Rendered
from scheduler.rendering import Renderer
from scheduler.rendering import Reschedule
from scheduler.rendering import Skip

FEEDBACK_STALE = timedelta(days=3)

DrawFeedbackPrompt = Callable[[Resident, Offer, OfferSession], Outgoing]
DrawComments = Callable[[Resident, list[SessionComment]], Outgoing]
SessionAndResident = tuple[int, int]


def feedback_renderer(draw: DrawFeedbackPrompt) -> Renderer:
    """Asks an attendee to rate the session once it is over."""

    async def render(
        session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
    ) -> dict[int, Rendered]:
        pairs = [
            (row.session_id, row.resident_id) for row in rows if row.session_id and row.resident_id
        ]
        residents = {
            resident.id: resident
            for resident in await session.scalars(
                select(Resident).where(Resident.id.in_({resident for _s, resident in pairs}))
            )
        }
        sessions = await sessions_by_id(session, {session_id for session_id, _r in pairs})
        attended = await _found(session, CheckIn, pairs)
        rated = await _found(session, SessionFeedback, pairs)
        rendered: dict[int, Rendered] = {}
        for row in rows:
            resident = residents.get(row.resident_id or 0)
            facts = sessions.get(row.session_id or 0)
            key = (row.session_id, row.resident_id)
            if resident is None or facts is None:
                rendered[row.id] = Skip("session or resident gone")
            elif key not in attended:
                rendered[row.id] = Skip("check-in undone")
            elif key in rated:
                rendered[row.id] = Skip("already rated")
            else:
                offer_session, offer, _venue = facts
                rendered[row.id] = _when_over(row, resident, offer, offer_session, context, draw)
        return rendered

    return render


async def _found(
    session: AsyncSession,
    table: type[CheckIn] | type[SessionFeedback],
    pairs: Iterable[SessionAndResident],
) -> set[SessionAndResident]:
    """Which (session, resident) pairs have a row in `table`."""
    wanted = list(pairs)
    if not wanted:
        return set()
    found = await session.execute(
        select(table.session_id, table.resident_id).where(
            tuple_(table.session_id, table.resident_id).in_(wanted)
        )
    )
    return {(session_id, resident_id) for session_id, resident_id in found}


def _when_over(
    row: OutboxMessage,
    resident: Resident,
    offer: Offer,
    offer_session: OfferSession,
    context: RenderContext,
    draw: DrawFeedbackPrompt,
) -> Rendered:
    """Asked after the session ends, within FEEDBACK_STALE, and not in quiet hours."""
    now = context.now
    zone = resident_zone(resident, context.config.city_zone)
    quiet = quiet_hours(resident)
    if offer_session.ends_at > now:
        return Reschedule(offer_session.ends_at, offer_session.ends_at)
    if offer_session.ends_at < now - FEEDBACK_STALE:
        return Skip("too long after the session")
    if quiet is not None and quiet.after(now, zone) > now:
        return Reschedule(quiet.after(now, zone), row.anchor_at, "quiet hours")
    return draw(resident, offer, offer_session)


def comments_renderer(draw: DrawComments) -> Renderer:
    """An organiser's comments of the day: skipped when there are none, or when the reader
    has left the team since it was queued."""

    async def render(
        session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
    ) -> dict[int, Rendered]:
        rendered: dict[int, Rendered] = {}
        for row in rows:
            reader = await session.get(Resident, row.resident_id) if row.resident_id else None
            if reader is None or row.anchor_at is None:
                rendered[row.id] = Skip("reader gone")
                continue
            if not row.payload.get("admin") and not await still_organiser(
                session, reader.telegram_id
            ):
                rendered[row.id] = Skip("not on the team any more")
                continue
            since = await comments_since(session, row)
            comments = await comments_between(session, since, row.anchor_at)
            rendered[row.id] = draw(reader, comments) if comments else Skip("no comments")
        return rendered

    return render
