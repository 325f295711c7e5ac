"""Turning claimed outbox rows into messages at send time, a batch of one kind at a time.

A row holds what to say about, not the words. A *renderer* for its kind loads what the rows
are about, decides for each whether it is still wanted (`Skip`), due later (`Reschedule`:
its session moved) or ready (`Outgoing`), and has the ready ones drawn in the resident's
language and zone. The renderers of every kind are handed to the outbox worker as a mapping
kind → renderer by the composition root (bot/startup/outbox_drawings.py), which also gives
each the drawing functions of the presentation layer: nothing registers itself on import.

Kind "text" belongs to the outbox itself: `payload = {"text": ..., "markup": {...}}` (HTML and
an InlineKeyboardMarkup as a dict) is sent as is, so every worker renders it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Resident
from catalogue.outbox.messages import OutboxMessage
from scheduler.config import SchedulerConfig
from scheduler.delivery import Outgoing

TEXT = "text"


@dataclass(frozen=True)
class Skip:
    """Do not send: the reason is kept in `last_error`."""

    reason: str


@dataclass(frozen=True)
class Reschedule:
    """Not yet: what it is about moved; due again at `due_at`."""

    due_at: datetime
    anchor_at: datetime | None = None
    reason: str = "moved"


Rendered = Outgoing | Skip | Reschedule


@dataclass(frozen=True)
class RenderContext:
    config: SchedulerConfig
    now: datetime


# Renders a batch of rows of one kind; answers by row id.
Renderer = Callable[
    [AsyncSession, RenderContext, list[OutboxMessage]], Awaitable[dict[int, Rendered]]
]


async def render_text(
    session: AsyncSession, context: RenderContext, rows: list[OutboxMessage]
) -> dict[int, Rendered]:
    """Pre-rendered messages: `payload = {"text": ..., "markup": {...}}`."""
    rendered: dict[int, Rendered] = {}
    for row in rows:
        text = row.payload.get("text")
        if not text:
            rendered[row.id] = Skip("empty text")
            continue
        markup = row.payload.get("markup")
        rendered[row.id] = Outgoing(
            text, InlineKeyboardMarkup.model_validate(markup) if markup else None
        )
    return rendered


async def render_rows(
    session: AsyncSession,
    renderers: Mapping[str, Renderer],
    context: RenderContext,
    rows: list[OutboxMessage],
) -> dict[int, Rendered]:
    """Each row rendered by the renderer of its kind; residents gone inactive get nothing."""
    rendered: dict[int, Rendered] = {}
    inactive = await inactive_residents(session, rows)
    by_kind: dict[str, list[OutboxMessage]] = {}
    for row in rows:
        if row.resident_id in inactive:
            rendered[row.id] = Skip("resident inactive")
        else:
            by_kind.setdefault(row.kind, []).append(row)
    for kind, batch in by_kind.items():
        render = renderers.get(kind)
        if render is None:
            rendered.update({row.id: Skip(f"no renderer for {kind}") for row in batch})
        else:
            rendered.update(await render(session, context, batch))
    return rendered


async def inactive_residents(session: AsyncSession, rows: list[OutboxMessage]) -> set[int]:
    ids = {row.resident_id for row in rows if row.resident_id is not None}
    if not ids:
        return set()
    found = await session.scalars(
        select(Resident.id).where(Resident.id.in_(ids), Resident.is_active.is_(False))
    )
    return set(found)
