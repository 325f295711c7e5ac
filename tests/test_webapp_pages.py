"""The Mini App's pages in a real Chromium, against the real server (bot/webapp/server.py).

A resident opens the Programme from Telegram, filters it, reminds themselves of a session and
cancels, sees My plan; a volunteer scans passes at the Door, some while offline; anyone reads
the programme at /programme without Telegram. Telegram's WebApp script is the stand-in
(tests/webapp/telegram-web-app-standin.js), the run is offline by construction
(tests/webapp_browser.py), and every page passes axe-core in both languages and both themes.
Screenshots land in tests/webapp/screenshots/ (git-ignored).
"""

from __future__ import annotations

import dataclasses
import gzip
import socket
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import ClientSession
from sqlalchemy import func
from sqlalchemy import select

from bot.startup.app import App
from bot.webapp.auth import sign_init_data
from bot.webapp.pages import CONTENT_SECURITY_POLICY
from bot.webapp.server import MiniAppServer
from bot.webapp.server import web_context
from catalogue.checkin.passes import pass_of
from catalogue.checkin.tables import AttendanceEntry
from catalogue.checkin.tables import CheckIn
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import utc_now
from tests.checkin_world import session_now
from tests.reminder_world import Made
from tests.reminder_world import make_offer
from tests.resident_chat import ResidentChat
from tests.webapp_browser import SCREENSHOTS
from tests.webapp_browser import Browser
from tests.webapp_browser import chromium_path
from tests.webapp_browser import launched
from tests.webapp_browser import mini_app_url

TOKEN = "123456:pages-test-token"
RESIDENT = 7_100_001
ADMIN = 7_100_002
BOT = "learncity_test_bot"
FIRST_VIEW_LIMIT = 150 * 1024


@pytest.fixture
def database_url(tmp_path) -> str:
    """The pages read what the API answers; the API's own tests cover both databases."""
    return f"sqlite+aiosqlite:///{tmp_path / 'pages.sqlite3'}"


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    async with launched() as browser:
        yield browser


def test_without_chromium_a_newcomer_skips_and_ci_fails(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = (str(tmp_path / "chromium"),)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        chromium_path(missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        chromium_path(missing)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclasses.dataclass
class Site:
    url: str
    app: App


@pytest.fixture
async def site(app: App) -> AsyncIterator[Site]:
    """The Mini App's real server on a free port, signing with the bot's token."""
    port = free_port()
    context = dataclasses.replace(
        web_context(app.settings, app.session_maker, app.i18n),
        signing_key=TOKEN,
        development=False,
        admin_ids=frozenset({ADMIN}),
        bot_username=BOT,
        public_url=f"http://127.0.0.1:{port}",
    )
    server = MiniAppServer(context, "127.0.0.1", port)
    await server.start()
    yield Site(f"http://127.0.0.1:{port}", app)
    await server.stop()


def init_data(user_id: int, language: str = "en", **changes) -> str:
    return sign_init_data(
        TOKEN, {"id": user_id, "first_name": "Anna", "language_code": language}, **changes
    )


async def resident_with_a_plan(app: App, made: Made, telegram_id: int = RESIDENT) -> None:
    """A resident who chose the offer's track in the chat and holds a seat at its session."""
    async with app.session_maker.begin() as session:
        resident = Resident(
            telegram_id=telegram_id, language="en", language_chosen=True, track_id=made.track_id
        )
        session.add(resident)
        await session.flush()
        session.add(
            Seat(resident_id=resident.id, session_id=made.session_ids[0], status=SeatStatus.GOING)
        )


async def opened(page, url: str, ready: str = "data-ready") -> None:
    await page.goto(url)
    await page.wait_for_selector(f"html[{ready}]", state="attached")


async def seat_of(app: App, telegram_id: int, session_id: int) -> SeatStatus | None:
    async with app.session_maker() as session:
        return await session.scalar(
            select(Seat.status)
            .join(Resident, Resident.id == Seat.resident_id)
            .where(Resident.telegram_id == telegram_id, Seat.session_id == session_id)
        )


# -- the resident


async def test_resident_opens_the_programme_in_their_language(
    site: Site, chromium: Browser
) -> None:
    page = await chromium.page()
    await opened(page, mini_app_url(site.url, "/app/", init_data(RESIDENT, "ru")))
    assert "lang=ru" in page.url, "the page reopened in the language /api/me answered"
    assert await page.get_attribute("html", "lang") == "ru"
    assert await page.text_content("h1") == "Программа"
    assert await page.locator(".session").count() > 0, "the demo programme's week shows"
    assert chromium.traffic.statuses("/api/me") == [200, 200]
    calls = await page.evaluate("window.__standin.calls.map(c => c.name)")
    assert "ready" in calls
    # The team's Door is not offered to a resident.
    assert await page.locator(".team-only").is_hidden()


async def test_filters_narrow_the_programme(site: Site, chromium: Browser) -> None:
    page = await chromium.page()
    await opened(page, mini_app_url(site.url, "/app/programme?lang=en", init_data(RESIDENT)))
    everything = await page.locator(".session").count()
    await page.click("summary")  # the filters beyond search are folded until used
    await page.check("#free")
    await page.check("#step_free")
    await page.click("form.filters button[type=submit]")
    await page.wait_for_selector("html[data-ready]", state="attached")
    assert "free=1" in page.url
    assert "step_free=1" in page.url
    narrowed = await page.locator(".session").count()
    assert narrowed <= everything
    tags = await page.locator(".session .tags").all_text_contents()
    assert tags
    assert all("free" in tag.lower() and "Step-free" in tag for tag in tags), tags
    # The Day view and the next days keep the filters.
    await page.click("text=Day view")
    await page.wait_for_selector("html[data-ready]", state="attached")
    assert "view=day" in page.url
    assert "free=1" in page.url


async def test_search_and_a_bad_filter(site: Site, chromium: Browser) -> None:
    page = await chromium.page()
    made = await make_offer(site.app, [utc_now() + timedelta(days=1)], title="Ceramics at dusk")
    await opened(page, mini_app_url(site.url, "/app/programme?lang=en", init_data(RESIDENT)))
    await page.fill("#q", "ceramics")
    await page.press("#q", "Enter")
    await page.wait_for_selector("html[data-ready]", state="attached")
    titles = await page.locator(".session h3").all_text_contents()
    assert "Ceramics at dusk" in titles
    assert all("eramic" in title for title in titles), titles
    assert await page.locator(f'[data-session="{made.session_ids[0]}"]').count() == 1
    await opened(page, f"{site.url}/app/programme?lang=ru&age=abc")
    assert await page.text_content("h1") == "Извините"
    assert "age" in (await page.text_content("#problem"))


async def test_remind_me_and_cancel_the_same_seat_as_the_chat(
    site: Site, chromium: Browser
) -> None:
    made = await make_offer(site.app, [utc_now() + timedelta(days=2)], capacity=10)
    session_id = made.session_ids[0]
    page = await chromium.page()
    await opened(
        page, mini_app_url(site.url, f"/app/sessions/{session_id}?lang=en", init_data(RESIDENT))
    )
    remind = page.locator("#remind")
    await remind.wait_for()
    await remind.click()
    await page.wait_for_selector("#leave:not([hidden])")
    assert "remind" in (await page.text_content("#status")).lower()
    assert await seat_of(site.app, RESIDENT, session_id) == SeatStatus.GOING
    assert "notification:success" in await page.evaluate("window.__standin.haptics")
    # The chat shows the same seat.
    chat = ResidentChat(site.app, RESIDENT)
    screen = await chat.send("/my")
    assert "Pottery for beginners" in screen.text
    # Cancel, with the keyboard only.
    await page.focus("#leave")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#remind:not([hidden])")
    assert await seat_of(site.app, RESIDENT, session_id) != SeatStatus.GOING
    # Telegram's Back button is offered on the card.
    calls = await page.evaluate("window.__standin.calls.map(c => c.name)")
    assert "BackButton.show" in calls
    # Share opens the chat's card; the calendar file is ours.
    share = await page.get_attribute("#share", "href")
    assert share.startswith("https://t.me/share/url?")
    assert f"offer_{made.offer_id}" in share
    await page.click("#share")
    links = await page.evaluate("window.__standin.links")
    assert links
    assert links[-1].startswith("https://t.me/share/url?")
    ics = await page.get_attribute("a[download]", "href")
    async with ClientSession() as client, client.get(site.url + ics) as response:
        assert response.status == 200
        assert "BEGIN:VEVENT" in await response.text()


async def test_my_plan_shows_seats_and_track_progress(site: Site, chromium: Browser) -> None:
    made = await make_offer(site.app, [utc_now() + timedelta(days=3)])
    await resident_with_a_plan(site.app, made)
    page = await chromium.page()
    await opened(page, mini_app_url(site.url, "/app/plan?lang=en", init_data(RESIDENT)))
    assert await page.locator("#going .session").count() == 1
    assert "Pottery for beginners" in await page.text_content("#going")
    assert await page.text_content("#track-title") == made.track_title
    assert "0 of 1" in await page.text_content("#track-done")
    # The Programme marks the resident's seat.
    await opened(
        page,
        f"{site.url}/app/programme?lang=en&scope=track&id={made.track_id}&from="
        f"{(utc_now() + timedelta(days=3)).astimezone(site.app.settings.city_zone).date()}",
    )
    assert "your seat" in await page.text_content(f'[data-session="{made.session_ids[0]}"] .mine')
    assert await page.locator('#scope option:has-text("My track")').count() == 1


async def test_outside_telegram_and_forged_init_data(site: Site, chromium: Browser) -> None:
    page = await chromium.page()
    forged = init_data(RESIDENT).replace("Anna", "Boss")
    await opened(page, mini_app_url(site.url, "/app/?lang=en", forged))
    assert await page.locator("#outside").is_visible()
    assert chromium.traffic.statuses("/api/me") == [401]
    old = init_data(RESIDENT, auth_date=utc_now() - timedelta(hours=2))
    await opened(page, mini_app_url(site.url, "/app/plan?lang=en", old))
    assert chromium.traffic.statuses("/api/me") == [401, 401]
    # Opened in a browser with no Telegram at all: a pointer to the public programme.
    plain = await chromium.page()
    await plain.goto(f"{site.url}/app/?lang=en")
    await plain.wait_for_selector("#outside:not([hidden])")
    assert await plain.get_attribute("#outside a", "href") == "/programme?lang=en"


async def test_a_desktop_browser_without_telegrams_script_uses_the_link(
    site: Site, chromium: Browser
) -> None:
    """The local run's printed address, opened offline: the signed initData in the hash is
    enough; the Door falls back to typed codes."""
    page = await chromium.page(telegram=False)
    await opened(page, mini_app_url(site.url, "/app/?lang=en", init_data(ADMIN)))
    assert await page.locator(".session").count() > 0
    assert await page.locator(".team-only").is_visible()
    await page.click(".team-only a")
    await page.wait_for_selector("html[data-door]", state="attached")
    assert chromium.traffic.statuses("/api/door/sessions") == [200]


async def test_public_programme_needs_no_telegram(site: Site, chromium: Browser) -> None:
    page = await chromium.page()
    for locale, heading in [("en", "Programme"), ("ru", "Программа")]:
        await page.goto(f"{site.url}/programme?lang={locale}")
        assert await page.text_content("h1") == heading
        assert await page.locator(".session").count() > 0
        assert await page.locator("#remind, .team-only").count() == 0, "read-only"
    await page.click("a.language")
    assert "lang=en" in page.url
    first = page.locator(".session h3 a").first
    await first.click()
    await page.wait_for_selector("article.card")
    assert "/programme/sessions/" in page.url
    assert await page.locator("#remind").count() == 0
    requested = [url for url, _status in chromium.traffic.responses]
    assert not [url for url in requested if "telegram" in url], (
        "no Telegram script outside Telegram"
    )


async def test_every_answer_carries_the_strict_policy(site: Site) -> None:
    async with ClientSession() as client:
        for path in [
            "/programme",
            "/app/",
            "/app/door",
            "/app/static/app.js",
            "/api/me",
            "/nowhere",
        ]:
            async with client.get(site.url + path) as response:
                assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        async with client.get(site.url + "/programme?lang=ru") as response:
            page = await response.text()
    assert "https://telegram.org" in CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "<script>" not in page, "no inline script: the policy allows none"
    assert "style=" not in page, "no inline style: the policy allows none"


async def test_first_view_weighs_under_the_target(site: Site, chromium: Browser) -> None:
    """The bytes our server sends for the Programme's first view (Telegram's own script aside)."""
    page = await chromium.page()
    sizes: list[int] = []

    async def weigh(response) -> None:
        if response.url.startswith(site.url):
            sizes.append(len(await response.body()))

    page.on("response", weigh)
    await opened(page, mini_app_url(site.url, "/app/", init_data(RESIDENT)))
    async with (
        ClientSession(auto_decompress=False) as client,
        client.get(f"{site.url}/app/?lang=en", headers={"Accept-Encoding": "gzip"}) as response,
    ):
        html = await response.read()
        assert response.headers.get("Content-Encoding") == "gzip"
    assert len(gzip.decompress(html)) > len(html)
    assert sum(sizes) <= FIRST_VIEW_LIMIT * 4, "uncompressed, everything the page fetched"
    static = list(sizes[1:])
    assert len(html) + sum(static) <= FIRST_VIEW_LIMIT, (len(html), static)


# -- the volunteer


async def residents_with_passes(app: App, count: int, seat_at: int | None = None) -> list[str]:
    """`count` residents with passes; the first holds a seat at `seat_at`. Their pass links."""
    links = []
    async with app.session_maker.begin() as session:
        for number in range(count):
            resident = Resident(telegram_id=7_200_000 + number, language="en", language_chosen=True)
            session.add(resident)
            await session.flush()
            if number == 0 and seat_at is not None:
                session.add(
                    Seat(resident_id=resident.id, session_id=seat_at, status=SeatStatus.GOING)
                )
            own = await pass_of(session, resident)
            links.append(f"https://t.me/{BOT}?start=pass_{own.code}")
    return links


async def checked_in(app: App, session_id: int) -> int:
    async with app.session_maker() as session:
        return await session.scalar(
            select(func.count()).select_from(CheckIn).where(CheckIn.session_id == session_id)
        )


async def open_door(page, site: Site, title: str, user: int = ADMIN) -> None:
    await opened(
        page, mini_app_url(site.url, "/app/door?lang=en", init_data(user)), ready="data-door"
    )
    await page.click(f"#today button:has-text('{title}')")
    await page.wait_for_selector("#desk:not([hidden])")
    await page.click("#scan")
    assert await page.evaluate("window.__standin.scanning !== null"), "the QR popup is open"


async def scan(page, text: str) -> None:
    await page.evaluate("text => window.__standin.scan(text)", text)


async def answers(page) -> list[str]:
    return await page.eval_on_selector_all("#log li", "items => items.map(i => i.dataset.answer)")


async def test_volunteer_scans_at_the_door(site: Site, chromium: Browser) -> None:
    made = await session_now(site.app, title="Robot workshop")
    session_id = made.session_ids[0]
    links = await residents_with_passes(site.app, 5, seat_at=session_id)
    page = await chromium.page()
    await open_door(page, site, "Robot workshop")

    await scan(page, links[0])
    await page.wait_for_selector("#log li[data-answer=checked_in]")
    # Telegram's big bottom button scans too.
    await page.evaluate("window.__standin.closeScan()")
    assert await page.evaluate("window.Telegram.WebApp.MainButton.isVisible")
    await page.evaluate("window.Telegram.WebApp.MainButton.click()")
    assert await page.evaluate("window.__standin.scanning !== null")
    await scan(page, links[1])
    await page.wait_for_selector("#log li[data-answer=walk_in]")
    await scan(page, links[0])
    await page.wait_for_selector("#log li[data-answer=already]")
    await scan(page, f"https://t.me/{BOT}?start=pass_ZZZZZZZZ")
    await page.wait_for_function(
        "() => document.querySelectorAll('#log li[data-answer=unknown],"
        " #log li[data-answer=malformed]').length == 1"
    )
    assert "✅" in await page.text_content("#log li[data-answer=checked_in]")
    haptics = await page.evaluate("window.__standin.haptics")
    assert {"notification:success", "notification:warning", "notification:error"} <= set(haptics)
    assert await page.text_content('[data-count="checked_in"]') == "2"
    assert await checked_in(site.app, session_id) == 2
    cloud = await page.evaluate("window.__standin.cloud")
    assert cloud["door_session"] == str(session_id), "the chosen session is remembered"

    # The answer to a batch is lost on the way back: the device sends it again, counted once.
    lost = {"done": False}

    async def lose_answer(route) -> None:
        if lost["done"]:
            await route.continue_()
            return
        lost["done"] = True
        await route.fetch()  # the server got it and recorded it
        await route.abort("connectionreset")

    await page.route("**/api/door/sessions/*/scans*", lose_answer)
    await scan(page, links[2])
    await page.wait_for_selector("#log li[data-answer=walk_in] >> nth=1", timeout=20_000)
    assert lost["done"]
    assert await checked_in(site.app, session_id) == 3

    # Undo takes back the last scan; a headcount is added.
    await page.click("#undo")
    await page.wait_for_selector("#log li.undone")
    assert await checked_in(site.app, session_id) == 2
    await page.fill("#people", "12")
    await page.press("#people", "Enter")
    await page.wait_for_function(
        "() => document.querySelector('[data-count=headcount]').textContent == '12'"
    )

    # A typed code works as a scan does.
    code = links[3].rsplit("pass_", 1)[1]
    await page.fill("#code", code[:4] + "-" + code[4:])
    await page.press("#code", "Enter")
    await page.wait_for_function(
        "() => document.querySelectorAll('#log li[data-answer=walk_in]').length == 3"
    )
    assert await checked_in(site.app, session_id) == 3


async def test_scans_wait_when_the_init_data_has_expired(site: Site, chromium: Browser) -> None:
    """A shift longer than WEB_APP_MAX_AGE: the server says 401; the scans stay on the phone
    and go once the Door is signed again."""
    made = await session_now(site.app, title="Long shift")
    links = await residents_with_passes(site.app, 1)
    page = await chromium.page()
    await open_door(page, site, "Long shift")

    async def expired(route) -> None:
        await route.fulfill(
            status=401, json={"error": "unauthorized", "message": "Open this page from the bot"}
        )

    await page.route("**/api/door/sessions/*/scans*", expired)
    await scan(page, links[0])
    await page.wait_for_selector("#queue:not([hidden])")
    assert "Open the Door again" in await page.text_content("#queue")
    assert await answers(page) == ["pending"]
    assert (
        await page.evaluate("JSON.parse(localStorage.getItem('learncity.door.queue')).length") == 1
    )
    await page.unroute("**/api/door/sessions/*/scans*", expired)
    await page.wait_for_selector("#log li[data-answer=walk_in]", timeout=20_000)
    await page.wait_for_selector("#queue", state="hidden")
    assert await checked_in(site.app, made.session_ids[0]) == 1


async def test_an_old_telegram_without_the_scanner_types_codes(
    site: Site, chromium: Browser
) -> None:
    await session_now(site.app, title="Old phone")
    page = await chromium.page()
    address = mini_app_url(site.url, "/app/door?lang=en", init_data(ADMIN), version="6.1")
    await opened(page, address, ready="data-door")
    await page.click("#today button:has-text('Old phone')")
    await page.click("#scan")
    assert "type the codes" in await page.text_content("#status")
    assert await page.evaluate("document.activeElement.id") == "code"
    calls = await page.evaluate("window.__standin.calls.map(c => c.name)")
    assert "showScanQrPopup" not in calls


async def test_a_resident_cannot_open_the_door(site: Site, chromium: Browser) -> None:
    page = await chromium.page()
    await page.goto(mini_app_url(site.url, "/app/door?lang=en", init_data(RESIDENT)))
    await page.wait_for_selector("#door-refused:not([hidden])")
    assert chromium.traffic.statuses("/api/door/sessions") == [403]
    assert await page.locator("#desk").is_hidden()


# -- accessibility and screenshots


async def axe_problems(page) -> list[str]:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {[n['target'] for n in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


async def test_every_page_is_accessible_in_both_languages_and_themes(
    site: Site, chromium: Browser
) -> None:
    now_made = await session_now(site.app, title="Robot workshop")
    later = await make_offer(site.app, [utc_now() + timedelta(days=2)], capacity=8)
    await resident_with_a_plan(site.app, later)
    async with site.app.session_maker() as session:
        demo_session = await session.scalar(
            select(OfferSession.id)
            .where(OfferSession.starts_at > utc_now())
            .order_by(OfferSession.starts_at)
        )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = [
        ("programme", "/app/programme", RESIDENT, "data-ready"),
        ("card", f"/app/sessions/{demo_session}", RESIDENT, "data-ready"),
        ("plan", "/app/plan", RESIDENT, "data-ready"),
        ("door", "/app/door", ADMIN, "data-door"),
        ("public-programme", "/programme", None, None),
        ("public-card", f"/programme/sessions/{demo_session}", None, None),
    ]
    problems = {}
    for theme in ("light", "dark"):
        page = await chromium.page(color_scheme=theme)
        for locale in ("en", "ru"):
            for name, path, user, ready in pages:
                address = f"{path}?lang={locale}"
                if user is None:
                    await page.goto(site.url + address)
                else:
                    await opened(
                        page, mini_app_url(site.url, address, init_data(user), theme), ready
                    )
                if name == "door":
                    await page.click("#today button:has-text('Robot workshop')")
                    await page.click("#scan")
                    await scan(page, "K7QM-4XPD")
                    await page.wait_for_selector("#log li:not([data-answer=pending])")
                found = await axe_problems(page)
                if found:
                    problems[f"{name} {locale} {theme}"] = found
                await page.screenshot(
                    path=SCREENSHOTS / f"{name}-{locale}-{theme}.png", full_page=True
                )
    assert now_made.session_ids
    assert not problems, problems


async def test_keyboard_reaches_every_control(site: Site, chromium: Browser) -> None:
    page = await chromium.page()
    await opened(page, mini_app_url(site.url, "/app/programme?lang=en", init_data(RESIDENT)))
    reached = set()
    for _press in range(40):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.tagName") == "SUMMARY":
            await page.keyboard.press("Enter")  # unfold the filters
        reached.add(
            await page.evaluate(
                "document.activeElement.id || document.activeElement.textContent.trim()"
            )
        )
    for control in [
        "q",
        "scope",
        "free",
        "step_free",
        "age",
        "format",
        "district",
        "language",
        "Show",
    ]:
        assert control in reached, (control, reached)
    unlabelled = await page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, button')]
            .filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')
                         && !c.textContent.trim()).map(c => c.outerHTML)"""
    )
    assert unlabelled == []


# -- end to end: the real bot process serves the Mini App


@pytest.fixture(params=["polling", "webhook"])
async def bot_process(request, tmp_path) -> AsyncIterator[tuple[str, str]]:
    """`python -m bot run` (long polling, or `--webhook`) against the local Bot API, serving
    the Mini App on a free port."""
    import asyncio
    import os
    import sys

    from tests.fake_bot_api import FakeBotApi

    bot_api = FakeBotApi()
    await bot_api.start()
    port = free_port()
    database = f"sqlite+aiosqlite:///{tmp_path / 'e2e.sqlite3'}"
    environment = os.environ | {
        "BOT_TOKEN": TOKEN,
        "BOT_API_URL": bot_api.url,
        "DATABASE_URL": database,
        "CITY_TIMEZONE": "Asia/Yekaterinburg",
        "DEFAULT_LOCALE": "en",
        "ADMIN_IDS": str(ADMIN),
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(port),
    }
    arguments = ["run"]
    if request.param == "webhook":
        from tests.test_end_to_end import webhook_environment

        environment |= webhook_environment(free_port())
        arguments.append("--webhook")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *arguments, env=environment, stderr=asyncio.subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if request.param == "webhook":
            await bot_api.wait_until(lambda: bot_api.webhook_url is not None, timeout=120)
        else:
            await bot_api.wait_until(lambda: bot_api.polls > 0, timeout=120)
        async with ClientSession() as client:
            for _attempt in range(600):
                try:
                    async with client.get(f"{url}/programme") as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                await asyncio.sleep(0.1)
        yield url, database
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 15)
        await bot_api.stop()
    stderr = (await process.stderr.read()).decode() if process.stderr else ""
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr


@pytest.mark.e2e
async def test_door_end_to_end_with_the_bot_running(bot_process, chromium: Browser) -> None:
    """A volunteer scans 20 passes, 5 of them offline; the counts match the database, with no
    double counts; undo works; forged initData gets 401 and a resident at the Door's API 403."""
    from types import SimpleNamespace

    from catalogue.database import create_engine
    from catalogue.database import create_session_maker

    url, database = bot_process
    engine = create_engine(database)
    world = SimpleNamespace(session_maker=create_session_maker(engine))
    try:
        made = await session_now(world, title="Door end to end")  # type: ignore[arg-type]
        session_id = made.session_ids[0]
        links = await residents_with_passes(world, 20, seat_at=session_id)  # type: ignore[arg-type]
        page = await chromium.page()
        site = Site(url, world)  # type: ignore[arg-type]
        await open_door(page, site, "Door end to end")
        for link in links[:15]:
            await scan(page, link)
        await page.wait_for_function(
            "() => document.querySelectorAll('#log li:not([data-answer=pending])').length == 15"
        )
        await page.context.set_offline(True)
        for link in links[15:]:
            await scan(page, link)
        await page.wait_for_selector("#queue:not([hidden])")
        assert (await answers(page)).count("pending") == 5
        stored = await page.evaluate(
            "JSON.parse(localStorage.getItem('learncity.door.queue')).length"
        )
        assert stored == 5, "the offline scans wait in the device's storage"
        assert await checked_in(world, session_id) == 15  # type: ignore[arg-type]
        await page.context.set_offline(False)
        await page.wait_for_function(
            "() => !document.querySelector('#log li[data-answer=pending]')", timeout=30_000
        )
        await page.wait_for_selector("#queue", state="hidden")
        assert sorted(set(await answers(page))) == ["checked_in", "walk_in"]
        assert await checked_in(world, session_id) == 20  # type: ignore[arg-type]
        async with world.session_maker() as session:
            entries = await session.scalar(
                select(func.count())
                .select_from(AttendanceEntry)
                .where(AttendanceEntry.session_id == session_id)
            )
        assert entries == 20, "one entry per scan, none twice"
        assert await page.text_content('[data-count="checked_in"]') == "20"

        await page.click("#undo")
        await page.wait_for_selector("#log li.undone")
        assert await checked_in(world, session_id) == 19  # type: ignore[arg-type]
        assert await page.text_content('[data-count="checked_in"]') == "19"

        # A forged initData gets 401; a resident at the Door's API gets 403.
        forged = await chromium.page()
        await opened(
            forged, mini_app_url(url, "/app/?lang=en", init_data(RESIDENT).replace("Anna", "Admin"))
        )
        assert await forged.locator("#outside").is_visible()
        resident = await chromium.page()
        await resident.goto(mini_app_url(url, "/app/door?lang=en", init_data(RESIDENT)))
        await resident.wait_for_selector("#door-refused:not([hidden])")
        assert chromium.traffic.statuses("/api/me").count(401) == 1
        assert chromium.traffic.statuses("/api/door/sessions") == [200, 403]
        assert await checked_in(world, session_id) == 19  # type: ignore[arg-type]
    finally:
        await engine.dispose()
