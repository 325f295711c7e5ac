"""iCalendar (`.ics`) files as a source of sessions: every VEVENT is one session of one offer.

Providers keep their timetables in Google Calendar, Outlook or Nextcloud; each can export
`.ics`. A VEVENT becomes a session row of the catalogue exchange format and then goes through
the same checks as a CSV row (`catalogue.exchange.importer`), so the import is all or nothing with
every problem reported by line.

- `UID` gives the session's stable id, so re-importing an updated calendar updates sessions;
- `DTSTART` and `DTEND` (or `DURATION`) give its times; times without a zone ("floating") are
  in the city's zone;
- `STATUS:CANCELLED` cancels it; a `URL` (or a `LOCATION` that is a web address) is its online
  link. Other places are not read: venues come from the catalogue.

All-day events and repeating events (`RRULE`) are reported, not guessed at: export the single
occurrences with their times instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import tzinfo
from typing import Any

from icalendar import Calendar
from icalendar import Event

from catalogue import text_policy
from catalogue.exchange.rows import CatalogueImportError
from catalogue.exchange.rows import RowError
from catalogue.exchange.rows import SourceRow
from catalogue.exchange.schema import EXTERNAL_ID

TABLE = "sessions"
# Each event is cut out of the text and read alone: a calendar of 100,000 events is never one
# tree of objects in memory. Time zones the file defines (VTIMEZONE) are read first.
EVENT_BLOCK = re.compile(
    r"^BEGIN:VEVENT[ \t]*\r?$.*?^END:VEVENT[ \t]*\r?$", re.IGNORECASE | re.MULTILINE | re.DOTALL
)
TIMEZONE_BLOCK = re.compile(
    r"^BEGIN:VTIMEZONE[ \t]*\r?$.*?^END:VTIMEZONE[ \t]*\r?$",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)


def _refuse(field: str, message: str, line: int | None = None) -> CatalogueImportError:
    return CatalogueImportError([RowError(TABLE, line, None, field, message)])


def ics_rows(text: str, offer: str | None, zone: tzinfo) -> Iterator[SourceRow]:
    if not offer:
        raise _refuse(
            "offer", "an .ics file holds the sessions of one offer: say which offer they belong to"
        )
    if not text.lstrip().upper().startswith("BEGIN:VCALENDAR"):
        raise _refuse("", "not a valid iCalendar file: it does not begin with BEGIN:VCALENDAR")
    zones = "".join(match.group() + "\n" for match in TIMEZONE_BLOCK.finditer(text))
    if zones:
        try:  # icalendar keeps the zones it reads for the events that name them
            Calendar.from_ical(f"BEGIN:VCALENDAR\nVERSION:2.0\n{zones}END:VCALENDAR\n")
        except (ValueError, KeyError, TypeError) as error:
            raise _refuse("vtimezone", f"the time zones cannot be read: {error}") from None
    most = text_policy.limits().rows
    line, counted, index = 1, 0, -1
    for index, match in enumerate(EVENT_BLOCK.finditer(text)):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        if index >= most:
            raise _refuse("", f"more than {most:,} events", line)
        row = SourceRow(TABLE, index, line, {})
        try:
            event = Event.from_ical(match.group())
        except (ValueError, KeyError, TypeError, IndexError) as error:
            row.problems.append(("", f"cannot read the event: {error}"))
        else:
            row.data = _session(event, offer, zone, row.problems)
        yield row
    if index < 0:
        raise _refuse("", "the calendar has no events")


def _session(
    event: Any, offer: str, zone: tzinfo, problems: list[tuple[str, str]]
) -> dict[str, Any]:
    """The event as a session record; what cannot be read goes to `problems`."""
    for name, problem in event.errors:
        problems.append((name.lower(), f"cannot read it: {problem}"))
    if event.get("RRULE") is not None:
        problems.append(("rrule", "repeating events are not read; export each occurrence"))
    start = _time(event, "DTSTART", zone, problems)
    end = _time(event, "DTEND", zone, problems) if event.get("DTEND") is not None else None
    duration = event.get("DURATION")
    if start is not None and end is None:
        if duration is not None and isinstance(duration.dt, timedelta):
            try:
                end = start + duration.dt
            except OverflowError:
                problems.append(("duration", "the event would end after the year 9999"))
        elif event.get("DTEND") is None:
            problems.append(("dtend", "the event has no end time or duration"))
    record: dict[str, Any] = {"offer": offer}
    if start is not None:
        record["id"] = session_id(str(event.get("UID") or ""), offer, start)
        record["starts_at"] = start.isoformat()
    if end is not None:
        record["ends_at"] = end.isoformat()
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        record["status"] = "cancelled"
    link = str(event.get("URL") or "")
    location = str(event.get("LOCATION") or "")
    if not link and location.startswith(("http://", "https://")):
        link = location
    if link:
        record["online_url"] = link
    return record


def _time(event: Any, name: str, zone: tzinfo, problems: list[tuple[str, str]]) -> datetime | None:
    """DTSTART or DTEND as an aware time: floating times are in the city's `zone`; a time zone
    the file names but nobody knows is reported, never guessed."""
    prop = event.get(name)
    field = name.lower()
    if prop is None:
        problems.append((field, "the event has no start time"))
        return None
    value = prop.dt
    if not isinstance(value, datetime):
        problems.append(
            (field, "all-day events need a start and end time" if name == "DTSTART"
             else "the end is a date without a time")
        )  # fmt: skip
        return None
    zone_name = prop.params.get("TZID")
    if value.tzinfo is None and zone_name:
        problems.append((field, f"unknown time zone {zone_name!r}: use a name like Europe/Dublin"))
        return None
    return _aware(value, zone)


def _aware(value: datetime, zone: tzinfo) -> datetime:
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def session_id(uid: str, offer: str, start: datetime | date) -> str:
    """A catalogue id from the event's UID: readable when it can be, stable always."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", uid.strip().lower()).strip("-_.")
    if slug and EXTERNAL_ID.fullmatch(slug):
        return slug
    source = uid.strip() or f"{offer}@{start.isoformat()}"
    return "ics-" + hashlib.sha256(source.encode()).hexdigest()[:24]
