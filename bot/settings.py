"""Settings from the environment and an optional `.env` file."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated
from typing import Literal
from urllib.parse import SplitResult
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from pydantic import Field
from pydantic import SecretStr
from pydantic import ValidationError
from pydantic import field_validator
from pydantic_settings import BaseSettings
from pydantic_settings import NoDecode
from pydantic_settings import SettingsConfigDict

from catalogue import text_policy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
SUPPORTED_LOCALES = ("en", "ru")


def _public_address(
    value: str | None, fits: Callable[[SplitResult], bool], hint: str
) -> str | None:
    """An optional public address setting: unset stays None; one whose parts do not `fit` is
    refused with `hint` (what is expected, with an example)."""
    if value is not None and not fits(urlsplit(value)):
        raise ValueError(hint)
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    database_url: str = f"sqlite+aiosqlite:///{DATA_DIR / 'learncity.sqlite3'}"
    bot_api_url: str | None = None
    city_timezone: str = "Asia/Yekaterinburg"
    default_locale: str = "ru"
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    load_demo: bool = True
    # Bulk sends (reminders, digests, broadcasts) per second, per bot process; Telegram allows ~30.
    outbound_rate: float = Field(default=25.0, gt=0)
    # How long a process may hold a claimed outgoing message before others may take it over.
    outbox_lease_seconds: float = Field(default=60.0, ge=3)
    # Telegram's paid broadcasts (up to 1000 messages a second, paid in Stars): off unless a
    # big city turns it on; organisers' broadcasts then go out at `paid_broadcast_rate`.
    allow_paid_broadcast: bool = False
    paid_broadcast_rate: float = Field(default=1000.0, gt=0, le=1000)
    # How long a team invitation link (/start inv_…) stays valid.
    invite_ttl_hours: int = Field(default=72, ge=1, le=24 * 30)
    # Several bot processes: FSM state, flood control and the ledger of handled updates live
    # in Redis, shared; without it they live in this one process's memory.
    redis_url: str | None = None
    # Every Redis key this bot writes starts with it: one Redis may serve several bots.
    redis_prefix: str = "learncity"
    # Webhook mode (`learncity run --webhook`): the public address Telegram posts updates to,
    # the secret it must send back in a header, and where this process listens.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    # More updates than this in one second from one person: one polite "slow down", the rest
    # are dropped. 0 turns flood control off.
    flood_limit: int = Field(default=5, ge=0, le=1000)
    # `json`: one JSON object per log line (for log collectors); `text`: for people.
    log_format: Literal["text", "json"] = "text"
    # The Mini App (docs/mini-app.md): where its HTTP server listens, its public https://
    # address, and for how many seconds Telegram's signed initData is accepted.
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8081, ge=1, le=65535)
    web_app_url: str | None = None
    web_app_max_age: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    # What one field and one imported file may hold, the same in the chat's forms and in
    # imported files (catalogue/text_policy.py): titles and names, descriptions and notes,
    # and a file's bytes, rows and JSON nesting.
    title_max_length: int = Field(default=text_policy.TITLE_MAX_LENGTH, ge=3, le=1000)
    text_max_length: int = Field(default=text_policy.TEXT_MAX_LENGTH, ge=100, le=100_000)
    import_max_bytes: int = Field(default=text_policy.IMPORT_MAX_BYTES, ge=1024)
    import_max_rows: int = Field(default=text_policy.IMPORT_MAX_ROWS, ge=1)
    import_max_depth: int = Field(default=text_policy.IMPORT_MAX_DEPTH, ge=4, le=1000)
    # The learning record (docs/learning-record.md): the districts residents may say they live
    # in, the groups they may say they belong to, and the survey's topics (comma-separated).
    home_districts: Annotated[tuple[str, ...], NoDecode] = ("Центр", "Заречный", "Новый")
    learner_groups: Annotated[tuple[str, ...], NoDecode] = (
        "disability",
        "pensioner",
        "job_seeking",
        "migrant",
        "parent_on_leave",
    )
    survey_topics: Annotated[tuple[str, ...], NoDecode] = (
        "languages",
        "digital",
        "health",
        "arts",
        "crafts",
        "money",
        "civic",
        "science",
        "parenting",
        "career",
    )

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        bot_id, _, secret = value.get_secret_value().partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("expected the form 123456:ABC… given by @BotFather")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # People paste the URLs their hosting shows; give them the async drivers we ship.
        for plain, async_url in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if value.startswith(plain):
                return async_url + value.removeprefix(plain)
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("use a postgresql:// or sqlite:// URL")
        return value

    @field_validator("redis_url", "webhook_url", "web_app_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use a redis://host:port/db (or rediss://, unix://) URL")
        return value

    @field_validator("redis_prefix")
    @classmethod
    def _prefix_shape(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,40}", value):
            raise ValueError("1 to 40 letters, digits, or _ . : -")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_address(cls, value: str | None) -> str | None:
        return _public_address(
            value,
            lambda parts: parts.scheme in ("https", "http") and bool(parts.hostname),
            "the public https:// address Telegram posts to, e.g. https://bot.example.org/telegram",
        )

    @field_validator("web_app_url")
    @classmethod
    def _mini_app_address(cls, value: str | None) -> str | None:
        address = _public_address(
            value,
            lambda parts: (
                parts.scheme == "https"
                and bool(parts.hostname)
                and not parts.path.strip("/")
                and not parts.query
            ),
            "the public https:// address the Mini App is served at (no path), "
            "e.g. https://app.example.org",
        )
        return None if address is None else address.rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("1 to 256 characters: letters, digits, _ and - (Telegram's rule)")
        return value

    @field_validator("city_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"unknown time zone {value!r} (use a name like Europe/Dublin)"
            ) from error
        return value

    @field_validator("default_locale")
    @classmethod
    def _supported_locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"choose one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",")]
            try:
                return frozenset(int(part) for part in parts if part)
            except ValueError as error:
                raise ValueError("a comma-separated list of Telegram user ids") from error
        return value

    @field_validator("home_districts", "learner_groups", "survey_topics", mode="before")
    @classmethod
    def _comma_separated_names(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        if isinstance(value, list | tuple):
            names = tuple(dict.fromkeys(str(part).strip() for part in value if str(part).strip()))
            if any(len(name) > 60 for name in names):
                raise ValueError("a comma-separated list of names of at most 60 characters")
            return names
        return value

    @property
    def city_zone(self) -> ZoneInfo:
        return ZoneInfo(self.city_timezone)

    @property
    def input_limits(self) -> text_policy.InputLimits:
        return text_policy.InputLimits(
            title_length=self.title_max_length,
            text_length=self.text_max_length,
            file_bytes=self.import_max_bytes,
            rows=self.import_max_rows,
            depth=self.import_max_depth,
        )

    @property
    def mini_app_url(self) -> str | None:
        """The Mini App's pages for the chat's buttons: with a token and `WEB_APP_URL` only."""
        if self.bot_token is None or self.web_app_url is None:
            return None
        return f"{self.web_app_url}/app/"

    @property
    def webhook_path(self) -> str:
        """Where this process serves Telegram's posts: the path of `WEBHOOK_URL`."""
        return urlsplit(self.webhook_url or "").path or "/"


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the variable."""


def require_webhook(settings: Settings) -> None:
    """Webhook mode needs a token, the public address and the secret; say which is missing."""
    for variable, value, meaning in (
        ("BOT_TOKEN", settings.bot_token, "the token from @BotFather"),
        ("WEBHOOK_URL", settings.webhook_url, "the public https:// address Telegram posts to"),
        ("WEBHOOK_SECRET", settings.webhook_secret, "a secret Telegram sends back with each post"),
    ):
        if value is None:
            raise SettingsError(f"Missing setting {variable}: --webhook needs {meaning}")


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "settings"
        reason = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"Invalid setting {variable}: {reason}") from None
