"""The plumbing every API endpoint shares: who calls, one transaction, errors as JSON.

An endpoint is a function of the request and a `Call` (the caller, their database session and
the context) that returns a JSON-able dict or a ready response. `endpoint(...)` wraps it:

* no valid initData: 401 `unauthorized`; the role lacks the permission: 403 `forbidden`;
* one transaction per request, committed when the endpoint returns, rolled back when it raises;
* `ApiError` (400, 404) and the catalogue's `DomainError` (409, explained as the chat explains
  it) become `{"error": code, "message": text}` in the caller's language.

`public(...)` serves the read-only endpoints for any browser: no caller, `?lang=` chooses the
language.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.screens.errors import explain
from bot.screens.view import Viewer
from bot.webapp.auth import Caller
from bot.webapp.auth import Unauthorized
from bot.webapp.auth import caller_of
from bot.webapp.auth import check_init_data
from bot.webapp.auth import init_data_from
from bot.webapp.context import WEB_CONTEXT
from bot.webapp.context import WebContext
from catalogue.errors import DomainError
from catalogue.errors import ProblemError
from catalogue.team import Permission

logger = logging.getLogger(__name__)

dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


class ApiError(Exception):
    """A request the API refuses: its status, a stable code, and the words for the person."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


def not_found() -> ApiError:
    return ApiError(404, "not_found", _("This is not in the programme (any more)."))


def bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


@dataclass(frozen=True)
class Call:
    """One API request: the database session, who asks (None on public endpoints), the context."""

    session: AsyncSession
    context: WebContext
    locale: str
    caller: Caller | None = None

    @property
    def viewer(self) -> Viewer:
        if self.caller is not None:
            return self.caller.viewer(self.context.city_zone)
        return Viewer(self.locale, self.context.city_zone)


Endpoint = Callable[[web.Request, Call], Awaitable[dict[str, Any] | web.StreamResponse]]


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status, dumps=dumps)


def _answer(result: dict[str, Any] | web.StreamResponse) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    return web.json_response(result, dumps=dumps)


def unauthorized(context: WebContext) -> web.Response:
    """401: the caller is unknown, so the city's default language."""
    with context.i18n.context(), context.i18n.use_locale(context.default_locale):
        message = _("Open this page from the bot in Telegram, then try again.")
    return error_response(401, "unauthorized", message)


async def _as(
    caller: Caller,
    permission: Permission | None,
    handler: Endpoint,
    request: web.Request,
    session: AsyncSession,
) -> dict[str, Any] | web.StreamResponse:
    """The endpoint's answer for the caller; a refusal rises as ApiError, its words drawn here
    while the session still holds what they name."""
    context = request.app[WEB_CONTEXT]
    if permission is not None and not caller.may(permission):
        raise ApiError(403, "forbidden", _("This part is for the festival team."))
    try:
        return await handler(request, Call(session, context, caller.locale, caller))
    except DomainError as error:
        code = str(error.problem) if isinstance(error, ProblemError) else "refused"
        raise ApiError(409, code, explain(error, caller.viewer(context.city_zone))) from error


def endpoint(permission: Permission | None = None) -> Callable[[Endpoint], web.Handler]:
    """An API endpoint for a caller with valid initData (and `permission`, when given)."""

    def wrap(handler: Endpoint) -> web.Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            context = request.app[WEB_CONTEXT]
            try:
                header = init_data_from(request.headers.get("Authorization"))
                init_data = check_init_data(context.signing_key, header, context.max_age)
            except Unauthorized as refused:
                logger.info("Mini App: refused %s %s: %s", request.method, request.path, refused)
                return unauthorized(context)
            assert init_data.user is not None  # check_init_data refuses initData without one
            i18n = context.i18n
            with i18n.context():
                try:
                    async with context.sessions.begin() as session:
                        caller = await caller_of(session, context, init_data.user)
                        with i18n.use_locale(caller.locale):
                            result = await _as(caller, permission, handler, request, session)
                    return _answer(result)
                except ApiError as error:  # the transaction is rolled back on the way
                    return error_response(error.status, error.code, error.message)

        handle.__name__ = handler.__name__
        return handle

    return wrap


def public(handler: Endpoint) -> web.Handler:
    """A read-only endpoint for any browser: `?lang=` chooses the language."""

    async def handle(request: web.Request) -> web.StreamResponse:
        context = request.app[WEB_CONTEXT]
        locale = context.locale_of(request.query.get("lang"))
        with context.i18n.context(), context.i18n.use_locale(locale):
            try:
                async with context.sessions() as session:
                    result = await handler(request, Call(session, context, locale))
                return _answer(result)
            except ApiError as error:
                return error_response(error.status, error.code, error.message)

    handle.__name__ = handler.__name__
    return handle
