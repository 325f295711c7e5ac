""" "Add to calendar": one session as an iCalendar (.ics) file, made with `icalendar`.

Times are written in UTC, so every calendar application shows them in its own zone; the
event's UID is stable per session, so importing it again after a change updates the event.
"""

from __future__ import annotations

from datetime import timedelta

from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import SessionStatus
from catalogue.models import Venue
from catalogue.models import translated
from catalogue.models import utc_now

PRODUCT_ID = "-//Learning City//learncity bot//EN"


def session_calendar(
    offer: Offer, offer_session: OfferSession, venue: Venue | None, locale: str
) -> bytes:
    # Imported here: a rarely pressed button need not cost every start 2 MB and 40 ms.
    from icalendar import Alarm
    from icalendar import Calendar
    from icalendar import Event

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"session-{offer_session.id}@learncity")
    event.add("dtstamp", utc_now())
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
    calendar.add_component(event)
    return calendar.to_ical()


def file_name(offer: Offer) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in offer.external_id)
    return f"{safe[:60] or 'session'}.ics"
