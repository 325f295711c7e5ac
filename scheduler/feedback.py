"""The one feedback prompt after an attended session: an outbox kind with its renderer.

`catalogue.checkin.door` queues a row (kind "feedback", one per resident and session, due when
the session ends) for every check-in; this renderer decides at send time whether it is still
wanted: not when the check-in was undone, the resident already rated, or the session ended
more than FEEDBACK_STALE ago. A session that now ends later waits for its new end; quiet hours
hold the prompt until they are over.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.screens.feedback import feedback_prompt
from bot.screens.view import Viewer
from catalogue.checkin.feedback import FEEDBACK
from catalogue.checkin.tables import CheckIn, SessionFeedback
from catalogue.models import Offer, OfferSession, Resident
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.reminders import quiet_hours, resident_zone
from scheduler.delivery import Outgoing
from scheduler.outbox import RenderContext, Rendered, Reschedule, Skip, renderer

FEEDBACK_STALE = timedelta(days=3)


@renderer(FEEDBACK)
async def render_feedback(
    session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
) -> dict[int, Rendered]:
    now = context.now
    pairs = [
        (row.session_id, row.resident_id) for row in rows if row.session_id and row.resident_id
    ]
    residents = {
        resident.id: resident
        for resident in await session.scalars(
            select(Resident).where(Resident.id.in_({resident for _s, resident in pairs}))
        )
    }
    sessions = {
        offer_session.id: (offer_session, offer)
        for offer_session, offer in await session.execute(
            select(OfferSession, Offer)
            .join(Offer, Offer.id == OfferSession.offer_id)
            .where(OfferSession.id.in_({session_id for session_id, _r in pairs}))
        )
    }
    attended = (
        set(
            (
                await session.execute(
                    select(CheckIn.session_id, CheckIn.resident_id).where(
                        tuple_(CheckIn.session_id, CheckIn.resident_id).in_(pairs)
                    )
                )
            ).all()
        )
        if pairs
        else set()
    )
    rated = (
        set(
            (
                await session.execute(
                    select(SessionFeedback.session_id, SessionFeedback.resident_id).where(
                        tuple_(SessionFeedback.session_id, SessionFeedback.resident_id).in_(pairs)
                    )
                )
            ).all()
        )
        if pairs
        else set()
    )
    rendered: dict[int, Rendered] = {}
    for row in rows:
        resident = residents.get(row.resident_id or 0)
        facts = sessions.get(row.session_id or 0)
        key = (row.session_id, row.resident_id)
        if resident is None or facts is None:
            rendered[row.id] = Skip("session or resident gone")
            continue
        offer_session, offer = facts
        zone = resident_zone(resident, context.settings.city_zone)
        quiet = quiet_hours(resident)
        if key not in attended:
            rendered[row.id] = Skip("check-in undone")
        elif key in rated:
            rendered[row.id] = Skip("already rated")
        elif offer_session.ends_at > now:
            rendered[row.id] = Reschedule(offer_session.ends_at, offer_session.ends_at)
        elif offer_session.ends_at < now - FEEDBACK_STALE:
            rendered[row.id] = Skip("too long after the session")
        elif quiet is not None and quiet.after(now, zone) > now:
            rendered[row.id] = Reschedule(quiet.after(now, zone), row.anchor_at, "quiet hours")
        else:
            with context.i18n.use_locale(resident.language):
                view = feedback_prompt(
                    Viewer.of(resident, context.settings.city_zone), offer, offer_session
                )
            rendered[row.id] = Outgoing(view.text, view.markup)
    return rendered
