"""The learning record's outbox messages, decided at send time (catalogue/learners/).

* "completed": a volunteer's check-in completed a track or festival; dropped if the completion
  is gone (the resident forgot themselves meanwhile).
* "about_me": the optional questions, once, to a resident a volunteer checked in who was never
  asked; dropped if they have agreed meanwhile (`facts.consented_among`).
* "survey": "what would you like to learn?", once, a week after joining; dropped if answered
  (`survey.answered`). Both are an `unanswered_renderer`.

How each looks is handed in from bot/screens/learners/ (bot/startup/outbox_drawings.py).
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.learners.tracks import CompletedTarget
from catalogue.learners.tracks import completions_by_id
from catalogue.models import Resident
from catalogue.outbox.messages import OutboxMessage
from scheduler.delivery import Outgoing
from scheduler.renderers import render_each_resident
from scheduler.renderers import residents_of_messages
from scheduler.rendering import RenderContext
from scheduler.rendering import Rendered
from scheduler.rendering import Renderer
from scheduler.rendering import Skip

DrawForResident = Callable[[Resident], Outgoing]
DrawCompletion = Callable[[Resident, CompletedTarget], Outgoing]
AnsweredAmong = Callable[[AsyncSession, Sequence[int]], Awaitable[set[int]]]


def completion_renderer(draw: DrawCompletion) -> Renderer:
    async def render(
        session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
    ) -> dict[int, Rendered]:
        residents = await residents_of_messages(session, rows)
        found = await completions_by_id(
            session, (int(row.payload.get("completion_id") or 0) for row in rows)
        )
        rendered: dict[int, Rendered] = {}
        for row in rows:
            resident = residents.get(row.resident_id or 0)
            owner, item = found.get(int(row.payload.get("completion_id") or 0), (None, None))
            rendered[row.id] = (
                draw(resident, item)
                if resident and item and owner == resident.id
                else Skip("completion gone")
            )
        return rendered

    return render


def unanswered_renderer(draw: DrawForResident, answered_among: AnsweredAmong) -> Renderer:
    """A question put once: sent unless `answered_among` says the resident has answered."""

    async def render(
        session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
    ) -> dict[int, Rendered]:
        done = await answered_among(
            session, list({row.resident_id for row in rows if row.resident_id is not None})
        )

        async def one(row: OutboxMessage, resident: Resident) -> Rendered:
            return Skip("already answered") if resident.id in done else draw(resident)

        return await render_each_resident(session, rows, one)

    return render
