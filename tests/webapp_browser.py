"""A real Chromium for the Mini App's pages: Debian's /usr/bin/chromium driven by Playwright.

* No Chromium: the browser tests skip, saying why; under CI (`CI=true`) they fail instead.
  Never `playwright install`: `.ci/run` installs Debian's `chromium` with apt-get.
* Offline by construction: every request that is not to loopback is aborted; the request for
  Telegram's `telegram-web-app.js` is answered with `tests/webapp/telegram-web-app-standin.js`.
* `mini_app_url` opens a page as Telegram opens a Mini App: the signed initData, the version and
  the theme in the URL's hash.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import quote
from urllib.parse import urlsplit

import pytest

from bot.webapp.pages import TELEGRAM_SCRIPT

HERE = Path(__file__).resolve().parent
STANDIN = HERE / "webapp" / "telegram-web-app-standin.js"
SCREENSHOTS = HERE / "webapp" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}

# Telegram's own default themes (what Telegram Desktop sends), faint link colour and all.
THEMES = {
    "light": {
        "bg_color": "#ffffff",
        "text_color": "#000000",
        "hint_color": "#999999",
        "link_color": "#3390ec",
        "button_color": "#3390ec",
        "button_text_color": "#ffffff",
        "secondary_bg_color": "#f4f4f5",
    },
    "dark": {
        "bg_color": "#212121",
        "text_color": "#ffffff",
        "hint_color": "#aaaaaa",
        "link_color": "#8774e1",
        "button_color": "#8774e1",
        "button_text_color": "#ffffff",
        "secondary_bg_color": "#181818",
    },
}


def chromium_path(candidates: tuple[str, ...] = ("/usr/bin/chromium",)) -> str:
    """Debian's Chromium, or a skip (a failure under CI) saying why there is none."""
    found = [path for path in (*candidates, shutil.which("chromium")) if path]
    existing = next((path for path in found if Path(path).exists()), None)
    if existing is None:
        message = (
            "no Chromium at /usr/bin/chromium: `apt-get install chromium` to run the browser tests"
        )
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    return existing


def mini_app_url(
    base: str, path: str, init_data: str, theme: str = "light", version: str = "8.0"
) -> str:
    """The address Telegram opens: launch parameters in the hash, as the real client sends them."""
    hash_part = "&".join(
        [
            f"tgWebAppData={quote(init_data, safe='')}",
            f"tgWebAppVersion={version}",
            "tgWebAppPlatform=tdesktop",
            f"tgWebAppThemeParams={quote(json.dumps(THEMES[theme]), safe='')}",
        ]
    )
    return f"{base}{path}#{hash_part}"


@dataclass
class Traffic:
    """What the pages asked for: the API's answers, and what was refused for leaving loopback."""

    responses: list[tuple[str, int]] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the pages' script errors and CSP reports

    def statuses(self, path: str) -> list[int]:
        return [status for url, status in self.responses if urlsplit(url).path == path]


class Browser:
    """One Chromium for a test; each `page()` is a fresh profile (storage, cookies)."""

    def __init__(self, browser) -> None:
        self.browser = browser
        self.traffic = Traffic()
        self.contexts: list = []

    def _console(self, message) -> None:
        # Refused requests (401, 403, a dropped connection) are the tests' doing; script errors
        # and Content-Security-Policy violations are the pages' faults.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.traffic.errors.append(message.text)

    async def page(self, color_scheme: str = "light", telegram: bool = True):
        """A page; without `telegram`, the request for Telegram's script fails (offline)."""
        context = await self.browser.new_context(
            color_scheme=color_scheme, viewport={"width": 420, "height": 900}
        )
        self.contexts.append(context)
        standin = STANDIN.read_text()

        async def route(route) -> None:
            url = route.request.url
            if url.split("?")[0] == TELEGRAM_SCRIPT and not telegram:
                await route.abort("internetdisconnected")
            elif url.split("?")[0] == TELEGRAM_SCRIPT:
                await route.fulfill(status=200, content_type="text/javascript", body=standin)
            elif urlsplit(url).hostname in LOOPBACK:
                await route.continue_()
            else:
                self.traffic.aborted.append(url)
                await route.abort()

        await context.route("**/*", route)
        page = await context.new_page()
        page.on(
            "response",
            lambda response: self.traffic.responses.append((response.url, response.status)),
        )
        page.on("pageerror", lambda error: self.traffic.errors.append(str(error)))
        page.on("console", self._console)
        return page


@asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    """Chromium for one test; afterwards, no script error and nothing asked of the internet."""
    path = chromium_path()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        wrapped = Browser(browser)
        yield wrapped
        for context in wrapped.contexts:
            await context.close()
        await browser.close()
    assert not wrapped.traffic.errors, wrapped.traffic.errors
    assert not [url for url in wrapped.traffic.aborted if TELEGRAM_SCRIPT not in url], (
        "the pages asked for something outside loopback"
    )
