"""What the bot says on its own: reminders, change notices, waitlist news, announcements, digests.

Drawn when the message is sent, from the session as it is then: scheduler/renderers.py loads
it and decides whether it still goes out, and bot/startup/outbox_drawings.py hands these
functions to it, switched to the resident's language and time zone. Parse mode is HTML:
catalogue text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from urllib.parse import quote_plus

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_timedelta

from bot import formatting
from bot.callbacks.browse import ShowOffer
from bot.callbacks.subscriptions import CalendarFile
from bot.callbacks.subscriptions import Rsvp
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import button
from bot.screens.view import fit_message
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import SessionStatus
from catalogue.models import Venue
from catalogue.models import translated
from scheduler.renderers import DIGEST_ITEMS


def map_url(venue: Venue, locale: str) -> str:
    """OpenStreetMap at the venue's coordinates, or a search for its address."""
    if venue.latitude is not None and venue.longitude is not None:
        lat, lon = f"{venue.latitude:.6f}", f"{venue.longitude:.6f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
    address = translated(venue.address, locale) or translated(venue.name, locale)
    return f"https://www.openstreetmap.org/search?query={quote_plus(address)}"


def _place_lines(viewer: Viewer, offer_session: OfferSession, venue: Venue | None) -> list[str]:
    lines = []
    if venue is not None:
        place = f"{viewer.t(venue.name)}, {viewer.t(venue.address)}"
        link = escape(map_url(venue, viewer.locale), quote=True)
        lines.append(f'📍 {place} · <a href="{link}">' + _("map") + "</a>")
        if venue.step_free:
            lines.append("♿ " + _("step-free access"))
    if offer_session.online_url:
        lines.append("💻 " + escape(offer_session.online_url))
    return lines


def _when(viewer: Viewer, offer_session: OfferSession) -> str:
    return "🗓 " + formatting.when(
        offer_session.starts_at, offer_session.ends_at, viewer.zone, viewer.locale
    )


def attendance_keyboard(offer_session: OfferSession, offer: Offer) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(
        button("✅ " + _("I'm going"), Rsvp(session_id=offer_session.id, going=1)),
        button("❌ " + _("Can't come"), Rsvp(session_id=offer_session.id, going=0)),
    )
    builder.row(
        button("📅 " + _("Add to calendar"), CalendarFile(session_id=offer_session.id)),
        button("ℹ️ " + _("Details"), ShowOffer(offer_id=offer.id)),
    )
    return builder.as_markup()


def _attendance_notice(
    viewer: Viewer,
    offer: Offer,
    offer_session: OfferSession,
    venue: Venue | None,
    before: list[str],
    after: list[str],
) -> View:
    """A notice about one of the resident's sessions: the lines `before`, when and where it
    is, the lines `after`, and the buttons to answer it (going, can't come, calendar, details)."""
    lines = [*before, _when(viewer, offer_session), *_place_lines(viewer, offer_session, venue)]
    return View(fit_message("\n".join(lines + after)), attendance_keyboard(offer_session, offer))


def starts_in(starts_at: datetime, now: datetime, locale: str) -> str:
    """ "in 1 hour", "in 1 day" (babel rounds: 23 hours is "1 day")."""
    return format_timedelta(starts_at - now, add_direction=True, locale=locale)


def reminder(
    viewer: Viewer,
    offer: Offer,
    offer_session: OfferSession,
    venue: Venue | None,
    now: datetime,
) -> View:
    headline = "⏰ " + _("Reminder: <b>{title}</b> starts {when}.").format(
        title=viewer.t(offer.title), when=starts_in(offer_session.starts_at, now, viewer.locale)
    )
    after: list[str] = []
    if offer_session.status == SessionStatus.CHANGED:
        after.append("⚠️ " + _("time or place changed"))
    after += ["", _("Can't come? Tell me, and your seat goes to someone on the waitlist.")]
    return _attendance_notice(viewer, offer, offer_session, venue, [headline, ""], after)


def change_notice(
    viewer: Viewer,
    offer: Offer,
    offer_session: OfferSession,
    venue: Venue | None,
    old_starts_at: datetime | None,
    old_venue: Venue | None,
    reminded: bool = True,
) -> View:
    """`reminded`: reminders for the session's new time are queued (else none is promised)."""
    title = viewer.t(offer.title)
    if offer_session.status == SessionStatus.CANCELLED:
        when = formatting.when(
            offer_session.starts_at, offer_session.ends_at, viewer.zone, viewer.locale
        )
        lines = [
            "❌ "
            + _("Cancelled: <b>{title}</b> on {when} will not take place.").format(
                title=title, when=when
            ),
            "",
            _("Sorry for the change of plans. Other sessions are on the offer card."),
        ]
        builder = InlineKeyboardBuilder()
        builder.row(button("ℹ️ " + _("Details"), ShowOffer(offer_id=offer.id)))
        return View("\n".join(lines), builder.as_markup())
    before = ["⚠️ " + _("Changed: <b>{title}</b>").format(title=title), ""]
    if old_starts_at is not None and old_starts_at != offer_session.starts_at:
        was = formatting.short_when(old_starts_at, viewer.zone, viewer.locale)
        before.append(_("Was: {when}").format(when=was))
    if old_venue is not None and old_venue.id != offer_session.venue_id:
        before.append(_("Was at: {place}").format(place=viewer.t(old_venue.name)))
    before += ["", "<b>" + _("Now:") + "</b>"]
    after = ["", _("Your reminders have moved with it.")] if reminded else []
    return _attendance_notice(viewer, offer, offer_session, venue, before, after)


def promoted(
    viewer: Viewer,
    offer: Offer,
    offer_session: OfferSession,
    venue: Venue | None,
    reminded: bool = True,
) -> View:
    """`reminded`: a reminder before the session is queued (else none is promised)."""
    headline = "🎉 " + _("A seat came free: you are in for <b>{title}</b>!").format(
        title=viewer.t(offer.title)
    )
    invitation = (
        _("I will remind you before it starts. Can't come after all? Tell me below.")
        if reminded
        else _("Can't come after all? Tell me below.")
    )
    return _attendance_notice(viewer, offer, offer_session, venue, [headline, ""], ["", invitation])


def announcement(
    viewer: Viewer,
    offer: Offer,
    next_session: OfferSession,
    where_title: str,
) -> View:
    lines = [
        "🆕 "
        + _("New in {where}: <b>{title}</b>").format(
            where=escape(where_title), title=viewer.t(offer.title)
        ),
        "",
        f"<i>{formatting.kind(offer)} · {formatting.price(offer, viewer.locale)}</i>",
        _("First session: {when}").format(
            when=formatting.short_when(next_session.starts_at, viewer.zone, viewer.locale)
        ),
    ]
    builder = InlineKeyboardBuilder()
    builder.row(button("ℹ️ " + _("Details"), ShowOffer(offer_id=offer.id)))
    return View("\n".join(lines), builder.as_markup())


def digest(
    viewer: Viewer,
    scope_title: str,
    new_offers: Sequence[tuple[Offer, OfferSession]],
    upcoming: Sequence[tuple[Offer, OfferSession]],
) -> View:
    lines = ["📰 <b>" + _("Your week in {scope}").format(scope=escape(scope_title)) + "</b>"]
    if new_offers:
        lines += ["", "🆕 <b>" + _("New") + "</b>"]
        for offer, first in new_offers[:DIGEST_ITEMS]:
            when = formatting.short_when(first.starts_at, viewer.zone, viewer.locale)
            lines.append(f"• {viewer.t(offer.title)} — {when}")
    if upcoming:
        lines += ["", "🗓 <b>" + _("Coming up in the next 7 days") + "</b>"]
        for offer, offer_session in upcoming[:DIGEST_ITEMS]:
            when = formatting.short_when(offer_session.starts_at, viewer.zone, viewer.locale)
            lines.append(f"• {when} — {viewer.t(offer.title)}")
    # A button for each of the first few offers mentioned, new ones first.
    offers = {offer.id: offer for offer, _session in [*new_offers, *upcoming]}
    builder = InlineKeyboardBuilder()
    for offer in list(offers.values())[:5]:
        label = "ℹ️ " + translated(offer.title, viewer.locale)
        builder.row(button(label, ShowOffer(offer_id=offer.id)))
    lines += ["", _("Change the day or turn the digest off in /settings.")]
    return View(fit_message("\n".join(lines)), builder.as_markup())
