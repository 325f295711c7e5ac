"""The volunteer's Door: today's sessions, scans in batches, a headcount, undo, live counts.

Only for people who may check in (`Permission.CHECK_IN`, as `/checkin`); a resident gets 403.
The rules are `/checkin`'s because the functions are: `open_session` says which sessions the
door may open, `check_in_scans` checks each scan in through `check_in_codes` (once per device
id, catalogue/checkin/device_scans.py), `undo_last` takes back the volunteer's latest entry.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.screens.checkin_volunteer import ANSWER_ICONS
from bot.screens.checkin_volunteer import answer_text
from bot.screens.checkin_volunteer import undone_text
from bot.webapp.api_base import Call
from bot.webapp.api_base import bad_request
from bot.webapp.api_base import endpoint
from bot.webapp.api_programme import session_item
from catalogue.checkin.answers import Answer
from catalogue.checkin.device_scans import DEVICE_ID_LENGTH
from catalogue.checkin.device_scans import check_in_scans
from catalogue.checkin.device_scans import headcount_once
from catalogue.checkin.door import MAX_CODES_PER_MESSAGE
from catalogue.checkin.door import MAX_HEADCOUNT
from catalogue.checkin.door import undo_last
from catalogue.checkin.passes import show_code
from catalogue.checkin.today import Counts
from catalogue.checkin.today import counts
from catalogue.checkin.today import open_session
from catalogue.checkin.today import sessions_today
from catalogue.learners.follow_up import follow_up_check_ins
from catalogue.models import OfferSession
from catalogue.models import utc_now
from catalogue.programme_week.sessions import programme_sessions_by_id
from catalogue.team import Permission
from catalogue.text_policy import bounded_id

DEVICE_ID = re.compile(rf"[A-Za-z0-9_-]{{8,{DEVICE_ID_LENGTH}}}")
MAX_SCANNED_TEXT = 512  # a pass's deep link is about 50 characters
# The door's four answers; a text that cannot be a pass code is "unknown" to the volunteer.
SYMBOLS = {**ANSWER_ICONS, Answer.MALFORMED: ANSWER_ICONS[Answer.UNKNOWN]}


def counts_json(found: Counts) -> dict[str, int]:
    return {
        "registered": found.registered,
        "checked_in": found.checked_in,
        "walk_ins": found.walk_ins,
        "headcount": found.headcount,
    }


async def _door_session(request: web.Request, call: Call) -> OfferSession:
    """The session of the path, if the door may open it now (CheckInError says why not)."""
    number = bounded_id(request.match_info["session_id"]) or 0
    return await open_session(call.session, number, utc_now(), call.context.city_zone)


async def _session_json(call: Call, session_id: int) -> dict[str, Any]:
    found = await programme_sessions_by_id(call.session, [session_id])
    return {
        "session": session_item(found[session_id], call),
        "counts": counts_json(await counts(call.session, session_id)),
    }


def _device_id(value: object) -> str:
    if not isinstance(value, str) or not DEVICE_ID.fullmatch(value):
        raise bad_request(_("Every scan needs the id the app gave it."))
    return value


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise bad_request(_("The app sent something that is not JSON.")) from None
    if not isinstance(body, dict):
        raise bad_request(_("The app sent something that is not JSON."))
    return body


def _scans(body: dict[str, Any]) -> list[tuple[str, str]]:
    scans = body.get("scans")
    if not isinstance(scans, list) or not scans:
        raise bad_request(_("No scans were sent."))
    if len(scans) > MAX_CODES_PER_MESSAGE:
        raise bad_request(
            _("Send at most {limit} scans at once.").format(limit=MAX_CODES_PER_MESSAGE)
        )
    parsed = []
    for scan in scans:
        if not isinstance(scan, dict):
            raise bad_request(_("Every scan needs the id the app gave it."))
        # A scan that read no pass (an empty or foreign QR) is answered "not a pass code" on
        # its own line: the rest of the batch still counts.
        code = scan.get("code")
        text = code[:MAX_SCANNED_TEXT] if isinstance(code, str) else ""
        parsed.append((_device_id(scan.get("id")), text))
    return parsed


@endpoint(Permission.CHECK_IN)
async def today(_request: web.Request, call: Call) -> dict[str, Any]:
    found = await sessions_today(call.session, utc_now(), call.context.city_zone)
    ids = [item.session.id for item in found]
    items = await programme_sessions_by_id(call.session, ids)
    sessions = []
    for session_id in ids:
        drawn = session_item(items[session_id], call)
        sessions.append(
            {"session": drawn, "counts": counts_json(await counts(call.session, session_id))}
        )
    return {"sessions": sessions}


@endpoint(Permission.CHECK_IN)
async def door_session(request: web.Request, call: Call) -> dict[str, Any]:
    offer_session = await _door_session(request, call)
    return await _session_json(call, offer_session.id)


@endpoint(Permission.CHECK_IN)
async def scans(request: web.Request, call: Call) -> dict[str, Any]:
    assert call.caller is not None
    batch = _scans(await _body(request))
    offer_session = await _door_session(request, call)
    now = utc_now()
    answers = await check_in_scans(call.session, offer_session, batch, call.caller.telegram_id, now)
    # As at the door in chat: completions recorded, and what follows queued for the residents.
    checked_in = {key: chat for scan in answers for key, chat in scan.newcomers.items()}
    await follow_up_check_ins(call.session, checked_in, now, offer_id=offer_session.offer_id)
    return {
        "results": [
            {
                "id": scan.device_id,
                "answer": str(scan.answer),
                "symbol": SYMBOLS[scan.answer],
                "label": answer_text(scan.answer),
                "code": show_code(scan.code) if scan.code else None,
                "repeat": scan.repeat,
            }
            for scan in answers
        ],
        "counts": counts_json(await counts(call.session, offer_session.id)),
    }


@endpoint(Permission.CHECK_IN)
async def headcount(request: web.Request, call: Call) -> dict[str, Any]:
    assert call.caller is not None
    body = await _body(request)
    device_id = _device_id(body.get("id"))
    people = body.get("people")
    if not isinstance(people, int) or isinstance(people, bool) or not 1 <= people <= MAX_HEADCOUNT:
        raise bad_request(
            _("The headcount must be a number from 1 to {limit}.").format(limit=MAX_HEADCOUNT)
        )
    offer_session = await _door_session(request, call)
    total, repeat = await headcount_once(
        call.session, offer_session, device_id, people, call.caller.telegram_id, utc_now()
    )
    return {
        "headcount": total,
        "repeat": repeat,
        "counts": counts_json(await counts(call.session, offer_session.id)),
    }


@endpoint(Permission.CHECK_IN)
async def undo(_request: web.Request, call: Call) -> dict[str, Any]:
    assert call.caller is not None
    undone = await undo_last(call.session, call.caller.telegram_id, utc_now())
    message = unescape(undone_text(undone, call.viewer))
    if undone is None:
        return {"undone": None, "message": message, "counts": None}
    session_id = undone.session.session.id
    return {
        "undone": {
            "session_id": session_id,
            "method": str(undone.method),
            "people": undone.people,
            "message": message,
        },
        "message": message,
        "counts": counts_json(await counts(call.session, session_id)),
    }


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/api/door/sessions", today)
    router.add_get(r"/api/door/sessions/{session_id:\d+}", door_session)
    router.add_post(r"/api/door/sessions/{session_id:\d+}/scans", scans)
    router.add_post(r"/api/door/sessions/{session_id:\d+}/headcount", headcount)
    router.add_post("/api/door/undo", undo)
