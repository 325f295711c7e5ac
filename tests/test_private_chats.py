"""Personal codes only in private chats (issue 14, item 9): `/pass` and the other personal
screens typed in a group get a deep link to the private chat, never the screen itself.

Updates go through the real dispatcher; the group is a supergroup the resident writes in.
"""

from __future__ import annotations

import pytest

from bot.middlewares.private_chats import PERSONAL_COMMANDS
from bot.startup.offline_api import message_update
from tests.resident_chat import ResidentChat

GROUP = -1_001_234_567


def group_update(chat: ResidentChat, text: str) -> dict:
    update = message_update(next(chat.update_ids), chat.user.id, 1, text, "en")
    update["message"]["chat"] = {"id": GROUP, "type": "supergroup", "title": "Neighbours"}
    return update


def said_in_group(chat: ResidentChat) -> list:
    return [
        call
        for call in chat.telegram.calls
        if call.method.startswith("send") and int(call.params.get("chat_id", 0)) == GROUP
    ]


async def test_pass_in_a_group_links_to_the_private_chat(resident: ResidentChat) -> None:
    await resident.send("/start")
    await resident.press("English")
    await resident._feed(group_update(resident, "/pass@learncity_bot"))
    said = said_in_group(resident)
    assert [call.method for call in said] == ["sendMessage"], "no photo, no code in the group"
    text = said[0].params["text"]
    assert "private chat" in text
    markup = said[0].params["reply_markup"]
    url = markup["inline_keyboard"][0][0]["url"]
    assert url == "https://t.me/learncity_bot?start=go_pass"

    # The link opens the private chat, where the pass is shown.
    await resident.send("/start go_pass")
    photos = resident.calls("sendPhoto")
    assert len(photos) == 1
    assert int(photos[0].params["chat_id"]) == resident.user.id
    assert "Your learning pass" in photos[0].params["caption"]


@pytest.mark.parametrize("command", [*sorted(PERSONAL_COMMANDS - {"pass"}), "start pass_ABCD"])
async def test_no_personal_screen_is_posted_to_a_group(
    resident: ResidentChat, command: str
) -> None:
    await resident.send("/start")
    await resident.press("English")
    await resident._feed(group_update(resident, f"/{command}"))
    said = said_in_group(resident)
    assert len(said) == 1
    assert said[0].method == "sendMessage"
    assert "private chat" in said[0].params["text"]


async def test_other_commands_still_work_in_a_group(resident: ResidentChat) -> None:
    await resident._feed(group_update(resident, "/help"))
    said = said_in_group(resident)
    assert said, "help is not personal"
    assert "private chat" not in said[-1].params.get("text", "")
