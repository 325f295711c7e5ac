"""Reminder arithmetic in the resident's time zone: offsets, quiet hours, weekly times.

Pure functions on aware datetimes. Times are stored in UTC; wall-clock rules ("the day
before at the same time", "quiet from 22:00", "Mondays at 09:00") are worked out in the
resident's zone, so they hold across daylight-saving changes:

* an offset of whole days keeps the local time of day: a reminder "1 day before" a 10:00
  class comes at 10:00 the day before, even when the clocks changed overnight (23 or 25 hours);
  other offsets are exact durations ("1 hour before" is 60 minutes before);
* a local time that does not exist (01:30 on the spring-forward night in Dublin) is read as
  the same instant with the old offset, i.e. 02:30 summer time; an ambiguous one (01:30 on
  the fall-back night) is its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
DEFAULT_OFFSETS = (1440, 60)
# Offsets a resident can choose in /settings, in minutes.
OFFSET_CHOICES = (10080, 4320, 1440, 180, 60, 30, 15)
# A reminder that would fall in quiet hours comes this long before they begin.
BEFORE_QUIET = timedelta(minutes=1)


def local_to_utc(day: date, minute_of_day: int, zone: ZoneInfo) -> datetime:
    """The instant a wall clock in `zone` shows `minute_of_day` on `day`."""
    wall = datetime.combine(day, time(minute_of_day // 60, minute_of_day % 60))
    return wall.replace(tzinfo=zone).astimezone(UTC)


def minute_of_day(moment: datetime, zone: ZoneInfo) -> int:
    local = moment.astimezone(zone)
    return local.hour * 60 + local.minute


@dataclass(frozen=True)
class QuietHours:
    """Local minutes [start, end); crossing midnight when start > end (22:00–08:00)."""

    start: int
    end: int

    @classmethod
    def of(cls, start: int | None, end: int | None) -> QuietHours | None:
        if start is None or end is None or start == end:
            return None
        return cls(start % MINUTES_PER_DAY, end % MINUTES_PER_DAY)

    def window(self, moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The quiet window (UTC start, UTC end) that `moment` falls in, if any."""
        local = moment.astimezone(zone)
        day = local.date()
        minute = local.hour * 60 + local.minute
        if self.start < self.end:
            if self.start <= minute < self.end:
                return local_to_utc(day, self.start, zone), local_to_utc(day, self.end, zone)
            return None
        if minute >= self.start:
            next_day = day + timedelta(days=1)
            return local_to_utc(day, self.start, zone), local_to_utc(next_day, self.end, zone)
        if minute < self.end:
            previous_day = day - timedelta(days=1)
            return local_to_utc(previous_day, self.start, zone), local_to_utc(day, self.end, zone)
        return None

    def before(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """`moment`, or just before the quiet hours it falls in began (for reminders)."""
        window = self.window(moment, zone)
        return moment if window is None else window[0] - BEFORE_QUIET

    def after(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """`moment`, or when the quiet hours it falls in end (for news that can wait)."""
        window = self.window(moment, zone)
        return moment if window is None else window[1]


def reminder_due(
    starts_at: datetime, offset_minutes: int, zone: ZoneInfo, quiet: QuietHours | None = None
) -> datetime:
    """When the reminder `offset_minutes` before a session starting at `starts_at` is due."""
    if offset_minutes > 0 and offset_minutes % MINUTES_PER_DAY == 0:
        local = starts_at.astimezone(zone)
        day = local.date() - timedelta(days=offset_minutes // MINUTES_PER_DAY)
        due = local_to_utc(day, local.hour * 60 + local.minute, zone)
        due += timedelta(seconds=local.second, microseconds=local.microsecond)
    else:
        due = starts_at.astimezone(UTC) - timedelta(minutes=offset_minutes)
    return quiet.before(due, zone) if quiet is not None else due


def next_weekly(now: datetime, weekday: int, minute: int, zone: ZoneInfo) -> datetime:
    """The first local `weekday` (0 = Monday) at `minute` after `now`, as UTC."""
    local_today = now.astimezone(zone).date()
    days_ahead = (weekday - local_today.weekday()) % 7
    for extra in (0, 7, 14):
        candidate = local_to_utc(local_today + timedelta(days=days_ahead + extra), minute, zone)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: a week always has the weekday")


def week_key(moment: datetime, zone: ZoneInfo) -> str:
    """ISO year and week of `moment` in `zone`: at most one digest per key."""
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def parse_clock(text: str) -> int | None:
    """ "22:00", "7:30", "0730" → minutes after midnight; None if it is not a time."""
    cleaned = text.strip().replace(".", ":").replace("h", ":")
    if ":" in cleaned:
        hours, _, minutes = cleaned.partition(":")
    elif cleaned.isdigit() and len(cleaned) in (3, 4):
        hours, minutes = cleaned[:-2], cleaned[-2:]
    elif cleaned.isdigit() and len(cleaned) <= 2:
        hours, minutes = cleaned, "0"
    else:
        return None
    if not (hours.isdigit() and minutes.isdigit()):
        return None
    hour, minute = int(hours), int(minutes)
    if hour == 24 and minute == 0:
        return 0
    if not (0 <= hour < 24 and 0 <= minute < 60):
        return None
    return hour * 60 + minute


def parse_quiet_hours(text: str) -> tuple[int, int] | None:
    """ "22:00-08:00" (also "22–8", "22:00 to 08:00") → (1320, 480); None if unreadable."""
    for separator in ("–", "—", "-", " to ", " до ", " "):
        if separator in text.strip():
            first, _, second = text.strip().partition(separator)
            start, end = parse_clock(first), parse_clock(second)
            if start is not None and end is not None and start != end:
                return start, end
            return None
    return None


def clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
