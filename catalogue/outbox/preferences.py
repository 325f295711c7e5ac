"""A resident's reminder settings; every change re-plans what is queued for them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError
from zoneinfo import available_timezones

from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Resident
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import skip_pending
from catalogue.outbox.reminders import ANNOUNCE
from catalogue.outbox.reminders import plan_digest
from catalogue.outbox.reminders import replan_resident
from catalogue.outbox.timing import DEFAULT_OFFSETS
from catalogue.outbox.timing import OFFSET_CHOICES

MAX_OFFSETS = 4


async def _save(session: AsyncSession, resident: Resident) -> None:
    session.add(resident)
    await session.flush()


class OffsetChange(StrEnum):
    REFUSED = "refused"  # not one of the choices, or a fifth one
    CHANGED = "changed"
    REMINDERS_OFF = "reminders_off"  # the last time unticked: no reminders at all
    REMINDERS_ON = "reminders_on"  # a time ticked while reminders were off


async def toggle_offset(
    session: AsyncSession, resident: Resident, offset: int, now: datetime, city_zone: ZoneInfo
) -> OffsetChange:
    """Add or remove one reminder time. Unticking the last one turns reminders off (no time
    left to remind at); ticking one while they are off turns them on."""
    offsets = set(resident.reminder_offsets or [])
    if offset not in OFFSET_CHOICES:
        return OffsetChange.REFUSED
    change = OffsetChange.CHANGED
    if offset in offsets:
        offsets.discard(offset)
        if not offsets and resident.reminders_on:
            resident.reminders_on, change = False, OffsetChange.REMINDERS_OFF
    elif len(offsets) >= MAX_OFFSETS:
        return OffsetChange.REFUSED
    else:
        offsets.add(offset)
        if not resident.reminders_on:
            resident.reminders_on, change = True, OffsetChange.REMINDERS_ON
    resident.reminder_offsets = sorted(offsets, reverse=True)
    await _save(session, resident)
    await replan_resident(session, resident, now, city_zone)
    return change


async def set_reminders_on(
    session: AsyncSession, resident: Resident, on: bool, now: datetime, city_zone: ZoneInfo
) -> None:
    """On with no reminder time left (all were unticked) brings back the default times."""
    resident.reminders_on = on
    if on and not resident.reminder_offsets:
        resident.reminder_offsets = list(DEFAULT_OFFSETS)
    await _save(session, resident)
    await replan_resident(session, resident, now, city_zone)


async def set_quiet_hours(
    session: AsyncSession,
    resident: Resident,
    start: int | None,
    end: int | None,
    now: datetime,
    city_zone: ZoneInfo,
) -> None:
    """Quiet hours in local minutes after midnight; `None` turns them off."""
    if start is None or end is None or start == end:
        resident.quiet_from = resident.quiet_until = None
    else:
        resident.quiet_from, resident.quiet_until = start % 1440, end % 1440
    await _save(session, resident)
    await replan_resident(session, resident, now, city_zone)


def find_zone(text: str) -> str | None:
    """An IANA zone name from what a person typed ("europe/dublin", "Dublin"); None if none."""
    cleaned = text.strip().replace(" ", "_")
    if not cleaned or len(cleaned) > 64:
        return None
    try:
        ZoneInfo(cleaned)
        if "/" in cleaned or cleaned.upper() == "UTC":
            return cleaned if cleaned.upper() != "UTC" else "UTC"
    except (ZoneInfoNotFoundError, ValueError):
        pass
    lowered = cleaned.lower()
    matches = sorted(
        name
        for name in available_timezones()
        if name.lower() == lowered or name.lower().rsplit("/", 1)[-1] == lowered
    )
    return matches[0] if matches else None


async def set_time_zone(
    session: AsyncSession,
    resident: Resident,
    zone_name: str | None,
    now: datetime,
    city_zone: ZoneInfo,
) -> None:
    """`None` means the city's zone."""
    resident.timezone = zone_name
    await _save(session, resident)
    await replan_resident(session, resident, now, city_zone)
    await plan_digest(session, resident, now, city_zone)


async def set_announcements(session: AsyncSession, resident: Resident, on: bool) -> None:
    resident.announcements_on = on
    await _save(session, resident)
    if not on:
        await skip_pending(
            session,
            "announcements off",
            OutboxMessage.kind == ANNOUNCE,
            OutboxMessage.resident_id == resident.id,
        )


async def set_digest(
    session: AsyncSession,
    resident: Resident,
    weekday: int | None,
    minute: int | None,
    now: datetime,
    city_zone: ZoneInfo,
) -> None:
    """The weekly digest's day (0 = Monday) and local time; `weekday=None` turns it off."""
    if weekday is None:
        resident.digest_weekday = None
    else:
        resident.digest_weekday = weekday % 7
        resident.digest_minute = (minute if minute is not None else 9 * 60) % 1440
    await _save(session, resident)
    await plan_digest(session, resident, now, city_zone)
