"""Organisers' announcements: who gets them, the durable per-recipient rows, progress, control.

A broadcast is one row here; each recipient is one `OutboxMessage` (kind "broadcast",
`broadcast_id` set, `dedupe_key` "broadcast:<id>:<resident id>"), sent by the outbox worker
through the shared limiter (`scheduler.delivery`) like every other bulk message.

Planning writes those rows in pages, walking residents by id (keyset, never OFFSET): each page
is one INSERT … SELECT on the database plus the new cursor, committed together, so memory does
not grow with the audience and a crash in the middle resumes at the cursor. Pages are written
just ahead of sending (`scheduler.broadcast_runner` keeps about a page waiting), so reminders
due meanwhile are not stuck behind a city-wide announcement. The audience is fixed when sending
starts: residents who join later (a higher id than `last_resident_id`) are not added halfway.
Residents who turned announcements off, or who blocked the bot, are left out.

Pausing moves the broadcast's waiting rows aside (state `skipped`, `last_error` "paused";
rows a sender claims afterwards are skipped the same way by the renderer) and resuming puts
them back; cancelling skips them for good. What the sender had already taken in hand, a few
seconds' worth, still goes out: a message handed to Telegram cannot be called back.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Column
from sqlmodel import Field
from sqlmodel import SQLModel

from catalogue.errors import DomainError
from catalogue.models import Category
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import SessionStatus
from catalogue.models import Subscription
from catalogue.models import SubscriptionKind
from catalogue.models import Track
from catalogue.models import Translations
from catalogue.models import _enum_column
from catalogue.models import _string_column
from catalogue.models import _utc_column
from catalogue.models import utc_now
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from catalogue.queries import Window
from catalogue.queries import page_of_rows
from catalogue.queries import session_by_id

KIND = "broadcast"
PLAN_PAGE = 5_000
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
PAUSED = "paused"
CANCELLED = "cancelled"
NOT_YOURS = "not_yours"


class BroadcastState(StrEnum):
    SCHEDULED = "scheduled"  # waits for `due_at`
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class AudienceKind(StrEnum):
    EVERYONE = "everyone"
    CATEGORY = "category"
    TRACK = "track"
    LANGUAGE = "language"
    FESTIVAL = "festival"  # residents following the festival
    OFFER = "offer"  # following the offer, or signed up for one of its sessions
    SESSION = "session"  # holding a seat at the session (going), whether they came or not
    CHECKED_IN = "checked_in"  # checked in at the door of the session: the people who came


# The door's check-ins (catalogue/checkin/tables.py), named here by table and columns only:
# catalogue.checkin queues its feedback prompts in the outbox, so the outbox may not import it.
CHECK_IN = sa.table("check_in", sa.column("resident_id"), sa.column("session_id"))

# The audiences chosen by an offer, then one of its sessions.
SESSION_AUDIENCES = (AudienceKind.SESSION, AudienceKind.CHECKED_IN)


@dataclass(frozen=True)
class Audience:
    kind: AudienceKind
    target_id: int | None = None  # category, track, festival, offer or session id
    language: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"kind": self.kind.value, "target_id": self.target_id, "language": self.language}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Audience:
        target = data.get("target_id")
        language = data.get("language")
        return cls(
            AudienceKind(str(data["kind"])),
            int(target) if target is not None else None,  # type: ignore[arg-type]
            str(language) if language else None,
        )


class Broadcast(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_by: int = Field(sa_column=Column(sa.BigInteger, nullable=False))
    # HTML as Telegram formats it (`Message.html_text`); with a photo, its caption.
    text: str = Field(sa_column=Column(sa.Text, nullable=False))
    photo_file_id: str | None = Field(default=None, sa_column=_string_column(200, nullable=True))
    audience_kind: AudienceKind = Field(sa_column=_enum_column(AudienceKind))
    audience_target_id: int | None = None
    audience_language: str | None = Field(default=None, sa_column=_string_column(10, nullable=True))
    state: BroadcastState = Field(sa_column=_enum_column(BroadcastState, index=True))
    due_at: datetime = Field(sa_column=_utc_column(index=True))
    created_at: datetime = Field(default_factory=utc_now, sa_column=_utc_column())
    started_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # Planning: the audience is residents up to `last_resident_id` (fixed at the start);
    # `cursor` is the last resident id whose row is written.
    last_resident_id: int | None = None
    cursor: int = 0
    planned_all: bool = False
    planned: int = 0
    recipients: int = 0  # counted when sending starts
    # Telegram's paid broadcasts (up to 1000 messages a second, for Stars): opt-in per setting.
    paid: bool = False
    # The one message showing progress to the organiser, edited in place.
    progress_chat_id: int | None = Field(
        default=None, sa_column=Column(sa.BigInteger, nullable=True)
    )
    progress_message_id: int | None = None
    # The organiser's form that made it: a second press of Confirm finds it instead of sending
    # the announcement twice.
    request_key: str | None = Field(
        default=None, sa_column=_string_column(40, nullable=True, unique=True)
    )
    # When the final report went to the organiser (a finished broadcast is reported once).
    reported_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))

    @property
    def audience(self) -> Audience:
        return Audience(self.audience_kind, self.audience_target_id, self.audience_language)


@dataclass(frozen=True)
class Progress:
    total: int  # recipients: the audience counted at the start, exact once all are planned
    sent: int
    blocked: int  # blocked the bot or gone: marked inactive
    failed: int  # Telegram refused the message
    waiting: int  # written and not yet sent (or held by Pause)
    cancelled: int  # not sent because the broadcast was cancelled

    @property
    def done(self) -> int:
        return self.sent + self.blocked + self.failed + self.cancelled


class BroadcastError(DomainError, ValueError):
    """A broadcast cannot be made as asked; the message names what is wrong."""


# ---------------------------------------------------------------- the audience


def recipients_filter(audience: Audience) -> sa.ColumnElement[bool]:
    """Which residents hear a broadcast: the audience, announcements on, bot not blocked."""
    wanted = and_(Resident.is_active.is_(True), Resident.announcements_on.is_(True))
    kind, target = audience.kind, audience.target_id
    if kind is AudienceKind.EVERYONE:
        return wanted
    if kind is AudienceKind.CATEGORY:
        return and_(wanted, Resident.category_id == target)
    if kind is AudienceKind.TRACK:
        return and_(wanted, Resident.track_id == target)
    if kind is AudienceKind.LANGUAGE:
        return and_(wanted, Resident.language == audience.language)
    if kind is AudienceKind.FESTIVAL:
        return and_(wanted, _follows(SubscriptionKind.FESTIVAL, target))
    if kind is AudienceKind.OFFER:
        signed_up = exists().where(
            Seat.resident_id == Resident.id,
            Seat.status != SeatStatus.DECLINED,
            Seat.session_id.in_(select(OfferSession.id).where(OfferSession.offer_id == target)),
        )
        return and_(wanted, sa.or_(_follows(SubscriptionKind.OFFER, target), signed_up))
    if kind is AudienceKind.CHECKED_IN:
        came = exists().where(
            CHECK_IN.c.resident_id == Resident.id, CHECK_IN.c.session_id == target
        )
        return and_(wanted, came)
    if kind is AudienceKind.SESSION:
        return and_(
            wanted,
            exists().where(
                Seat.resident_id == Resident.id,
                Seat.session_id == target,
                Seat.status == SeatStatus.GOING,
            ),
        )
    raise BroadcastError(f"unknown audience {kind}")


@dataclass(frozen=True)
class AudienceTarget:
    """What an audience is about, for the organiser to read: a title, and a session's start."""

    title: Translations
    starts_at: datetime | None = None


# The audiences named after one row of these tables (a session is named after its offer).
TITLED: dict[AudienceKind, type[Category | Track | Festival | Offer]] = {
    AudienceKind.CATEGORY: Category,
    AudienceKind.TRACK: Track,
    AudienceKind.FESTIVAL: Festival,
    AudienceKind.OFFER: Offer,
}


async def audience_target(
    session: AsyncSession, kind: AudienceKind, target_id: int
) -> AudienceTarget | None:
    """The category, track, festival, offer or session an audience is about; None if it is
    gone (or `kind` names no single thing)."""
    if kind in SESSION_AUDIENCES:
        found = await session_by_id(session, target_id)
        if found is None:
            return None
        offer_session, offer, _venue = found
        return AudienceTarget(offer.title, offer_session.starts_at)
    model = TITLED.get(kind)
    target = await session.get(model, target_id) if model is not None else None
    return None if target is None else AudienceTarget(target.title)


# Sessions on one page of the choice of a session to address.
SESSIONS_PER_PAGE = 10


async def sessions_for_audience(
    session: AsyncSession, kind: AudienceKind, offer_id: int, now: datetime, page: int = 0
) -> tuple[list[OfferSession], Window]:
    """Page `page` of the sessions of an offer an organiser may address: those still ahead for
    seat holders, those that have begun (latest first) for the people checked in."""
    query = select(OfferSession).where(OfferSession.offer_id == offer_id)
    if kind is AudienceKind.CHECKED_IN:
        query = query.where(OfferSession.starts_at <= now).order_by(OfferSession.starts_at.desc())
    else:
        query = query.where(
            OfferSession.starts_at > now, OfferSession.status != SessionStatus.CANCELLED
        ).order_by(OfferSession.starts_at)
    rows, window = await page_of_rows(
        session, query.order_by(OfferSession.id), page, SESSIONS_PER_PAGE
    )
    return [offer_session for (offer_session,) in rows], window


def _follows(kind: SubscriptionKind, target: int | None) -> sa.ColumnElement[bool]:
    return exists().where(
        Subscription.resident_id == Resident.id,
        Subscription.kind == kind,
        Subscription.target_id == target,
    )


async def count_recipients(
    session: AsyncSession, audience: Audience, up_to: int | None = None
) -> int:
    query = select(func.count()).select_from(Resident).where(recipients_filter(audience))
    if up_to is not None:
        query = query.where(Resident.id <= up_to)
    return await session.scalar(query) or 0


# ---------------------------------------------------------------- making one


TAG = re.compile(r"<[^>]*>")


def visible_length(text: str) -> int:
    """How long HTML `text` is as residents see it, as Telegram measures its limits: tags
    left out, `&amp;` and the like one character each, in UTF-16 code units."""
    visible = html.unescape(TAG.sub("", text))
    return len(visible.encode("utf-16-le")) // 2


def check_content(text: str, photo_file_id: str | None) -> None:
    """Refused: nothing to send, or more than Telegram takes as residents would see it."""
    if not text.strip() and not photo_file_id:
        raise BroadcastError("empty")
    length = visible_length(text)
    if photo_file_id and length > CAPTION_LIMIT:
        raise BroadcastError("caption")
    if length > TEXT_LIMIT:
        raise BroadcastError("text")


async def create_broadcast(
    session: AsyncSession,
    *,
    created_by: int,
    text: str,
    audience: Audience,
    photo_file_id: str | None = None,
    due_at: datetime | None = None,
    paid: bool = False,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
    request_key: str | None = None,
    now: datetime | None = None,
) -> Broadcast:
    """A confirmed broadcast: sending now (`due_at` None or past) or scheduled.

    With a `request_key` already used, the broadcast made then is returned and nothing new is
    made (the organiser pressed Confirm twice).
    """
    if request_key is not None:
        made = await session.scalar(select(Broadcast).where(Broadcast.request_key == request_key))
        if made is not None:
            return made
    check_content(text, photo_file_id)
    now = now or utc_now()
    scheduled = due_at is not None and due_at > now
    broadcast = Broadcast(
        created_by=created_by,
        text=text,
        photo_file_id=photo_file_id,
        audience_kind=audience.kind,
        audience_target_id=audience.target_id,
        audience_language=audience.language,
        state=BroadcastState.SCHEDULED if scheduled else BroadcastState.SENDING,
        due_at=due_at if scheduled else now,
        created_at=now,
        paid=paid,
        progress_chat_id=progress_chat_id if progress_chat_id is not None else created_by,
        progress_message_id=progress_message_id,
        request_key=request_key,
    )
    session.add(broadcast)
    await session.flush()
    if not scheduled:
        await start(session, broadcast, now)
    return broadcast


async def start(session: AsyncSession, broadcast: Broadcast, now: datetime) -> None:
    """Fix the audience: residents registered from now on are not included."""
    broadcast.state = BroadcastState.SENDING
    broadcast.started_at = now
    broadcast.last_resident_id = await session.scalar(select(func.max(Resident.id))) or 0
    broadcast.recipients = await count_recipients(
        session, broadcast.audience, broadcast.last_resident_id
    )
    session.add(broadcast)
    await session.flush()


async def start_due(session: AsyncSession, now: datetime) -> list[int]:
    """Scheduled broadcasts whose time has come start sending; returns their ids."""
    due = list(
        await session.scalars(
            select(Broadcast).where(
                Broadcast.state == BroadcastState.SCHEDULED, Broadcast.due_at <= now
            )
        )
    )
    for broadcast in due:
        await start(session, broadcast, now)
    return [broadcast.id for broadcast in due]


# ---------------------------------------------------------------- planning


async def plan_page(
    session: AsyncSession, broadcast_id: int, page: int = PLAN_PAGE, now: datetime | None = None
) -> int:
    """Write the next page of delivery rows; returns how many (0 once everyone is planned).

    The caller commits after each page: rows and cursor then land together.
    """
    now = now or utc_now()
    query = select(Broadcast).where(Broadcast.id == broadcast_id)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()  # two processes never plan the same page
    broadcast = await session.scalar(query)
    if broadcast is None or broadcast.planned_all:
        return 0
    if broadcast.state is not BroadcastState.SENDING:
        return 0
    audience = recipients_filter(broadcast.audience)
    window = and_(
        audience, Resident.id > broadcast.cursor, Resident.id <= (broadcast.last_resident_id or 0)
    )
    page_ids = select(Resident.id).where(window).order_by(Resident.id).limit(page).subquery()
    last = await session.scalar(select(func.max(page_ids.c.id)))
    if last is None:
        broadcast.planned_all = True
        session.add(broadcast)
        await session.flush()
        return 0
    rows = select(
        sa.literal(KIND, sa.String),
        Resident.telegram_id,
        Resident.id,
        sa.literal({"broadcast_id": broadcast.id}, sa.JSON),
        sa.literal(now, OutboxMessage.__table__.c.due_at.type),
        sa.literal(OutboxState.PENDING.value, OutboxMessage.__table__.c.state.type),
        sa.literal(0),
        sa.literal(f"{KIND}:{broadcast.id}:") + sa.cast(Resident.id, sa.String),
        sa.literal(now, OutboxMessage.__table__.c.created_at.type),
        sa.literal(broadcast.id),
    ).where(window, Resident.id <= last)
    table = OutboxMessage.__table__
    inserted = await session.execute(
        sa.insert(table).from_select(
            [
                table.c.kind,
                table.c.chat_id,
                table.c.resident_id,
                table.c.payload,
                table.c.due_at,
                table.c.state,
                table.c.attempts,
                table.c.dedupe_key,
                table.c.created_at,
                table.c.broadcast_id,
            ],
            rows,
        )
    )
    broadcast.cursor = last
    broadcast.planned += inserted.rowcount
    session.add(broadcast)
    await session.flush()
    return inserted.rowcount


# ---------------------------------------------------------------- control and progress


async def broadcast_by_id(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


def check_may_change(broadcast: Broadcast, telegram_id: int, *, administrator: bool) -> None:
    """An organiser may pause, resume or cancel only their own broadcasts; an administrator
    any. Refused with `BroadcastError("not_yours")`."""
    if not administrator and broadcast.created_by != telegram_id:
        raise BroadcastError(NOT_YOURS)


async def pause(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.state is not BroadcastState.SENDING:
        return None
    broadcast.state = BroadcastState.PAUSED
    session.add(broadcast)
    await _move_rows(session, broadcast_id, OutboxState.PENDING, None, OutboxState.SKIPPED, PAUSED)
    return broadcast


async def resume(
    session: AsyncSession, broadcast_id: int, now: datetime | None = None
) -> Broadcast | None:
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.state is not BroadcastState.PAUSED:
        return None
    broadcast.state = BroadcastState.SENDING
    session.add(broadcast)
    await _move_rows(
        session, broadcast_id, OutboxState.SKIPPED, PAUSED, OutboxState.PENDING, None, now
    )
    return broadcast


async def cancel(
    session: AsyncSession, broadcast_id: int, now: datetime | None = None
) -> Broadcast | None:
    """Stop for good: a scheduled one never starts, a running one sends nothing more."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.state in (BroadcastState.CANCELLED, BroadcastState.DONE):
        return None
    broadcast.state = BroadcastState.CANCELLED
    broadcast.finished_at = now or utc_now()
    session.add(broadcast)
    await _move_rows(
        session, broadcast_id, OutboxState.PENDING, None, OutboxState.SKIPPED, CANCELLED
    )
    await _move_rows(
        session, broadcast_id, OutboxState.SKIPPED, PAUSED, OutboxState.SKIPPED, CANCELLED
    )
    return broadcast


async def requeue_held(session: AsyncSession, broadcast_id: int, now: datetime) -> int:
    """Rows of a sending broadcast still held as paused go back to the queue; how many.

    A row a sender had claimed when Pause came is skipped as paused when it is let go; if
    Resume came first, nothing else would ever put it back.
    """
    held = await session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.broadcast_id == broadcast_id,
            OutboxMessage.state == OutboxState.SKIPPED,
            OutboxMessage.last_error == PAUSED,
        )
        .limit(1)
    )
    if held is None:
        return 0
    return await _move_rows(
        session, broadcast_id, OutboxState.SKIPPED, PAUSED, OutboxState.PENDING, None, now
    )


async def _move_rows(
    session: AsyncSession,
    broadcast_id: int,
    from_state: OutboxState,
    from_error: str | None,
    to_state: OutboxState,
    to_error: str | None,
    now: datetime | None = None,
) -> int:
    conditions = [OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.state == from_state]
    if from_error is not None:  # None: whatever the row's last error
        conditions.append(OutboxMessage.last_error == from_error)
    values: dict[str, object] = {"state": to_state, "last_error": to_error}
    if now is not None:
        values["due_at"] = now
    moved = await session.execute(
        update(OutboxMessage)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount


async def progress(session: AsyncSession, broadcast: Broadcast) -> Progress:
    rows = await session.execute(
        select(OutboxMessage.state, OutboxMessage.last_error, func.count())
        .where(OutboxMessage.broadcast_id == broadcast.id)
        .group_by(OutboxMessage.state, OutboxMessage.last_error)
    )
    sent = blocked = failed = waiting = cancelled = 0
    for state, error, count in rows:
        if state == OutboxState.SENT:
            sent += count
        elif state == OutboxState.FAILED and not (error and is_unreachable(error)):
            failed += count
        elif state in (OutboxState.PENDING, OutboxState.CLAIMED) or error == PAUSED:
            waiting += count
        elif error == CANCELLED:
            cancelled += count
        else:  # refused as blocked, or skipped because the resident became inactive
            blocked += count
    written = sent + blocked + failed + waiting + cancelled
    unplanned = 0 if broadcast.planned_all else max(broadcast.recipients - broadcast.planned, 0)
    if broadcast.state is BroadcastState.CANCELLED:
        cancelled += unplanned
        unplanned = 0
    return Progress(written + unplanned, sent, blocked, failed, waiting + unplanned, cancelled)


async def waiting_rows(session: AsyncSession, broadcast_id: int) -> int:
    """Rows written and not yet sent: the runner writes the next page when this runs low."""
    return (
        await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.CLAIMED]),
            )
        )
        or 0
    )


def is_unreachable(error: str) -> bool:
    """The error Telegram gave for a resident who blocked the bot or whose chat is gone."""
    # Imported here: planning (this module) runs without aiogram, e.g. in bench/broadcast.py.
    from catalogue.outbox.messages import UNREACHABLE

    lowered = error.lower()
    return lowered.startswith("forbidden") or any(marker in lowered for marker in UNREACHABLE)


async def finish_if_done(session: AsyncSession, broadcast: Broadcast, now: datetime) -> bool:
    """A fully planned broadcast with nothing left to send is done."""
    if broadcast.state is not BroadcastState.SENDING or not broadcast.planned_all:
        return False
    left = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.broadcast_id == broadcast.id,
            OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.CLAIMED]),
        )
    )
    if left:
        return False
    broadcast.state = BroadcastState.DONE
    broadcast.finished_at = now
    session.add(broadcast)
    await session.flush()
    return True


def eta(progress: Progress, rate: float) -> timedelta:
    remaining = max(progress.total - progress.done, 0)
    return timedelta(seconds=round(remaining / rate)) if rate > 0 else timedelta(0)


async def needing_attention(session: AsyncSession) -> list[Broadcast]:
    """Broadcasts the runner looks after: running, paused, or finished and not yet reported."""
    return list(
        await session.scalars(
            select(Broadcast)
            .where(
                sa.or_(
                    Broadcast.state.in_([BroadcastState.SENDING, BroadcastState.PAUSED]),
                    sa.and_(
                        Broadcast.state.in_([BroadcastState.DONE, BroadcastState.CANCELLED]),
                        Broadcast.started_at.is_not(None),
                        Broadcast.reported_at.is_(None),
                    ),
                )
            )
            .order_by(Broadcast.id)
        )
    )
