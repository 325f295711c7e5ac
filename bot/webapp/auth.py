"""Who is calling: Telegram's signed initData in `Authorization: tma <initData>`.

The signature is checked with aiogram's `safe_parse_webapp_init_data` against the bot's token.
aiogram does not look at `auth_date`, so `check_init_data` does: initData older than
`WEB_APP_MAX_AGE` seconds (or from more than a minute ahead) is refused, so a copied
Authorization header stops working. Then the resident is found (or registered) and their role
worked out as the chat does it (`catalogue/team.py`).

A run without a token signs with a random development key made at start (`development_key`):
the local chat's resident and an administrator can try the Mini App in a desktop browser, and
nothing signed with that key is ever accepted by a process that has a token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiogram.utils.web_app import WebAppInitData
from aiogram.utils.web_app import WebAppUser
from aiogram.utils.web_app import safe_parse_webapp_init_data
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import best_locale
from bot.screens.view import Viewer
from bot.webapp.context import WebContext
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.residents import resident_and_team_role
from catalogue.team import Permission
from catalogue.team import Role
from catalogue.team import may
from catalogue.team import role_from

SCHEME = "tma"
CLOCK_SKEW = timedelta(minutes=1)  # a phone's clock a little ahead of ours is not an attack
MAX_INIT_DATA = 4096


class Unauthorized(Exception):
    """No initData, a bad signature, or too old: the request gets 401."""


@dataclass(frozen=True)
class Caller:
    """The person behind a request, as the chat's middlewares would see them."""

    telegram_id: int
    name: str
    resident: Resident
    role: Role

    def viewer(self, city_zone: ZoneInfo) -> Viewer:
        return Viewer.of(self.resident, city_zone)

    @property
    def locale(self) -> str:
        return self.resident.language

    def may(self, permission: Permission) -> bool:
        return may(self.role, permission)


def development_key() -> str:
    """A signing key for a tokenless run: random, shaped like a token, never a real one."""
    return f"0:development-{secrets.token_urlsafe(24)}"


def sign_init_data(
    key: str,
    user: dict[str, object],
    auth_date: datetime | None = None,
    **fields: str,
) -> str:
    """initData signed the way Telegram signs it (for the local run and for tests)."""
    stamp = int((auth_date or utc_now()).timestamp())
    data = {
        **fields,
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(stamp),
    }
    check = "\n".join(f"{name}={value}" for name, value in sorted(data.items()))
    secret = hmac.new(b"WebAppData", key.encode(), hashlib.sha256).digest()
    data["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(data)


def init_data_from(header: str | None) -> str:
    if not header:
        raise Unauthorized("no Authorization header")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != SCHEME or not value.strip():
        raise Unauthorized("not tma initData")
    if len(value) > MAX_INIT_DATA:
        raise Unauthorized("initData too long")
    return value.strip()


def check_init_data(
    key: str, init_data: str, max_age: float, now: datetime | None = None
) -> WebAppInitData:
    """initData whose signature and age are good, with its user; Unauthorized otherwise."""
    try:
        parsed = safe_parse_webapp_init_data(key, init_data)
    except ValueError as error:  # a bad signature, or fields that do not parse
        raise Unauthorized("bad signature") from error
    now = now or utc_now()
    signed = parsed.auth_date
    if signed > now + CLOCK_SKEW or now - signed > timedelta(seconds=max_age):
        raise Unauthorized("initData expired")
    if parsed.user is None or parsed.user.is_bot:
        raise Unauthorized("no user in initData")
    return parsed


async def caller_of(session: AsyncSession, context: WebContext, user: WebAppUser) -> Caller:
    """The resident behind checked initData (registered on first sight), with their role."""
    language = best_locale(user.language_code, context.default_locale)
    resident, member_role = await resident_and_team_role(
        session, user.id, language, context.known_residents
    )
    role = role_from(user.id, member_role, context.admin_ids)
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    return Caller(user.id, name, resident, role)
