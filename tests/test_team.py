"""The festival team: invitations by deep link, /team, removal, per-person command menus."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from bot.settings import load_settings
from catalogue.models import utc_now
from catalogue.team import InviteProblem
from catalogue.team import Role
from catalogue.team import TeamError
from catalogue.team import TeamInvite
from catalogue.team import TeamMember
from catalogue.team import create_invite
from catalogue.team import redeem_invite
from catalogue.team import role_of
from tests.resident_chat import ResidentChat

ADMIN = 900_001
LINK = re.compile(r"https://t\.me/learncity_bot\?start=(inv_[A-Za-z0-9_-]+)")


@pytest.fixture
def settings(database_url: str):
    return load_settings(
        database_url=database_url,
        bot_token=None,
        default_locale="en",
        admin_ids=str(ADMIN),
        flood_limit=0,  # a test presses faster than any person
        _env_file=None,
    )


@pytest.fixture
async def admin(app):
    chat = ResidentChat(app, user_id=ADMIN, language_code="en")
    await chat.send("/start")
    await chat.press("English")
    yield chat
    await chat.close()


async def invite_link(admin: ResidentChat, button: str) -> str:
    await admin.send("/team")
    screen = await admin.press(button)
    found = LINK.search(screen.text)
    assert found, screen.text
    return found.group(1)


async def stored_member(session_maker, telegram_id: int) -> TeamMember | None:
    async with session_maker() as session:
        return await session.get(TeamMember, telegram_id)


async def test_admin_invites_an_organiser_who_joins_with_the_link(
    admin: ResidentChat, resident: ResidentChat, app, session_maker, user_id: int
) -> None:
    payload = await invite_link(admin, "Invite an organiser")
    assert "works once" in admin.screen.text

    screen = await resident.send(f"/start {payload}")
    assert "Welcome to the festival team! Your role: organiser." in screen.text
    member = await stored_member(session_maker, user_id)
    assert member is not None
    assert member.role is Role.ORGANISER
    assert member.invited_by == ADMIN

    # The organiser's own menu: their commands and the residents' ones, for them alone.
    menu = resident.calls("setMyCommands")[-1].params
    assert menu["scope"] == {"type": "chat", "chat_id": user_id}
    commands = [command["command"] for command in menu["commands"]]
    assert {"programme", "import", "broadcast", "menu"} <= set(commands)
    assert "team" not in commands

    # The link worked once.
    latecomer = ResidentChat(app, user_id=user_id + 50_000)
    screen = await latecomer.send(f"/start {payload}")
    assert "already been used" in screen.text
    assert await stored_member(session_maker, latecomer.user.id) is None
    await latecomer.close()

    screen = await admin.send("/team")
    assert "Resident</a> — organiser" in screen.text
    assert "Open invitations" not in screen.text


async def test_a_volunteer_gets_the_volunteer_role_and_no_organiser_commands(
    admin: ResidentChat, resident: ResidentChat, session_maker, user_id: int
) -> None:
    payload = await invite_link(admin, "Invite a volunteer")
    screen = await resident.send(f"/start {payload}")
    assert "Your role: volunteer." in screen.text
    assert (await stored_member(session_maker, user_id)).role is Role.VOLUNTEER
    commands = [c["command"] for c in resident.calls("setMyCommands")[-1].params["commands"]]
    assert "broadcast" not in commands
    assert "programme" not in commands


async def test_revoked_expired_and_made_up_links_explain_themselves(
    admin: ResidentChat, resident: ResidentChat, session_maker, user_id: int
) -> None:
    payload = await invite_link(admin, "Invite an organiser")
    assert "Open invitations" in (await admin.send("/team")).text
    screen = await admin.press("Revoke")
    assert "Open invitations" not in screen.text
    alert = admin.calls("answerCallbackQuery")[-1].params["text"]
    assert "no longer works" in alert

    assert "was withdrawn" in (await resident.send(f"/start {payload}")).text
    assert "not valid" in (await resident.send("/start inv_made-up-token")).text
    assert "not valid" in (await resident.send("/start inv_" + "x" * 58)).text
    assert await stored_member(session_maker, user_id) is None

    async with session_maker.begin() as session:
        old = await create_invite(
            session, Role.ORGANISER, ADMIN, timedelta(hours=1), now=utc_now() - timedelta(hours=2)
        )
    screen = await resident.send(f"/start {old.payload}")
    assert "has expired" in screen.text
    assert await stored_member(session_maker, user_id) is None


async def test_an_admin_opening_an_invitation_does_not_spend_it(
    admin: ResidentChat, session_maker
) -> None:
    payload = await invite_link(admin, "Invite an organiser")
    assert "administrator already" in (await admin.send(f"/start {payload}")).text
    async with session_maker() as session:
        invite = await session.scalar(select(TeamInvite))
    assert invite.used_at is None


async def test_admin_removes_a_member_who_loses_the_role_and_the_menu(
    admin: ResidentChat, resident: ResidentChat, session_maker, user_id: int
) -> None:
    await resident.send(f"/start {await invite_link(admin, 'Invite an organiser')}")
    await admin.send("/team")
    screen = await admin.press("Remove Resident")
    assert "Their role ends at once" in screen.text
    screen = await admin.press("Yes, remove")
    assert "No organisers or volunteers yet" in screen.text
    assert await stored_member(session_maker, user_id) is None

    deleted = admin.calls("deleteMyCommands")[-1].params
    assert deleted["scope"] == {"type": "chat", "chat_id": user_id}
    told = [c for c in admin.calls("sendMessage") if int(c.params["chat_id"]) == user_id]
    assert "has ended" in told[-1].params["text"]

    screen = await resident.send("/programme")
    assert "only for the festival team" in screen.text


async def test_one_link_raced_by_two_people_makes_one_member(session_maker) -> None:
    async with session_maker.begin() as session:
        created = await create_invite(session, Role.ORGANISER, ADMIN, timedelta(hours=1))
    async with session_maker.begin() as session:
        await redeem_invite(session, created.token, 1001, "First")
    with pytest.raises(TeamError) as raised:
        async with session_maker.begin() as session:
            await redeem_invite(session, created.token, 1002, "Second")
    assert raised.value.problem is InviteProblem.USED
    async with session_maker() as session:
        assert await role_of(session, 1001, {ADMIN}) is Role.ORGANISER
        assert await role_of(session, 1002, {ADMIN}) is Role.RESIDENT
        assert await role_of(session, ADMIN, {ADMIN}) is Role.ADMIN
        # Only the hash of the token is kept.
        stored = await session.scalar(select(TeamInvite))
        assert created.token not in stored.token_hash


# -- a big team (issue 14, item 10) and forgetting (item 12)


async def test_a_team_of_150_is_listed_page_by_page_and_everyone_can_be_removed(
    admin: ResidentChat, session_maker
) -> None:
    async with session_maker.begin() as session:
        for n in range(150):
            session.add(
                TeamMember(
                    telegram_id=800_000 + n,
                    role=Role.VOLUNTEER if n % 3 else Role.ORGANISER,
                    display_name=f"Member number {n:03d} with a long name " + "x" * 60,
                    joined_at=utc_now() - timedelta(minutes=n),
                )
            )
        for _ in range(60):
            await create_invite(session, Role.VOLUNTEER, ADMIN, timedelta(hours=1))
    screen = await admin.send("/team")
    seen: set[str] = set()
    pages = 0
    while True:
        pages += 1
        assert len(screen.text) < 4096
        assert len(screen.buttons()) <= 20
        assert "Members: 150 · open invitations: 60" in screen.text
        seen |= set(re.findall(r"Member number (\d{3})", screen.text))
        if "›" not in admin.labels():
            break
        screen = await admin.press("›")
    assert pages == 21
    assert len(seen) == 150, "every member on some page"
    assert "Open invitations" in screen.text

    # From a later page, removing someone brings the administrator back to that page.
    screen = await admin.press_data("tml:5")
    assert "6 / 21" in " ".join(admin.labels())
    victim = re.findall(r"Remove (Member number \d{3})", " ".join(admin.labels()))[0]
    await admin.press(f"Remove {victim}")
    screen = await admin.press("Yes, remove")
    assert victim not in screen.text
    assert "6 / 21" in " ".join(admin.labels()), "still on the page it was pressed on"
    await admin.press_data("tml:20")
    async with session_maker() as session:
        assert (await session.scalar(select(func.count()).select_from(TeamMember))) == 149

    # And the last page's invitations can be withdrawn.
    await admin.press("Revoke")
    assert "no longer works" in admin.calls("answerCallbackQuery")[-1].params["text"]


async def test_a_forged_page_or_id_is_out_of_date_not_an_error(admin: ResidentChat) -> None:
    await admin.send("/team")
    for data in ["tml:99999999999", "tmd:0:99999999999999999999:1", "tmd:0:-5:0", "tml:-3"]:
        await admin.press_data(data)
        answer = admin.calls("answerCallbackQuery")[-1].params.get("text", "")
        assert "out of date" in answer or "no longer in the team" in answer, (data, answer)


async def test_forget_me_takes_the_id_out_of_the_invitation_used(
    admin: ResidentChat, resident: ResidentChat, session_maker, user_id: int
) -> None:
    await resident.send(f"/start {await invite_link(admin, 'Invite a volunteer')}")
    async with session_maker() as session:
        assert (await session.scalar(select(TeamInvite))).used_by == user_id
    await resident.send("/forget_me")
    await resident.press("Yes, delete everything")
    async with session_maker() as session:
        invite = await session.scalar(select(TeamInvite))
        assert invite.used_by is None
        assert invite.used_at is not None, "the invitation stays used, as the city's record"
        assert await session.get(TeamMember, user_id) is None
