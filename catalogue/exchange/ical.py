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
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import tzinfo
from typing import Any

from icalendar import Calendar

from catalogue.exchange.rows import CatalogueImportError
from catalogue.exchange.rows import RowError
from catalogue.exchange.rows import SourceRow
from catalogue.exchange.schema import EXTERNAL_ID

TABLE = "sessions"
VEVENT_LINE = re.compile(r"^BEGIN:VEVENT\s*$", re.IGNORECASE | re.MULTILINE)


def ics_rows(text: str, offer: str | None, zone: tzinfo) -> list[SourceRow]:
    if not offer:
        raise CatalogueImportError(
            [
                RowError(
                    TABLE,
                    None,
                    None,
                    "offer",
                    "an .ics file holds the sessions of one offer: say which offer they belong to",
                )
            ]
        )
    try:
        calendar = Calendar.from_ical(text)
    except ValueError as error:
        raise CatalogueImportError(
            [RowError(TABLE, None, None, "", f"not a valid iCalendar file: {error}")]
        ) from None
    lines = [text.count("\n", 0, match.start()) + 1 for match in VEVENT_LINE.finditer(text)]
    events = calendar.walk("VEVENT")
    if not events:
        raise CatalogueImportError([RowError(TABLE, None, None, "", "the calendar has no events")])
    rows = []
    for index, event in enumerate(events):
        line = lines[index] if index < len(lines) else None
        rows.append(SourceRow(TABLE, index, line, _session(event, offer, zone)))
    return rows


def _session(event: Any, offer: str, zone: tzinfo) -> dict[str, Any]:
    if event.errors:
        name, problem = event.errors[0]
        return {"__problem__": (name.lower(), f"cannot read it: {problem}")}
    if event.get("RRULE") is not None:
        return {"__problem__": ("rrule", "repeating events are not read; export each occurrence")}
    start_property = event.get("DTSTART")
    if start_property is None:
        return {"__problem__": ("dtstart", "the event has no start time")}
    start = start_property.dt
    if not isinstance(start, datetime):
        return {"__problem__": ("dtstart", "all-day events need a start and end time")}
    start = _aware(start, zone)
    end_property, duration = event.get("DTEND"), event.get("DURATION")
    if end_property is not None:
        end = end_property.dt
        if not isinstance(end, datetime):
            return {"__problem__": ("dtend", "the end is a date without a time")}
        end = _aware(end, zone)
    elif duration is not None and isinstance(duration.dt, timedelta):
        end = start + duration.dt
    else:
        return {"__problem__": ("dtend", "the event has no end time or duration")}
    record: dict[str, Any] = {
        "id": session_id(str(event.get("UID") or ""), offer, start),
        "offer": offer,
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
    }
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        record["status"] = "cancelled"
    link = str(event.get("URL") or "")
    location = str(event.get("LOCATION") or "")
    if not link and location.startswith(("http://", "https://")):
        link = location
    if link:
        record["online_url"] = link
    return record


def _aware(value: datetime, zone: tzinfo) -> datetime:
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def session_id(uid: str, offer: str, start: datetime | date) -> str:
    """A catalogue id from the event's UID: readable when it can be, stable always."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", uid.strip().lower()).strip("-_.")
    if slug and EXTERNAL_ID.fullmatch(slug):
        return slug
    source = uid.strip() or f"{offer}@{start.isoformat()}"
    return "ics-" + hashlib.sha256(source.encode()).hexdigest()[:24]
