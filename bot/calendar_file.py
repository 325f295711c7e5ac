""" "Add to calendar": one session as an iCalendar (.ics) file, made with `icalendar`.

Times are written in UTC, so every calendar application shows them in its own zone; the
event's UID is stable per session, so importing it again after a change updates the event.
The Mini App's calendar feeds (bot/webapp/api_feeds.py) are many sessions in one calendar, with
a sequence that grows when a session moves or is cancelled, so subscribed calendars update.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import SessionStatus
from catalogue.models import Venue
from catalogue.models import translated
from catalogue.models import utc_now

PRODUCT_ID = "-//Learning City//learncity bot//EN"
SEQUENCE_EPOCH = 1_767_225_600  # 2026-01-01 UTC: sequences count seconds since


def session_calendar(
    offer: Offer, offer_session: OfferSession, venue: Venue | None, locale: str
) -> bytes:
    return sessions_calendar([(offer_session, offer, venue)], locale)


def sessions_calendar(
    sessions: Iterable[tuple[OfferSession, Offer, Venue | None]],
    locale: str,
    name: str | None = None,
) -> bytes:
    """Sessions as one calendar; with `name`, a feed to subscribe to (the Mini App's)."""
    # Imported here: a rarely pressed button need not cost every start 2 MB and 40 ms.
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    if name is not None:
        calendar.add("x-wr-calname", name)
        calendar.add("refresh-interval", timedelta(hours=6), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT6H")
    for offer_session, offer, venue in sessions:
        calendar.add_component(_event(offer, offer_session, venue, locale))
    return calendar.to_ical()


def _event(offer: Offer, offer_session: OfferSession, venue: Venue | None, locale: str) -> Any:
    from icalendar import Alarm
    from icalendar import Event

    event = Event()
    event.add("uid", f"session-{offer_session.id}@learncity")
    event.add("dtstamp", utc_now())
    # A session moved or cancelled stamps its offer (catalogue/session_changes.py): calendar
    # applications take the higher sequence as the newer version of the event.
    event.add("last-modified", offer.updated_at)
    event.add("sequence", max(int(offer.updated_at.timestamp()) - SEQUENCE_EPOCH, 0))
    event.add("dtstart", offer_session.starts_at)
    event.add("dtend", offer_session.ends_at)
    event.add("summary", translated(offer.title, locale))
    description = translated(offer.description, locale)
    if offer_session.online_url:
        description = f"{description}\n\n{offer_session.online_url}".strip()
        event.add("url", offer_session.online_url)
    if description:
        event.add("description", description)
    if venue is not None:
        event.add(
            "location", f"{translated(venue.name, locale)}, {translated(venue.address, locale)}"
        )
        if venue.latitude is not None and venue.longitude is not None:
            event.add("geo", (venue.latitude, venue.longitude))
    cancelled = offer_session.status == SessionStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", translated(offer.title, locale))
    alarm.add("trigger", timedelta(hours=-1))
    event.add_component(alarm)
    return event


def file_name(offer: Offer) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in offer.external_id)
    return f"{safe[:60] or 'session'}.ics"
