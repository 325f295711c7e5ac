"""A resident's journey through the real dispatcher, on SQLite and PostgreSQL.

Each test reads as what a person does; it checks what the bot showed (the Bot API calls at the
aiogram session boundary) and what the database holds afterwards.
"""

from __future__ import annotations

import pytest
from aiogram.dispatcher.event.bases import UNHANDLED
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import text

from bot.command_menus import resident_commands
from catalogue.models import Offer
from catalogue.models import Resident
from catalogue.models import Track
from tests.resident_chat import ResidentChat


async def stored_resident(session_maker, user_id: int) -> Resident:
    async with session_maker() as session:
        return await session.scalar(select(Resident).where(Resident.telegram_id == user_id))


async def test_start_to_offer_card_in_four_presses(resident: ResidentChat, session_maker) -> None:
    screen = await resident.send("/start")
    assert "Choose your language" in screen.text
    assert any("English" in label for label in resident.labels())

    screen = await resident.press("English")
    assert "Who are you?" in screen.text
    assert any("Seniors" in label for label in resident.labels())

    screen = await resident.press("Seniors")
    assert "learning track" in screen.text
    screen = await resident.press(resident.labels()[0].split(" (")[0])
    assert "Upcoming:" in screen.text

    screen = await resident.press("1.")
    assert "Next sessions:" in screen.text
    assert "Provider:" in screen.text
    assert "Price:" in screen.text
    assert "For whom:" in screen.text
    assert resident.last_result is not UNHANDLED

    # One message was edited all the way through: /start sent it, the presses edited it.
    assert len(resident.calls("sendMessage")) == 1
    assert len(resident.calls("editMessageText")) == 4
    assert len(resident.calls("answerCallbackQuery")) == 4

    stored = await stored_resident(session_maker, resident.user.id)
    assert stored.language == "en"
    assert stored.language_chosen
    assert stored.category_id is not None
    assert stored.track_id is not None


async def test_back_leads_up_every_step(resident: ResidentChat) -> None:
    await resident.send("/start")
    await resident.press("English")
    await resident.press("Teachers")
    await resident.press(resident.labels()[0].split(" (")[0])
    await resident.press("1.")
    assert "Next sessions:" in resident.screen.text
    assert "Upcoming:" in (await resident.press("Back")).text
    assert "Choose your personal learning track" in (await resident.press("Back")).text
    assert "Who are you?" in (await resident.press("Back")).text
    assert "Learning City" in (await resident.press("Back")).text


async def test_russian_interface_is_offered_from_telegram_language(app, user_id: int) -> None:
    resident = ResidentChat(app, user_id=user_id, language_code="ru-RU")
    screen = await resident.send("/start")
    assert "Выберите язык" in screen.text
    assert any(label.startswith("✅ 🇷🇺") for label in resident.labels())
    screen = await resident.press("Русский")
    assert "Кто вы?" in screen.text
    screen = await resident.press("Старшее")
    assert "образовательный трек" in screen.text
    await resident.close()


async def test_returning_resident_sees_their_track_in_the_menu(resident: ResidentChat) -> None:
    await resident.send("/start")
    await resident.press("English")
    await resident.press("Entrepreneurs")
    track_label = resident.labels()[0].split(" (")[0]
    await resident.press(track_label)

    screen = await resident.send("/start")
    assert "Your learning track" in screen.text
    assert track_label.removeprefix("✅ ") in screen.text
    screen = await resident.press("My track")
    assert "Upcoming:" in screen.text


async def test_offer_list_pages_with_counts(resident: ResidentChat) -> None:
    await resident.send("/start")
    await resident.press("English")
    await resident.press("Every adult")
    # The track with the most upcoming offers spans pages.
    counts = {
        label: int(label.rsplit("(", 1)[1].rstrip(")"))
        for label in resident.labels()
        if "(" in label
    }
    busiest = max(counts, key=counts.get)
    screen = await resident.press(busiest)
    if counts[busiest] <= 5:
        assert f"of {counts[busiest]}" in screen.text
        return
    assert f"1–5 of {counts[busiest]}" in screen.text
    screen = await resident.press("›")
    assert "Upcoming: 6–" in screen.text
    await resident.press(" / ")
    assert (
        resident.calls("answerCallbackQuery")[-1].params["text"] == "Use ‹ and › to turn the pages."
    )
    assert "Upcoming: 6–" in resident.screen.text
    screen = await resident.press("‹")
    assert "Upcoming: 1–5" in screen.text


async def test_deep_link_opens_an_offer_card(resident: ResidentChat, session_maker) -> None:
    async with session_maker() as session:
        offer = await session.scalar(select(Offer).order_by(Offer.id).limit(1))
    screen = await resident.send(f"/start offer_{offer.id}")
    assert offer.title["en"] in screen.text
    screen = await resident.send(f"/start offer_{offer.external_id}")
    assert offer.title["en"] in screen.text
    screen = await resident.send("/start offer_999999")
    assert "no longer in the programme" in screen.text


async def test_stale_buttons_explain_themselves(resident: ResidentChat, session_maker) -> None:
    await resident.send("/start")
    await resident.press("English")
    await resident.press("Seniors")
    await resident.press(resident.labels()[0].split(" (")[0])
    offer_button = next(b for b in resident.screen.buttons() if b["text"].startswith("1."))
    offer_id = int(offer_button["callback_data"].split(":")[1])
    async with session_maker.begin() as session:
        await session.execute(delete(Offer).where(Offer.id == offer_id))

    screen = await resident.press("1.")
    assert "no longer in the programme" in screen.text
    alerts = [c for c in resident.calls("answerCallbackQuery") if c.params.get("text")]
    assert "removed" in alerts[-1].params["text"]

    # A track deleted under the resident's feet.
    async with session_maker.begin() as session:
        track_id = (await session.scalars(select(Track.id))).first()
    await resident.press_data(f"trk:{track_id}:0")
    async with session_maker.begin() as session:
        await session.execute(delete(Track).where(Track.id == track_id))
    screen = await resident.press_data(f"trk:{track_id}:0")
    assert "Who are you?" in screen.text


async def test_forged_and_unknown_callback_data(resident: ResidentChat) -> None:
    await resident.send("/start")
    for forged in [
        "off:abc",
        "trk:-1:0",
        "cat:999999",
        "lang:xx",
        "nav:nowhere",
        "garbage",
        "off:1:2:3:4:5",
    ]:
        screen = await resident.press_data(forged)
        assert screen.text, forged
    assert resident.last_result is not UNHANDLED


async def test_unexpected_input_gets_a_hint(resident: ResidentChat) -> None:
    screen = await resident.send("/frobnicate")
    assert "I don't know the command /frobnicate" in screen.text
    screen = await resident.send("🎨🎭🎪")  # free text is a search; emoji alone gets advice
    assert "Type what you would like to learn" in screen.text
    assert "🏠 Menu" in resident.labels()
    screen = await resident.send("x" * 4096)
    assert len(screen.text) < 4096
    screen = await resident.send("/" + "y" * 4000)
    assert len(screen.text) < 200


async def test_help_menu_cancel_language_tracks_commands(resident: ResidentChat) -> None:
    await resident.send("/start")
    await resident.press("English")
    help_text = (await resident.send("/help")).text
    assert "/tracks" in help_text
    # /help says what the menu beside the input field says, command for command.
    menu = resident_commands(resident.app.i18n, "en")
    assert [line for line in help_text.splitlines() if line.startswith("/")] == [
        f"/{command.command} — {command.description}" for command in menu
    ]
    assert "Learning City" in (await resident.send("/menu")).text
    await resident.send("/cancel")
    assert any(c.params["text"] == "Nothing to cancel." for c in resident.calls("sendMessage"))
    assert "Choose your language" in (await resident.send("/language")).text
    assert "Кто вы?" in (await resident.press("Русский")).text
    assert "Кто вы?" in (await resident.send("/tracks")).text


async def test_a_message_too_old_to_edit_is_replaced_by_a_new_one(resident: ResidentChat) -> None:
    await resident.send("/start")
    old_screen = resident.screen
    # Telegram forgets nothing, but a days-old or deleted message can no longer be edited.
    del resident.telegram.messages[(resident.user.id, old_screen.message_id)]
    await resident._press(old_screen, "lang:en")
    assert len(resident.calls("sendMessage")) == 2
    assert "Who are you?" in resident.screen.text


@pytest.mark.handler_errors_expected
async def test_a_failure_on_our_side_gets_an_apology_in_the_residents_language(
    app,
    user_id: int,
    session_maker,
) -> None:
    resident = ResidentChat(app, user_id=user_id, language_code="ru")
    await resident.send("/start")
    await resident.press("Русский")
    async with session_maker.begin() as session:
        # The database loses a table under the running bot.
        await session.execute(text("DROP TABLE track_step"))
    await resident.press("Старшее")
    assert "Извините, у нас что-то пошло не так" in resident.screen.text
    assert resident.calls("answerCallbackQuery"), "the spinner on the button stops"
    await resident.close()
