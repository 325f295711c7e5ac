"""The demo programme of Sysert, a UNESCO learning city, dated relative to a given day.

The bilingual records live in `demo_programme.json`. Its festivals and sessions carry
dates relative to "today" rather than calendar dates, so the demo always looks current:

* a festival has `starts_in_days` and `lasts_days`;
* an offer has a `schedule`, a list of rules, each with a local start time `at` ("18:30"),
  a length in `minutes`, and optionally `venue` and `capacity`. A rule gives its days as
  one of:
  - `weekly_on` ("mon".."sun"), `from_day` and `count`: `count` weekly sessions from the
    first such weekday on or after today + `from_day`;
  - `on_days`: offsets from today;
  - `festival_days`: offsets from the first day of the offer's festival;
* an offer may have `session_status`, e.g. `{"3": "cancelled"}` for its third session.

The same day always gives the same document. Session ids are `<offer id>-<n>`, numbered in
date order, so importing the demo again updates the sessions instead of adding copies.
"""

from __future__ import annotations

import json
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from catalogue.models import OfferFormat
from catalogue.models import SessionStatus

PROGRAMME_FILE = "demo_programme.json"
# Most of the programme is taught in Russian; the data file names only the exceptions.
DEFAULT_LANGUAGE = "ru"
# A reserved domain (RFC 2606): the demo must not send residents to someone's real site.
ONLINE_URL = "https://sysert-learns.example/live/{offer_id}"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCHEDULING_FIELDS = ("schedule", "session_status")

Record = dict[str, Any]


def build_demo_document(today: date, city_zone: ZoneInfo) -> dict:
    """The demo catalogue as a dict that validates as catalogue.exchange.schema.CatalogueDocument.

    Dates and datetimes are ISO strings, so the result can be written out as JSON as is.
    """
    programme = _load_programme()
    festival_starts = {
        festival["id"]: today + timedelta(days=festival["starts_in_days"])
        for festival in programme["festivals"]
    }
    offers: list[Record] = []
    sessions: list[Record] = []
    for offer in programme["offers"]:
        festival_start = festival_starts.get(offer.get("festival", ""))
        sessions.extend(_sessions(offer, today, city_zone, festival_start))
        offers.append(_offer_record(offer))
    return {
        "categories": programme["categories"],
        "providers": programme["providers"],
        "venues": programme["venues"],
        "festivals": [_festival_record(festival, today) for festival in programme["festivals"]],
        "offers": offers,
        "tracks": programme["tracks"],
        "sessions": sessions,
    }


def _load_programme() -> Record:
    # Parsed afresh on every call: callers get records of their own to change.
    return json.loads(_programme_text())


@cache
def _programme_text() -> str:
    return (
        resources.files("catalogue.exchange").joinpath(PROGRAMME_FILE).read_text(encoding="utf-8")
    )


def _festival_record(festival: Record, today: date) -> Record:
    starts_on = today + timedelta(days=festival.pop("starts_in_days"))
    ends_on = starts_on + timedelta(days=festival.pop("lasts_days") - 1)
    return {**festival, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()}


def _offer_record(offer: Record) -> Record:
    record = {field: value for field, value in offer.items() if field not in SCHEDULING_FIELDS}
    record.setdefault("language", DEFAULT_LANGUAGE)
    return record


def _sessions(
    offer: Record, today: date, city_zone: ZoneInfo, festival_start: date | None
) -> list[Record]:
    occurrences = sorted(
        (
            (datetime.combine(day, time.fromisoformat(rule["at"]), tzinfo=city_zone), rule)
            for rule in offer["schedule"]
            for day in _rule_days(rule, today, festival_start)
        ),
        key=lambda occurrence: occurrence[0],
    )
    online = offer.get("format", OfferFormat.IN_PERSON) != OfferFormat.IN_PERSON
    statuses = offer.get("session_status", {})
    sessions = []
    for number, (starts_at, rule) in enumerate(occurrences, start=1):
        session = {
            "id": f"{offer['id']}-{number}",
            "offer": offer["id"],
            "venue": rule.get("venue"),
            "starts_at": starts_at.isoformat(),
            "ends_at": (starts_at + timedelta(minutes=rule["minutes"])).isoformat(),
            "capacity": rule.get("capacity"),
            "online_url": ONLINE_URL.format(offer_id=offer["id"]) if online else None,
            "status": statuses.get(str(number), SessionStatus.SCHEDULED.value),
        }
        sessions.append({field: value for field, value in session.items() if value is not None})
    return sessions


def _rule_days(rule: Record, today: date, festival_start: date | None) -> list[date]:
    if "weekly_on" in rule:
        earliest = today + timedelta(days=rule["from_day"])
        days_to_weekday = (WEEKDAYS.index(rule["weekly_on"]) - earliest.weekday()) % 7
        first = earliest + timedelta(days=days_to_weekday)
        return [first + timedelta(weeks=week) for week in range(rule["count"])]
    if "on_days" in rule:
        return [today + timedelta(days=offset) for offset in rule["on_days"]]
    if "festival_days" in rule:
        if festival_start is None:
            raise ValueError(f"festival_days given for an offer without a festival: {rule}")
        return [festival_start + timedelta(days=offset) for offset in rule["festival_days"]]
    raise ValueError(f"a schedule rule needs weekly_on, on_days or festival_days: {rule}")
