"""The resident's Programme: the week, filters, search, a session's card, seats, "my plan".

Every answer is drawn from `catalogue/` in the caller's language and zone; seats are taken and
given back by catalogue/seats.py and search goes through the chat's own index, so the Mini App
and the chat never disagree. The JSON is described in docs/mini-app.md.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from urllib.parse import quote
from urllib.parse import urlsplit

from aiogram.utils.i18n import gettext as _
from aiohttp import web
from babel.dates import format_date

from bot import formatting
from bot.calendar_file import session_calendar
from bot.screens.subscriptions import result_text
from bot.webapp.api_base import Call
from bot.webapp.api_base import bad_request
from bot.webapp.api_base import endpoint
from bot.webapp.api_base import not_found
from bot.webapp.api_base import public
from catalogue.checkin.progress import track_progress
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import Provider
from catalogue.models import SeatStatus
from catalogue.models import Venue
from catalogue.models import translated
from catalogue.models import utc_now
from catalogue.programme_week.plan import plan_of
from catalogue.programme_week.sessions import ProgrammeFilters
from catalogue.programme_week.sessions import ProgrammeSession
from catalogue.programme_week.sessions import Scope
from catalogue.programme_week.sessions import ScopeKind
from catalogue.programme_week.sessions import offer_sessions_from
from catalogue.programme_week.sessions import programme_choices
from catalogue.programme_week.sessions import programme_sessions
from catalogue.programme_week.sessions import programme_sessions_by_id
from catalogue.programme_week.sessions import scope_title
from catalogue.queries import next_session_of
from catalogue.queries import offers_by_id
from catalogue.queries import session_by_id
from catalogue.search.engine import SearchFilters
from catalogue.seats import Result
from catalogue.seats import SeatState
from catalogue.seats import leave_session
from catalogue.seats import seat_states
from catalogue.seats import subscribe_to_session
from catalogue.text_policy import bounded_id

SEARCH_LIMIT = 30  # results of /api/search
PROGRAMME_SEARCH_LIMIT = 1000  # offers the words may select in the Programme
MAX_QUERY = 200
FEED_SCOPES = (ScopeKind.TRACK, ScopeKind.CATEGORY, ScopeKind.FESTIVAL)
MY_TRACK = "my_track"
VIEWS = {"day": 1, "week": 7}


# -- drawing


def maps_url(venue: Venue, locale: str) -> str:
    """A link the phone opens in its maps app: the coordinates when known, else the address."""
    if venue.latitude is not None and venue.longitude is not None:
        where = f"{venue.latitude},{venue.longitude}"
    else:
        where = f"{translated(venue.name, locale)}, {translated(venue.address, locale)}"
    return f"https://www.google.com/maps/search/?api=1&query={quote(where)}"


def _venue(venue: Venue | None, locale: str) -> dict[str, Any] | None:
    if venue is None:
        return None
    return {
        "id": venue.id,
        "name": translated(venue.name, locale),
        "address": translated(venue.address, locale),
        "district": venue.district,
        "step_free": venue.step_free,
        "maps_url": maps_url(venue, locale),
    }


def _offer_part(offer: Offer, locale: str) -> dict[str, Any]:
    """What a session shows of its offer: the same for every session of the offer."""
    return {
        "offer_id": offer.id,
        "title": translated(offer.title, locale),
        "kind": str(offer.kind),
        "kind_label": formatting.kind(offer),
        "format": str(offer.format),
        "format_label": formatting.offer_format(offer),
        "language": offer.language,
        "free": offer.is_free,
        "price": formatting.price(offer, locale),
        "age_min": offer.age_min,
        "age_max": offer.age_max,
        "ages": formatting.ages(offer),
        "online": offer.format != OfferFormat.IN_PERSON,
        "festival_id": offer.festival_id,
    }


class _Drawing:
    """Draws `SessionItem`s for one call; offers and venues shared by many sessions (a
    festival's week has hundreds of sessions at a few dozen venues) are drawn once."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.viewer = call.viewer
        self.offers: dict[int, dict[str, Any]] = {}
        self.venues: dict[int, dict[str, Any] | None] = {}

    def item(self, item: ProgrammeSession, seat: SeatState | None = None) -> dict[str, Any]:
        offer_session, offer, venue = item.session, item.offer, item.venue
        locale, zone = self.viewer.locale, self.viewer.zone
        offer_part = self.offers.get(offer.id)
        if offer_part is None:
            offer_part = self.offers[offer.id] = _offer_part(offer, locale)
        venue_id = venue.id if venue is not None else 0
        if venue_id not in self.venues:
            self.venues[venue_id] = _venue(venue, locale)
        starts = offer_session.starts_at.astimezone(zone)
        answer: dict[str, Any] = {
            "id": offer_session.id,
            **offer_part,
            "starts_at": starts.isoformat(),
            "ends_at": offer_session.ends_at.astimezone(zone).isoformat(),
            "day": starts.date().isoformat(),
            "when": formatting.when(offer_session.starts_at, offer_session.ends_at, zone, locale),
            "status": str(offer_session.status),
            "venue": self.venues[venue_id],
            "capacity": offer_session.capacity,
            "seats_left": item.seats_left,
        }
        if self.call.caller is not None:
            answer["seat"] = str(seat.status) if seat is not None else None
            answer["waitlist_position"] = seat.position if seat is not None else None
        return answer


def session_item(
    item: ProgrammeSession, call: Call, seat: SeatState | None = None
) -> dict[str, Any]:
    """A session as every list and card of the API shows it (`SessionItem`)."""
    return _Drawing(call).item(item, seat)


async def _items(call: Call, items: list[ProgrammeSession]) -> list[dict[str, Any]]:
    seats: dict[int, SeatState] = {}
    if call.caller is not None:
        ids = [item.session.id for item in items]
        seats = await seat_states(call.session, call.caller.resident.id, ids)
    drawing = _Drawing(call)
    return [drawing.item(item, seats.get(item.session.id)) for item in items]


def _origin(request: web.Request, call: Call) -> str:
    """Where feeds and files are found: WEB_APP_URL's origin, else the request's own."""
    public_url = urlsplit(call.context.public_url)
    if public_url.scheme and public_url.netloc:
        return f"{public_url.scheme}://{public_url.netloc}"
    return f"{request.scheme}://{request.host}"


def feed_links(request: web.Request, call: Call, scope: Scope) -> dict[str, str] | None:
    if scope.kind not in FEED_SCOPES:
        return None
    https = f"{_origin(request, call)}/api/feeds/{scope.kind}/{scope.id}.ics?lang={call.locale}"
    webcal = "webcal://" + https.split("://", 1)[1]
    return {"webcal": webcal, "https": https}


# -- reading the query


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in {"1", "true", "yes", "on"}


def _number(request: web.Request, name: str, low: int = 0, high: int = 2**31 - 1) -> int | None:
    value = request.query.get(name, "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise bad_request(_("“{name}” must be a whole number.").format(name=name))
    return int(value)


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name, "").strip()
    if not value:
        return None
    if value not in allowed:
        raise bad_request(
            _("“{name}” must be one of: {allowed}.").format(name=name, allowed=", ".join(allowed))
        )
    return value


def _first_day(request: web.Request, call: Call) -> date:
    value = request.query.get("from", "").strip()
    if not value:
        return utc_now().astimezone(call.viewer.zone).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad_request(_("“from” must be a date such as 2026-12-05.")) from None


async def _scope(request: web.Request, call: Call) -> tuple[Scope, str | None]:
    """The scope asked for and its title; `my_track` is the caller's track."""
    kinds = tuple(kind.value for kind in ScopeKind)
    allowed = (*kinds, MY_TRACK) if call.caller is not None else kinds
    kind = _choice(request, "scope", allowed) or ScopeKind.ALL
    if kind == ScopeKind.ALL:
        return Scope(), None
    if kind == MY_TRACK:
        assert call.caller is not None
        track_id = call.caller.resident.track_id
        if track_id is None:
            raise bad_request(_("Choose your track in the chat first."))
        scope = Scope(ScopeKind.TRACK, track_id)
    else:
        scope_id = _number(request, "id")
        if scope_id is None:
            raise bad_request(_("“id” is needed for this scope."))
        scope = Scope(ScopeKind(kind), scope_id)
    title = await scope_title(call.session, scope)
    if title is None:
        raise not_found()
    return scope, translated(title, call.locale)


def _query_words(request: web.Request) -> str:
    words = request.query.get("q", "").strip()
    if len(words) > MAX_QUERY:
        raise bad_request(_("Please search with fewer words."))
    return words


async def _found_offers(call: Call, words: str, filters: SearchFilters, limit: int):
    index = await call.context.catalogue_search.refresh_if_stale(call.session)
    return index.search(
        words, filters, now=utc_now(), zone=call.viewer.zone, limit=limit, locale=call.locale
    )


async def _filters(request: web.Request, call: Call) -> ProgrammeFilters:
    formats = tuple(kind.value for kind in OfferFormat)
    language = request.query.get("language", "").strip() or None
    district = request.query.get("district", "").strip() or None
    if len(language or "") > 10 or len(district or "") > 120:
        raise bad_request(_("Please choose a filter from the list."))
    chosen_format = _choice(request, "format", formats)
    filters = ProgrammeFilters(
        free=_flag(request, "free"),
        step_free=_flag(request, "step_free"),
        age=_number(request, "age", 0, 130),
        format=OfferFormat(chosen_format) if chosen_format else None,
        district=district,
        language=language,
    )
    words = _query_words(request)
    if not words:
        return filters
    found = await _found_offers(call, words, SearchFilters(), PROGRAMME_SEARCH_LIMIT)
    return ProgrammeFilters(
        **{**filters.__dict__, "offer_ids": frozenset(hit.offer_id for hit in found.hits)}
    )


# -- what the endpoints answer


async def programme_payload(request: web.Request, call: Call) -> dict[str, Any]:
    """The Programme for the query's view, scope and filters (also for the pages' first view)."""
    view = _choice(request, "view", tuple(VIEWS)) or "week"
    first = _first_day(request, call)
    days = VIEWS[view]
    zone = call.viewer.zone
    scope, title = await _scope(request, call)
    filters = await _filters(request, call)
    start = datetime.combine(first, time(), tzinfo=zone)
    end = datetime.combine(first + timedelta(days=days), time(), tzinfo=zone)
    found = await programme_sessions(call.session, start, end, scope, filters)
    items = await _items(call, found)
    by_day: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_day.setdefault(item["day"], []).append(item)
    return {
        "view": view,
        "from": first.isoformat(),
        "to": (first + timedelta(days=days - 1)).isoformat(),
        "prev": (first - timedelta(days=days)).isoformat(),
        "next": (first + timedelta(days=days)).isoformat(),
        "scope": {"kind": str(scope.kind), "id": scope.id, "title": title},
        "count": len(items),
        "days": [
            {
                "date": day,
                "label": format_date(date.fromisoformat(day), "EEEE, d MMMM", locale=call.locale),
                "sessions": sessions,
            }
            for day, sessions in by_day.items()
        ],
        "feed": feed_links(request, call, scope),
    }


async def filters_payload(call: Call) -> dict[str, Any]:
    """What the Programme's filters offer (also for the pages' first view)."""
    choices = await programme_choices(call.session)
    locale = call.locale
    answer: dict[str, Any] = {
        "categories": [
            {"id": c.id, "title": translated(c.title, locale)} for c in choices.categories
        ],
        "tracks": [
            {"id": t.id, "title": translated(t.title, locale), "category_id": t.category_id}
            for t in choices.tracks
        ],
        "festivals": [
            {"id": f.id, "title": translated(f.title, locale)} for f in choices.festivals
        ],
        "districts": choices.districts,
        "languages": [
            {"code": code, "label": formatting.language_name(code)} for code in choices.languages
        ],
        "formats": [
            {"value": str(kind), "label": str(formatting.FORMAT_LABELS[kind])}
            for kind in OfferFormat
        ],
    }
    if call.caller is not None:
        track_id = call.caller.resident.track_id
        track = next((t for t in choices.tracks if t.id == track_id), None)
        answer["my_track"] = (
            {"id": track.id, "title": translated(track.title, locale)} if track else None
        )
    return answer


async def search_payload(request: web.Request, call: Call) -> dict[str, Any]:
    words = _query_words(request)
    found = await _found_offers(call, words, SearchFilters(), SEARCH_LIMIT)
    offer_ids = [hit.offer_id for hit in found.hits]
    offers = await offers_by_id(call.session, offer_ids)
    upcoming = await next_session_of(call.session, offer_ids, utc_now())
    sessions = await programme_sessions_by_id(call.session, [s.id for s in upcoming.values()])
    items = {item["offer_id"]: item for item in await _items(call, list(sessions.values()))}
    return {
        "query": words,
        # What was searched instead (wrong keyboard layout, a correction), and whether the
        # results are only the nearest offers: the chat says both, so the Mini App can too.
        "searched": found.searched,
        "nearest": found.nearest,
        "did_you_mean": found.suggestions.did_you_mean if found.suggestions else [],
        "results": [
            {
                "offer_id": offer_id,
                "title": translated(offers[offer_id].title, call.locale),
                "next": items.get(offer_id),
            }
            for offer_id in offer_ids
            if offer_id in offers
        ],
    }


def _session_id(request: web.Request) -> int:
    number = bounded_id(request.match_info["session_id"])
    if number is None:
        raise not_found()
    return number


async def _one(call: Call, session_id: int) -> ProgrammeSession:
    found = (await programme_sessions_by_id(call.session, [session_id])).get(session_id)
    if found is None:
        raise not_found()
    return found


async def card_payload(request: web.Request, call: Call) -> dict[str, Any]:
    item = await _one(call, _session_id(request))
    offer, venue, locale = item.offer, item.venue, call.locale
    others = [
        other
        for other in await offer_sessions_from(call.session, offer.id, utc_now())
        if other.session.id != item.session.id
    ]
    drawn = await _items(call, [item, *others])
    provider = await call.session.get(Provider, offer.provider_id)
    accessibility = [translated(offer.accessibility, locale)]
    if venue is not None:
        accessibility.append(translated(venue.accessibility, locale))
    username = call.context.bot_username
    return {
        **drawn[0],
        "description": translated(offer.description, locale),
        "provider": translated(provider.name, locale) if provider else None,
        "accessibility": " ".join(part for part in accessibility if part) or None,
        "ics_url": f"/api/sessions/{item.session.id}.ics?lang={locale}",
        "share_url": f"https://t.me/{username}?start=offer_{offer.id}" if username else None,
        "other_sessions": drawn[1:],
    }


async def _seat_answer(call: Call, session_id: int, result: Result) -> dict[str, Any]:
    assert call.caller is not None
    found = (await programme_sessions_by_id(call.session, [session_id])).get(session_id)
    drawn = (await _items(call, [found]))[0] if found is not None else None
    message = result_text("s", result, call.caller.resident, call.locale)
    return {"outcome": str(result.outcome), "message": message, "session": drawn}


async def plan_payload(call: Call) -> dict[str, Any]:
    assert call.caller is not None
    resident, now = call.caller.resident, utc_now()
    plan = await plan_of(call.session, resident.id, now)
    drawing = _Drawing(call)
    going = [drawing.item(item, SeatState(SeatStatus.GOING)) for item in plan.going]
    waitlisted = [
        drawing.item(item, SeatState(SeatStatus.WAITLISTED, position))
        for item, position in plan.waitlisted
    ]
    progress = await track_progress(call.session, resident, now)
    track = None
    if progress is not None:
        next_ids = [step.next_session.id for step in progress.steps if step.next_session]
        upcoming = await programme_sessions_by_id(call.session, next_ids)
        drawn = {item["id"]: item for item in await _items(call, list(upcoming.values()))}
        track = {
            "id": progress.track.id,
            "title": translated(progress.track.title, call.locale),
            "done": progress.done,
            "total": len(progress.steps),
            "steps": [
                {
                    "offer_id": step.offer.id,
                    "title": translated(step.offer.title, call.locale),
                    "done": step.done,
                    "next": drawn.get(step.next_session.id) if step.next_session else None,
                }
                for step in progress.steps
            ],
        }
    return {"going": going, "waitlisted": waitlisted, "track": track}


# -- the endpoints


async def _filters_answer(_request: web.Request, call: Call) -> dict[str, Any]:
    return await filters_payload(call)


# Read-only answers: under /api/ for the Mini App (with the caller's seats), and the same under
# /api/public/ for any browser (no seats).
READ_ONLY = {
    "/programme": programme_payload,
    "/filters": _filters_answer,
    "/search": search_payload,
    r"/sessions/{session_id:\d+}": card_payload,
}


@endpoint()
async def take_seat(request: web.Request, call: Call) -> dict[str, Any]:
    assert call.caller is not None
    session_id = _session_id(request)
    zone = call.context.city_zone
    result = await subscribe_to_session(
        call.session, call.caller.resident, session_id, utc_now(), zone
    )
    return await _seat_answer(call, session_id, result)


@endpoint()
async def give_back_seat(request: web.Request, call: Call) -> dict[str, Any]:
    assert call.caller is not None
    session_id = _session_id(request)
    zone = call.context.city_zone
    result = await leave_session(call.session, call.caller.resident, session_id, utc_now(), zone)
    return await _seat_answer(call, session_id, result)


@endpoint()
async def plan(_request: web.Request, call: Call) -> dict[str, Any]:
    return await plan_payload(call)


@public
async def calendar_file(request: web.Request, call: Call) -> web.Response:
    found = await session_by_id(call.session, _session_id(request))
    if found is None:
        raise not_found()
    offer_session, offer, venue = found
    body = session_calendar(offer, offer_session, venue, call.locale)
    return calendar_response(body, f"session-{offer_session.id}.ics")


def calendar_response(body: bytes, name: str) -> web.Response:
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(r"/api/sessions/{session_id:\d+}.ics", calendar_file)
    for path, answer in READ_ONLY.items():
        router.add_get("/api" + path, endpoint()(answer))
        router.add_get("/api/public" + path, public(answer))
    router.add_post(r"/api/sessions/{session_id:\d+}/seat", take_seat)
    router.add_delete(r"/api/sessions/{session_id:\d+}/seat", give_back_seat)
    router.add_get("/api/plan", plan)
