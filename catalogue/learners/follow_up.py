"""After check-ins: completions recorded, and the residents told through the outbox.

A volunteer's check-in happens in the volunteer's chat, not the resident's, so what follows for
the resident goes through the outbox (durable, sent in their language): a note of each track or
festival they have just completed (kind "completed", one per completion), and, for a resident
never asked, the invitation to tell about themselves (kind "about_me", once: it counts as the
asking). A resident who checks themselves in is shown their completions at once instead
(handlers/checkin_resident.py), and gets the invitation through the outbox too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.learners.facts import mark_asked_many
from catalogue.learners.tables import Completion
from catalogue.learners.tracks import record_completions
from catalogue.outbox.messages import NewMessage
from catalogue.outbox.messages import enqueue_many

COMPLETED = "completed"  # outbox kinds
ABOUT_ME = "about_me"


async def follow_up_check_ins(
    session: AsyncSession,
    checked_in: Mapping[int, int],
    now: datetime,
    *,
    offer_id: int | None = None,
    in_chat: bool = False,
) -> list[Completion]:
    """Record completions of residents just checked in and queue what they are told.

    `checked_in`: resident id → their chat. `offer_id`: the offer they were checked in to; only
    the tracks and festivals it is a step of can have been completed just now (None: look at
    all). `in_chat`: the resident is in the chat (a self check-in), and the caller shows them
    their new completions at once, so those are not queued."""
    residents = sorted(checked_in)
    if not residents:
        return []
    offers = None if offer_id is None else [offer_id]
    new = await record_completions(session, residents, offers)
    newly_asked = await mark_asked_many(session, residents, now)
    messages = [
        NewMessage(
            kind=COMPLETED,
            chat_id=checked_in[completion.resident_id],
            dedupe_key=f"{COMPLETED}:{completion.id}",
            due_at=now,
            payload={"completion_id": completion.id},
            resident_id=completion.resident_id,
        )
        for completion in new
        if not in_chat
    ]
    messages += [
        NewMessage(
            kind=ABOUT_ME,
            chat_id=checked_in[resident_id],
            dedupe_key=f"{ABOUT_ME}:{resident_id}",
            due_at=now,
            resident_id=resident_id,
        )
        for resident_id in newly_asked
    ]
    await enqueue_many(session, messages)
    return new
