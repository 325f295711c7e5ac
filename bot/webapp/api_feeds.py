"""Calendar feeds: every track, festival and category (and the whole programme) as an `.ics`
to subscribe to in any calendar application, served for `webcal://`.

No initData: a calendar application cannot send it, and the programme is public. Each feed
holds the scope's sessions from `FEED_PAST` ago on, cancelled ones marked cancelled; a moved or
cancelled session keeps its UID and raises its sequence (bot/calendar_file.py), so calendars
that refresh the feed show the change.
"""

from __future__ import annotations

from datetime import timedelta

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.calendar_file import sessions_calendar
from bot.webapp.api_base import Call
from bot.webapp.api_base import not_found
from bot.webapp.api_base import public
from bot.webapp.api_programme import calendar_response
from catalogue.models import translated
from catalogue.models import utc_now
from catalogue.programme_week.sessions import Scope
from catalogue.programme_week.sessions import ScopeKind
from catalogue.programme_week.sessions import feed_sessions
from catalogue.programme_week.sessions import scope_title

FEED_PAST = timedelta(days=30)


async def _feed(call: Call, scope: Scope, title: str, file_name: str) -> web.Response:
    items = await feed_sessions(call.session, scope, utc_now() - FEED_PAST)
    body = sessions_calendar(
        [(item.session, item.offer, item.venue) for item in items], call.locale, title
    )
    return calendar_response(body, file_name)


@public
async def scope_feed(request: web.Request, call: Call) -> web.Response:
    kind, number = request.match_info["kind"], request.match_info["scope_id"]
    if len(number) > 9:
        raise not_found()
    scope = Scope(ScopeKind(kind), int(number))
    title = await scope_title(call.session, scope)
    if title is None:
        raise not_found()
    return await _feed(call, scope, translated(title, call.locale), f"{kind}-{number}.ics")


@public
async def everything_feed(_request: web.Request, call: Call) -> web.Response:
    return await _feed(call, Scope(), _("Learning City: the whole programme"), "programme.ics")


def add_routes(app: web.Application) -> None:
    app.router.add_get(r"/api/feeds/{kind:track|festival|category}/{scope_id:\d+}.ics", scope_feed)
    app.router.add_get("/api/feeds/all.ics", everything_feed)
