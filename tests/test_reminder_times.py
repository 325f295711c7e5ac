"""Reminder arithmetic across daylight-saving changes (Europe/Dublin) and quiet hours.

Ireland moves to summer time (IST, UTC+1) at 01:00 UTC on the last Sunday of March and
back to GMT at 01:00 UTC on the last Sunday of October.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from catalogue.outbox.timing import QuietHours
from catalogue.outbox.timing import local_to_utc
from catalogue.outbox.timing import next_weekly
from catalogue.outbox.timing import parse_clock
from catalogue.outbox.timing import parse_quiet_hours
from catalogue.outbox.timing import reminder_due
from catalogue.outbox.timing import week_key

DUBLIN = ZoneInfo("Europe/Dublin")
SPRING_FORWARD = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 01:00 GMT → 02:00 IST
FALL_BACK = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 02:00 IST → 01:00 GMT


def dublin(*args: int) -> datetime:
    return datetime(*args, tzinfo=DUBLIN)


def wall(moment: datetime) -> str:
    """What a clock on a Dublin wall shows."""
    return moment.astimezone(DUBLIN).strftime("%Y-%m-%d %H:%M %Z")


def test_a_day_before_keeps_the_local_time_when_the_clocks_go_forward() -> None:
    class_starts = dublin(2026, 3, 29, 10, 0)  # Sunday 10:00 IST = 09:00 UTC
    due = reminder_due(class_starts, 1440, DUBLIN)
    assert wall(due) == "2026-03-28 10:00 GMT"
    assert due == datetime(2026, 3, 28, 10, 0, tzinfo=UTC)
    assert class_starts - due == timedelta(hours=23)


def test_a_day_before_keeps_the_local_time_when_the_clocks_go_back() -> None:
    class_starts = dublin(2026, 10, 25, 10, 0)  # Sunday 10:00 GMT
    due = reminder_due(class_starts, 1440, DUBLIN)
    assert wall(due) == "2026-10-24 10:00 IST"
    assert class_starts - due == timedelta(hours=25)


def test_an_hour_before_is_sixty_minutes_even_across_the_change() -> None:
    class_starts = dublin(2026, 3, 29, 2, 30)  # 02:30 IST = 01:30 UTC, just after the jump
    due = reminder_due(class_starts, 60, DUBLIN)
    assert due == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert due.astimezone(DUBLIN).strftime("%H:%M %Z") == "00:30 GMT"


def test_a_wall_time_the_night_skips_is_read_with_the_old_offset() -> None:
    # 01:30 does not exist in Dublin on 29 March 2026: it is 02:30 IST.
    instant = local_to_utc(SPRING_FORWARD.date(), 90, DUBLIN)
    assert instant == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert instant.astimezone(DUBLIN).strftime("%H:%M") == "02:30"


def test_a_wall_time_the_night_repeats_is_its_first_occurrence() -> None:
    instant = local_to_utc(FALL_BACK.date(), 90, DUBLIN)  # 01:30 happens twice
    assert instant == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the IST one


def test_quiet_hours_move_a_reminder_to_just_before_they_begin() -> None:
    quiet = QuietHours(22 * 60, 8 * 60)
    class_starts = dublin(2026, 6, 10, 7, 30)
    due = reminder_due(class_starts, 60, DUBLIN, quiet)  # would be 06:30, in quiet hours
    assert wall(due) == "2026-06-09 21:59 IST"


def test_quiet_hours_leave_other_times_alone() -> None:
    quiet = QuietHours(22 * 60, 8 * 60)
    class_starts = dublin(2026, 6, 10, 18, 30)
    assert reminder_due(class_starts, 60, DUBLIN, quiet) == class_starts - timedelta(hours=1)


def test_quiet_hours_across_the_spring_change_end_at_local_eight() -> None:
    quiet = QuietHours(22 * 60, 8 * 60)
    start, end = quiet.window(datetime(2026, 3, 29, 3, 0, tzinfo=UTC), DUBLIN)
    assert start == datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # 22:00 GMT
    assert end == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 08:00 IST
    assert quiet.after(datetime(2026, 3, 29, 3, 0, tzinfo=UTC), DUBLIN) == end


def test_the_weekly_digest_keeps_its_local_time_across_the_change() -> None:
    monday_nine = [0, 9 * 60]
    before = next_weekly(datetime(2026, 3, 20, 12, 0, tzinfo=UTC), *monday_nine, DUBLIN)
    after = next_weekly(before, *monday_nine, DUBLIN)
    assert before == datetime(2026, 3, 23, 9, 0, tzinfo=UTC)  # 09:00 GMT
    assert after == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # 09:00 IST
    assert after.astimezone(DUBLIN).hour == 9
    assert week_key(before, DUBLIN) == "2026-W13"
    assert week_key(after, DUBLIN) == "2026-W14"


def test_the_weekly_time_is_strictly_after_now() -> None:
    monday_nine = dublin(2026, 6, 8, 9, 0)
    assert next_weekly(monday_nine, 0, 9 * 60, DUBLIN) == monday_nine + timedelta(days=7)


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [("22:00", 1320), ("7:30", 450), ("0730", 450), ("7", 420), ("24:00", 0), ("23.15", 1395)],
)
def test_clock_times_are_read_as_people_write_them(typed: str, minutes: int) -> None:
    assert parse_clock(typed) == minutes


@pytest.mark.parametrize("typed", ["25:00", "7:75", "soon", "", "12:3x"])
def test_nonsense_times_are_not_read(typed: str) -> None:
    assert parse_clock(typed) is None


def test_quiet_hours_are_read_from_a_range() -> None:
    assert parse_quiet_hours("22:30-07:00") == (1350, 420)
    assert parse_quiet_hours("22–8") == (1320, 480)
    assert parse_quiet_hours("22:00 to 08:00") == (1320, 480)
    assert parse_quiet_hours("22:00") is None
    assert parse_quiet_hours("8-8") is None


def planned_due(now: datetime) -> list[datetime]:
    from catalogue.models import OfferSession
    from catalogue.models import Resident
    from catalogue.outbox.reminders import reminder_messages

    resident = Resident(
        id=5, telegram_id=5, reminder_offsets=[60], quiet_from=22 * 60, quiet_until=8 * 60
    )
    resident.timezone = "Europe/Dublin"
    starts = dublin(2026, 6, 10, 7, 30)
    offer_session = OfferSession(
        id=7, external_id="s", offer_id=1, starts_at=starts, ends_at=starts + timedelta(hours=1)
    )
    return [m.due_at for m in reminder_messages(resident, offer_session, now, ZoneInfo("UTC"))]


def test_a_reminder_planned_in_the_evening_comes_before_the_quiet_hours() -> None:
    assert [wall(due) for due in planned_due(dublin(2026, 6, 9, 20, 0))] == ["2026-06-09 21:59 IST"]


def test_a_reminder_planned_during_quiet_hours_is_kept_rather_than_lost() -> None:
    # Subscribed at 23:00: "just before the quiet hours" has passed; it comes at 06:30.
    assert [wall(due) for due in planned_due(dublin(2026, 6, 9, 23, 0))] == ["2026-06-10 06:30 IST"]
