"""The Mini App's pages: the Programme, a session's card, My plan and the Door, under `/app/`,
and the read-only Programme for any browser at `/programme`.

Pages are rendered on the server with Jinja2 from what the JSON API answers
(`bot/webapp/api_programme.py`), in the locale of `?lang=` (the Mini App's script asks `/api/me`
and reopens the page in the resident's language). A page's HTML holds nothing personal: the
resident's seats, plan and the Door come from the API with the signed initData, drawn by
`static/app.js` and `static/door.js` into `<template>`s rendered here with their words.

Every word is a `_()` of the same gettext catalogues as the chat (`locales/`); the words the
scripts need travel in the page as JSON (`words`). Every response carries a strict
Content-Security-Policy: our own scripts, styles and images, plus Telegram's WebApp script
loaded from telegram.org as Telegram documents it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.webapp.api_base import ApiError
from bot.webapp.api_base import Call
from bot.webapp.api_programme import card_payload
from bot.webapp.api_programme import filters_payload
from bot.webapp.api_programme import programme_payload
from bot.webapp.context import WEB_CONTEXT
from bot.webapp.context import WebContext

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_PREFIX = "/app/static"
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' https://telegram.org",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        # Telegram's web clients show a Mini App in a frame of web.telegram.org.
        "frame-ancestors 'self' https://web.telegram.org",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
# The Programme's filters beyond search and scope (folded away until one is used).
FILTERS = ("free", "step_free", "age", "format", "district", "language")
# Each language named in itself, for the public page's language switch.
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def content_security_policy(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer (pages, scripts, the API, errors) under the same strict policy."""
    try:
        response = await handler(request)
    except web.HTTPException as error:
        error.headers.update(SECURITY_HEADERS)
        raise
    if not response.prepared:
        response.headers.update(SECURITY_HEADERS)
        if request.path.startswith(STATIC_PREFIX + "/") and "v" in request.query:
            # The address carries the file's hash (`static()`): it never changes.
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def script_words(_: Callable[[str], str]) -> dict[str, str]:
    """The words `app.js` and `door.js` show, in the page's language."""
    return {
        "error": _("Something went wrong. Please try again."),
        "no_network": _("No network. Please try again when it is back."),
        "your_seat": _("your seat"),
        "waiting_list": _("waiting list"),
        "you_have_a_seat": _("You have a seat. I will remind you."),
        "on_waiting_list": _("You are on the waiting list, place %(num)s."),
        "cancelled": _("Cancelled"),
        "online": _("Online"),
        "done": _("step done"),
        "to_do": _("step to do"),
        "track_done": _("%(done)s of %(total)s steps done"),
        "scan_prompt": _("Point the camera at a pass"),
        "no_scanner": _("This Telegram cannot scan QR codes here: type the codes instead."),
        "saved_here": _("saved on this phone, will be sent"),
        "waiting_to_send": _("Waiting to be sent when the network is back: %(num)s"),
        "expired": _("Open the Door again from the bot to send what is waiting."),
        "headcount": _("Headcount"),
        "bad_headcount": _("Type the number of people, from 1 to 10000."),
        "undone_here": _("Taken back before it was sent."),
        "wait_sending": _("Sending… try again in a moment."),
        "nothing_to_undo": _("Nothing to undo."),
        "undo_needs_network": _("Undo needs the network. Try again when it is back."),
    }


def _static_versions() -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in STATIC.iterdir()
        if path.is_file()
    }


class Pages:
    """The page handlers, with what they share: the context and the static files' hashes."""

    def __init__(self, context: WebContext) -> None:
        self.context = context
        self.versions = _static_versions()

    # -- rendering

    def static(self, name: str) -> str:
        return f"{STATIC_PREFIX}/{name}?v={self.versions[name]}"

    def locale(self, request: web.Request) -> str:
        return self.context.locale_of(request.query.get("lang"))

    def render(
        self, request: web.Request, template: str, locale: str, public: bool, **values: Any
    ) -> web.Response:
        i18n = self.context.i18n

        def gettext(message: str) -> str:
            return i18n.gettext(message, locale=locale)

        def url(path: str, **params: Any) -> str:
            wanted = {key: value for key, value in params.items() if value not in (None, "")}
            return f"{path}?{urlencode({**wanted, 'lang': locale})}"

        def link(changes: dict[str, str]) -> str:
            """This page with some of its query changed, in this language."""
            query = {**request.query, **changes, "lang": locale}
            return f"{request.path}?{urlencode(query)}"

        other = next((code for code in i18n.available_locales if code != locale), locale)
        context = {
            "_": gettext,
            "static": self.static,
            "telegram_script": TELEGRAM_SCRIPT,
            "locale": locale,
            "other_locale": other,
            "other_language": LANGUAGE_NAMES.get(other, other),
            "switch_url": f"{request.path}?{urlencode({**request.query, 'lang': other})}",
            "public": public,
            "base": "/programme" if public else "/app",
            "url": url,
            "link": link,
            "query": request.query,
            "words": script_words(gettext),
            **values,
        }
        response = aiohttp_jinja2.render_template(template, request, context)
        response.enable_compression()
        return response

    def problem(
        self, request: web.Request, locale: str, public: bool, error: ApiError
    ) -> web.Response:
        """A refused page (a bad filter, a session gone) in the reader's language, not a trace."""
        response = self.render(
            request, "problem.html", locale, public, page="problem", message=error.message
        )
        response.set_status(error.status)
        return response

    async def _call(self, locale: str, work: Callable[[Call], Awaitable[Any]]) -> Any:
        context = self.context
        with context.i18n.context(), context.i18n.use_locale(locale):
            async with context.sessions() as session:
                return await work(Call(session, context, locale))

    # -- the Programme

    async def _programme(self, request: web.Request, public: bool) -> web.StreamResponse:
        locale = self.locale(request)
        scope = request.query.get("scope", "")
        if ":" in scope:
            # The form's one list of scopes ("track:4"): the address the API understands.
            kind, _colon, scope_id = scope.partition(":")
            query = request.query.copy()
            query.update(scope=kind, id=scope_id)
            raise web.HTTPFound(request.rel_url.with_query(query))

        async def load(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
            return await programme_payload(request, call), await filters_payload(call)

        try:
            programme, filters = await self._call(locale, load)
        except ApiError as error:
            return self.problem(request, locale, public, error)
        scope = programme["scope"]
        chosen = f"{scope['kind']}:{scope['id']}" if scope["id"] is not None else "all"
        return self.render(
            request,
            "programme.html",
            locale,
            public,
            page="programme",
            programme=programme,
            filters=filters,
            chosen_scope=chosen,
            filtered=any(request.query.get(name) for name in FILTERS),
        )

    async def app_programme(self, request: web.Request) -> web.Response:
        return await self._programme(request, public=False)

    async def public_programme(self, request: web.Request) -> web.Response:
        return await self._programme(request, public=True)

    # -- a session's card

    async def _card(self, request: web.Request, public: bool) -> web.Response:
        locale = self.locale(request)

        async def load(call: Call) -> dict[str, Any]:
            return await card_payload(request, call)

        try:
            card = await self._call(locale, load)
        except ApiError as error:
            return self.problem(request, locale, public, error)
        return self.render(request, "card.html", locale, public, page="card", card=card)

    async def app_card(self, request: web.Request) -> web.Response:
        return await self._card(request, public=False)

    async def public_card(self, request: web.Request) -> web.Response:
        return await self._card(request, public=True)

    # -- personal pages: drawn by the scripts from the API

    async def plan(self, request: web.Request) -> web.Response:
        return self.render(request, "plan.html", self.locale(request), False, page="plan")

    async def door(self, request: web.Request) -> web.Response:
        return self.render(request, "door.html", self.locale(request), False, page="door")


def setup(app: web.Application, context: WebContext | None = None) -> None:
    """Add the pages, their static files and the Content-Security-Policy to `app`."""
    pages = Pages(context or app[WEB_CONTEXT])
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app.middlewares.append(content_security_policy)
    routes = app.router
    routes.add_get("/app", _to_app)
    routes.add_get("/app/", pages.app_programme)
    routes.add_get("/app/programme", pages.app_programme)
    routes.add_get(r"/app/sessions/{session_id:\d{1,9}}", pages.app_card)
    routes.add_get("/app/plan", pages.plan)
    routes.add_get("/app/door", pages.door)
    routes.add_get("/programme", pages.public_programme)
    routes.add_get(r"/programme/sessions/{session_id:\d{1,9}}", pages.public_card)
    routes.add_static(STATIC_PREFIX, STATIC)


async def _to_app(request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect(
        "/app/" + (f"?{request.query_string}" if request.query_string else "")
    )
