"""Hostile text and numbers from outside: one text policy for what enters the catalogue, cards
cut on text boundaries, and ids from deep links, buttons and typed references bounded before
they reach the database."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from bot.screens.view import MESSAGE_LIMIT
from bot.screens.view import fit_message
from bot.screens.view import rendered_length
from catalogue.exchange.importer import import_file
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import OfferKind
from catalogue.models import Provider
from catalogue.team import Role
from catalogue.team import TeamMember
from catalogue.text_policy import bounded_id
from catalogue.text_policy import one_line
from catalogue.text_policy import spreadsheet_safe
from catalogue.text_policy import strip_controls
from tests.resident_chat import ResidentChat
from tests.test_hardening_imports import DATA


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"load_demo": False})


@pytest.fixture
async def catalogue(app, session_maker) -> None:
    async with session_maker.begin() as session:
        await import_file(session, DATA / "small_catalogue.json")


class Tags(HTMLParser):
    """The tags of Telegram's HTML, checked as Telegram checks them: each closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.broken = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.broken = True


def well_formed(html: str) -> bool:
    tags = Tags()
    tags.feed(html)
    tags.close()
    return not tags.broken and not tags.open and "<" not in tags.rawdata[tags.getpos()[1] :]


# ---------------------------------------------------------------- long content


async def test_an_offer_with_a_huge_title_opens_cut_on_a_text_boundary(
    app, catalogue, session_maker, resident: ResidentChat
) -> None:
    # Written before the limits existed (or by hand in the database): 4,200 characters.
    async with session_maker.begin() as session:
        provider = await session.scalar(select(Provider))
        offer = Offer(
            external_id="huge-title",
            title={"en": "Ceramics & glass " * 247},
            description={"en": "&" * 1000},
            kind=OfferKind.WORKSHOP,
            format=OfferFormat.IN_PERSON,
            language="en",
            provider_id=provider.id,
        )
        session.add(offer)
    card = await resident.send("/start offer_huge-title")
    assert card.text.startswith("<b>Ceramics &amp; glass")
    assert well_formed(card.text), card.text[-200:]
    assert rendered_length(card.text) <= MESSAGE_LIMIT
    assert "…" in card.text


def test_telegram_limits_are_measured_on_the_rendered_text() -> None:
    ampersands = "&amp;" * 2000  # 10,000 characters of HTML, 2,000 that a resident sees
    assert rendered_length(ampersands) == 2000
    assert fit_message(ampersands) == ampersands
    long = "<b>Title</b>\n<i>" + "word " * 2000 + "</i> &amp; more"
    cut = fit_message(long, 100)
    assert rendered_length(cut) <= 100
    assert well_formed(cut)
    assert cut.endswith("word…</i>")  # at a space, never inside a word, tag or entity
    assert fit_message("&lt;" * 50, 10) == "&lt;" * 9 + "…"
    assert rendered_length("🎓") == 2  # Telegram counts UTF-16 code units


def test_the_text_policy() -> None:
    assert strip_controls("a\x00b\x1bc\x7f\x85d\ud800\tline\nnext") == "abcd\tline\nnext"
    assert one_line("  Night\x00\n walk \t ") == "Night walk"
    for formula in ("=1+1", '=HYPERLINK("http://x","click")', "+7", "-2+3", "@SUM(A1)"):
        assert spreadsheet_safe(formula) == "'" + formula
    assert spreadsheet_safe("\tcell") == "'\tcell"
    assert spreadsheet_safe("\rcell") == "'\rcell"
    assert spreadsheet_safe("Pottery") == "Pottery"
    assert spreadsheet_safe(-5) == "-5"
    assert spreadsheet_safe(None) == ""
    assert [bounded_id(text) for text in ("42", " 7 ", "0", "-3", "²", "٣", "4" * 20)] == [
        42, 7, None, None, None, None, None,
    ]  # fmt: skip
    assert bounded_id(str(2**31 - 1)) == 2**31 - 1
    assert bounded_id(str(2**31)) is None


# ---------------------------------------------------------------- numbers from outside


async def test_a_deep_link_with_a_huge_number_says_the_offer_is_gone(
    app, catalogue, resident: ResidentChat
) -> None:
    for link in ("offer_99999999999999999999", "offer_2147483648", "offer_0"):
        screen = await resident.send(f"/start {link}")
        assert "This offer is no longer in the programme." in screen.text
    screen = await resident.send("/start offer_smartphone-basics")
    assert "Smartphone basics" in screen.text


async def test_an_organisers_search_for_odd_numbers_finds_nothing_calmly(
    app, catalogue, session_maker, user_id: int
) -> None:
    async with session_maker.begin() as session:
        session.add(TeamMember(telegram_id=user_id, role=Role.ORGANISER, display_name="Olga"))
    organiser = ResidentChat(app, user_id=user_id, language_code="en")
    await organiser.send("/start")
    await organiser.press("English")
    for typed in ("²", "99999999999999999999", "2147483648"):
        await organiser.send("/programme")
        screen = await organiser.send(typed)
        assert "Nothing found for" in screen.text, screen.text
    # A typed capacity of '²' is a number to str.isdigit, not to int().
    await organiser.send("/programme")
    await organiser.send("smartphone-basics")
    await organiser.press(organiser.labels()[0])
    await organiser.press("Add a session")
    await organiser.send("2031-06-01 18:30")
    await organiser.press("90 min")
    assert "Where does it take place?" in organiser.screen.text
    # A forged venue button: a number no id column holds matches no handler (no error).
    await organiser.press_data("pgp:99999999999999999999")
    await organiser.press_data("pgp:²")
    await organiser.press("Library hall")
    screen = await organiser.send("²")
    assert "Send the number of places" in screen.text
    await organiser.close()
