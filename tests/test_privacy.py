"""/privacy, /export_me and /forget_me: what a resident can learn about and do with their data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select
from sqlmodel import SQLModel

from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import Subscription
from catalogue.models import utc_now
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import OutboxState
from catalogue.privacy import export_json
from catalogue.privacy import export_resident
from catalogue.privacy import forget_resident
from catalogue.privacy import personal_links
from catalogue.team import Role
from catalogue.team import TeamMember
from tests.resident_chat import ResidentChat


async def subscribed_resident(resident: ResidentChat) -> None:
    """A resident who picked a track, asked for a reminder and follows the whole offer."""
    await resident.send("/start")
    await resident.press("English")
    await resident.press("Seniors")
    await resident.press(resident.labels()[0].split(" (")[0])
    await resident.press("1.")
    await resident.press("Remind me")
    await resident.press("All sessions of this offer")


async def count(session_maker, model, *conditions) -> int:
    async with session_maker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*conditions))


async def the_resident(session_maker, telegram_id: int) -> Resident | None:
    async with session_maker() as session:
        return await session.scalar(select(Resident).where(Resident.telegram_id == telegram_id))


async def test_privacy_says_what_is_kept_and_offers_export_and_deletion(
    resident: ResidentChat,
) -> None:
    screen = await resident.send("/privacy")
    assert "What I keep about you" in screen.text
    assert "Telegram id" in screen.text
    assert "I do not keep your username or phone number" in screen.text
    assert any("Export my data" in label for label in resident.labels())
    assert any("Delete my data" in label for label in resident.labels())


async def test_privacy_in_russian(app, user_id: int) -> None:
    resident = ResidentChat(app, user_id=user_id, language_code="ru")
    await resident.send("/start")
    await resident.press("Русский")
    screen = await resident.send("/privacy")
    assert "Что я храню о вас" in screen.text
    await resident.close()


def test_every_table_pointing_at_a_resident_is_covered() -> None:
    import catalogue.tables  # noqa: F401

    pointing = {
        table.name
        for table in SQLModel.metadata.tables.values()
        for key in table.foreign_keys
        if key.column.table.name == "resident" and table.name != "resident"
    }
    assert {"subscription", "seat", "outbox_message"} <= pointing
    assert {table.name for table, _column in personal_links()} == pointing


async def test_export_holds_the_resident_and_everything_that_points_at_them(
    resident: ResidentChat, session_maker
) -> None:
    await subscribed_resident(resident)
    async with session_maker() as session:
        me = await session.scalar(select(Resident).where(Resident.telegram_id == resident.user.id))
        document = await export_resident(session, me)
    assert document["resident"]["telegram_id"] == resident.user.id
    assert document["resident"]["language"] == "en"
    assert document["tables"]["subscription"], "following the offer is in the export"
    assert document["tables"]["seat"], "the session reminder is in the export"
    assert all(row["resident_id"] == me.id for row in document["tables"]["seat"])
    assert export_json(document).decode().startswith("{")

    await resident.send("/export_me")
    documents = resident.calls("sendDocument")
    assert len(documents) == 1
    assert documents[0].params["document"] == "learncity-my-data.json"
    assert "as JSON" in documents[0].params["caption"]


async def test_forget_me_asks_first_and_keeping_changes_nothing(
    resident: ResidentChat, session_maker
) -> None:
    await subscribed_resident(resident)
    screen = await resident.send("/forget_me")
    assert "Delete all your data?" in screen.text
    assert "cannot be undone" in screen.text
    screen = await resident.press("No, keep my data")
    assert "Nothing was deleted" in screen.text
    assert await the_resident(session_maker, resident.user.id) is not None
    assert await count(session_maker, Subscription) == 1


async def test_forget_me_deletes_personal_rows_and_keeps_anonymous_counts(
    resident: ResidentChat, session_maker
) -> None:
    await subscribed_resident(resident)
    me = await the_resident(session_maker, resident.user.id)
    now = utc_now()
    async with session_maker.begin() as session:
        session.add(TeamMember(telegram_id=resident.user.id, role=Role.VOLUNTEER))
        # A broadcast this resident received, and one still waiting to go to them.
        for state, key in [(OutboxState.SENT, "sent"), (OutboxState.PENDING, "waiting")]:
            session.add(
                OutboxMessage(
                    kind="broadcast",
                    chat_id=resident.user.id,
                    resident_id=me.id,
                    payload={"text": "Festival!"},
                    due_at=now + timedelta(hours=1),
                    state=state,
                    dedupe_key=f"broadcast:7:{me.id}:{key}",
                    broadcast_id=7,
                )
            )
    assert await count(session_maker, Seat, Seat.resident_id == me.id) >= 1
    # Someone else's data stays.
    neighbour = ResidentChat(resident.app, user_id=resident.user.id + 500_000)
    await subscribed_resident(neighbour)

    await resident.press("Menu")
    await resident.send("/privacy")
    await resident.press("Delete my data")
    screen = await resident.press("Yes, delete everything")
    assert "Your data is deleted" in screen.text

    assert await the_resident(session_maker, resident.user.id) is None
    for model in (Subscription, Seat):
        assert await count(session_maker, model, model.resident_id == me.id) == 0
    assert await count(session_maker, TeamMember, TeamMember.telegram_id == resident.user.id) == 0
    assert await count(session_maker, OutboxMessage, OutboxMessage.chat_id == resident.user.id) == 0
    # The broadcast still counts one message sent, to nobody in particular.
    async with session_maker() as session:
        kept = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.broadcast_id == 7))
        )
    assert [(row.state, row.resident_id, row.chat_id, row.payload) for row in kept] == [
        (OutboxState.SENT, None, 0, {})
    ]
    assert await the_resident(session_maker, neighbour.user.id) is not None
    assert await count(session_maker, Subscription) == 1

    # Writing again starts afresh: a new resident who has not chosen a language yet.
    screen = await resident.send("/start")
    assert "Choose your language" in screen.text
    again = await the_resident(session_maker, resident.user.id)
    assert again is not None
    assert again.id != me.id
    assert not again.language_chosen
    await neighbour.close()


async def test_forgetting_directly_reports_what_was_deleted(
    resident: ResidentChat, session_maker
) -> None:
    await subscribed_resident(resident)
    async with session_maker.begin() as session:
        me = await session.scalar(select(Resident).where(Resident.telegram_id == resident.user.id))
        report = await forget_resident(session, me)
    assert report.deleted["resident"] == 1
    assert report.deleted["subscription"] == 1
    assert report.deleted["seat"] >= 1
    assert report.anonymised == 0
