"""`GET /api/me`: who the initData says the caller is; every page starts from it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.webapp.api_base import Call
from bot.webapp.api_base import endpoint
from catalogue.team import ROLE_PERMISSIONS
from catalogue.team import Permission


@endpoint()
async def me(_request: web.Request, call: Call) -> dict[str, Any]:
    caller = call.caller
    assert caller is not None  # an endpoint() always has one
    return {
        "telegram_id": caller.telegram_id,
        "name": caller.name,
        "role": str(caller.role),
        "language": caller.locale,
        "permissions": sorted(str(permission) for permission in ROLE_PERMISSIONS[caller.role]),
        "can_check_in": caller.may(Permission.CHECK_IN),
        "city_timezone": call.context.city_zone.key,
        "development": call.context.development,
    }


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/me", me)
