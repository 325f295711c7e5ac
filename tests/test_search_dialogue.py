"""Searching from the chat: typed text, typos and the other script, filters, near me, inline."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.resident_chat import ResidentChat

# The demo's venues are in Sysert; this point is by the town centre.
SYSERT_CENTRE = (56.5003, 60.8194)


async def start_in_english(resident: ResidentChat) -> None:
    await resident.send("/start")
    await resident.press("English")


async def test_transliterated_misspelling_finds_ceramics_and_leads_to_the_card(
    resident: ResidentChat,
) -> None:
    await start_in_english(resident)
    screen = await resident.send("Keramika")
    assert "«Keramika»: 1–" in screen.text
    assert any("eramic" in label or "ерамик" in label for label in resident.labels())

    screen = await resident.press("1.")
    assert "Next sessions:" in screen.text
    screen = await resident.press("Back")
    assert "«Keramika»" in screen.text, "Back returns to the results"


async def test_russian_query_with_a_typo(resident: ResidentChat) -> None:
    await start_in_english(resident)
    await resident.send("экскурсавод")
    assert resident.labels()[0].startswith("1. ")
    card = await resident.press("1.")
    assert "Next sessions:" in card.text or "No upcoming sessions." in card.text


async def test_nothing_found_suggests_spellings_and_stays_friendly(resident: ResidentChat) -> None:
    await start_in_english(resident)
    screen = await resident.send("zqxjv robotiks")
    assert "«zqxjv robotiks»" in screen.text
    screen = await resident.send("blorptang")
    assert "Nothing found for «blorptang»" in screen.text


async def test_filters_narrow_and_relax(resident: ResidentChat) -> None:
    await start_in_english(resident)
    everything = await resident.send("english")
    total = int(everything.text.split(" of ")[1].split()[0])
    screen = await resident.press("Free")
    assert any(label.startswith("✅ 🆓") for label in resident.labels())
    if "Nothing found" not in screen.text:
        assert int(screen.text.split(" of ")[1].split()[0]) <= total
    await resident.press("Free")
    assert not any(label.startswith("✅") for label in resident.labels())


async def test_near_me_orders_by_distance(resident: ResidentChat) -> None:
    await start_in_english(resident)
    await resident.send("lecture")
    await resident.press("Near me")
    keyboard = resident.calls("sendMessage")[-1].params["reply_markup"]
    assert keyboard["keyboard"][0][0]["request_location"] is True
    await resident.send_location(*SYSERT_CENTRE)
    distances = [
        float(label.split(" · ")[-1].removesuffix(" km"))
        for label in resident.labels()
        if label.endswith(" km")
    ]
    assert distances, resident.labels()
    assert distances == sorted(distances)


async def test_bad_input_gets_an_answer(resident: ResidentChat) -> None:
    await start_in_english(resident)
    for text in ["🎨🎭", "?!.,;", "a", "x" * 4096, "'; DROP TABLE offer; --", ".*[(+"]:
        screen = await resident.send(text)
        assert screen.text
        assert len(screen.text) <= 4096
    assert "Type what you would like to learn" in (await resident.send("🎨🎭")).text


async def test_buttons_of_an_expired_search_explain_themselves(resident: ResidentChat) -> None:
    await start_in_english(resident)
    await resident.send("yoga")
    await resident.send("/cancel")  # clears what the bot remembered of the search
    screen = await resident.press_data("sp:1")
    assert "This search has expired" in screen.text


async def test_inline_mode_shares_offer_cards(resident: ResidentChat) -> None:
    results = await resident.inline_query("robotics")
    assert results
    first = results[0]
    assert first["type"] == "article"
    assert "Next sessions:" in first["input_message_content"]["message_text"]
    assert "?start=offer_" in first["reply_markup"]["inline_keyboard"][0][0]["url"]
    assert await resident.inline_query("") is not None


def test_command_line_search(tmp_path) -> None:
    environment = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'search.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "catalogue", "search", "keramika", "--limit", "3", "--json"],
        capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["correction"] is None
    assert 1 <= len(answer["results"]) <= 3
    assert {"id", "title", "score"} <= answer["results"][0].keys()


# ---------------------------------------------------------------- what was searched, said so


async def test_the_wrong_layout_shows_the_offer_first_and_says_what_was_searched(
    resident: ResidentChat,
) -> None:
    await start_in_english(resident)
    screen = await resident.send("hj,jnjnt[ybrf")
    assert "Showing results for «робототехника»" in screen.text
    assert resident.labels()[0].startswith("🔤 Search «hj,jnjnt[ybrf» instead")
    assert resident.labels()[1].startswith("1. ")
    assert "Robotics" in resident.labels()[1]
    # The words as typed, on request: nothing matches them as they are.
    screen = await resident.press("Search «hj,jnjnt[ybrf» instead")
    assert "Showing results for" not in screen.text


async def test_a_synonym_finds_the_offer_that_words_it_otherwise(resident: ResidentChat) -> None:
    await start_in_english(resident)
    await resident.send("экотропа")
    assert "Healthy reboot" in resident.labels()[0]


async def test_a_misspelling_that_finds_nothing_is_corrected_at_once(
    resident: ResidentChat,
) -> None:
    await start_in_english(resident)
    screen = await resident.send("фестевыль")
    assert "Showing results for «фестиваль»" in screen.text
    titles = [label for label in resident.labels() if label.startswith("1. ")]
    assert "Festival" in titles[0]
    await resident.press("Search «фестевыль» instead")
    assert "Nothing found for «фестевыль»" in resident.screen.text


async def test_nothing_found_still_shows_the_nearest_offers_then_the_advice(
    resident: ResidentChat,
) -> None:
    await start_in_english(resident)
    screen = await resident.send("qqqzzz xyxyxy")
    assert "Nothing found for «qqqzzz xyxyxy»" in screen.text
    assert "The nearest offers:" in screen.text
    assert any(label.startswith("1. ") for label in resident.labels())


async def test_hello_from_an_english_speaker_is_not_offered_russian_words(
    resident: ResidentChat,
) -> None:
    await start_in_english(resident)
    screen = await resident.send("hellou")
    assert "дело" not in screen.text
    assert not any("дело" in label for label in resident.labels())


async def test_inline_mode_says_what_was_searched(resident: ResidentChat) -> None:
    results = await resident.inline_query("hj,jnjnt[ybrf")
    assert results
    assert "Robotics" in results[0]["title"] or "Робототехника" in results[0]["title"]
    button = resident.calls("answerInlineQuery")[-1].params["button"]
    button = json.loads(button) if isinstance(button, str) else button
    assert "«робототехника»" in button["text"]
