"""What a process keeps in memory (catalogue/table_changes.py) is never served after a write.

Residents, seats and subscriptions are kept while the tables they were read from are
unchanged: counted on commit of any INSERT, UPDATE or DELETE through the engine, here and,
over Redis, in other processes. On SQLite and PostgreSQL; Redis is the real server.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from bot.startup.app import create_app
from bot.startup.shared_state import TableChangesRelay
from catalogue.models import Offer
from catalogue.models import Resident
from catalogue.models import utc_now
from catalogue.residents import KnownResidents
from catalogue.residents import resident_and_team_role
from catalogue.table_changes import TableCache
from catalogue.table_changes import TableChanges
from catalogue.table_changes import table_changes
from catalogue.table_changes import wrote_to
from tests.reminder_world import english_resident
from tests.reminder_world import make_offer
from tests.reminder_world import open_card
from tests.reminder_world import resident_row
from tests.resident_chat import ResidentChat

RESIDENTS = (Resident.__tablename__,)


@pytest.fixture
def settings(settings):
    """Only the programme each test makes (tests/reminder_world.py), no demo catalogue."""
    return settings.model_copy(update={"load_demo": False})


def count_statements(app) -> list[str]:
    """Every SQL statement the app's engine runs from now on."""
    statements: list[str] = []
    event.listen(
        app.engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_rest: statements.append(statement),
    )
    return statements


async def test_a_write_counts_once_its_transaction_commits(app, resident) -> None:
    await english_resident(resident)
    changes = table_changes(app.engine)
    before = changes.stamp(RESIDENTS)
    async with app.session_maker() as session:
        await session.execute(update(Resident).values(language="ru"))
        assert wrote_to(session, RESIDENTS)
        assert not wrote_to(session, (Offer.__tablename__,))
        assert changes.stamp(RESIDENTS) == before  # not committed yet
        await session.commit()
    committed = changes.stamp(RESIDENTS)
    assert committed != before

    async with app.session_maker() as session:
        row = await session.scalar(select(Resident))
        row.language = "en"  # an ORM flush counts like a statement
        await session.flush()
        await session.rollback()
    assert changes.stamp(RESIDENTS) == committed  # rolled back: nothing changed

    async with app.session_maker.begin() as session:
        await session.scalar(select(Resident))  # reading changes nothing
    assert changes.stamp(RESIDENTS) == committed


async def test_a_kept_value_holds_until_its_tables_change(app, resident) -> None:
    await english_resident(resident)
    cache = TableCache[str, str](table_changes(app.engine), RESIDENTS)
    async with app.session_maker() as session:
        cache.keep(session, "key", cache.stamp(), "kept")
        assert cache.get(session, "key") == "kept"
    async with app.session_maker.begin() as session:
        await session.execute(update(Offer).values(age_min=None))
    async with app.session_maker() as session:
        assert cache.get(session, "key") == "kept"  # another table
    async with app.session_maker.begin() as session:
        await session.execute(update(Resident).values(timezone=None))
    async with app.session_maker() as session:
        assert cache.get(session, "key") is None
        assert len(cache) == 0


async def test_a_value_read_across_a_commit_is_not_kept(app, resident) -> None:
    await english_resident(resident)
    cache = TableCache[str, str](table_changes(app.engine), RESIDENTS)
    async with app.session_maker() as reader:
        stamp = cache.stamp()
        old = await reader.scalar(select(Resident.language))
        async with app.session_maker.begin() as writer:
            await writer.execute(update(Resident).values(language="ru"))
        cache.keep(reader, "language", stamp, old)
        assert cache.get(reader, "language") is None


async def test_a_transaction_that_wrote_neither_keeps_nor_is_served(app, resident) -> None:
    await english_resident(resident)
    cache = TableCache[str, str](table_changes(app.engine), RESIDENTS)
    async with app.session_maker() as session:
        cache.keep(session, "language", cache.stamp(), "en")
    async with app.session_maker() as session:
        await session.execute(update(Resident).values(language="ru"))
        # What was kept does not show this transaction's own write, which may yet roll back.
        assert cache.get(session, "language") is None
        cache.keep(session, "language", cache.stamp(), "ru")
        await session.rollback()
    async with app.session_maker() as session:
        assert cache.get(session, "language") == "en"


async def test_kept_values_have_a_maximum_age_and_number(app) -> None:
    changes = table_changes(app.engine)
    short_lived = TableCache[int, int](changes, RESIDENTS, max_age=timedelta(0))
    small = TableCache[int, int](changes, RESIDENTS, max_entries=2)
    async with app.session_maker() as session:
        short_lived.keep(session, 1, short_lived.stamp(), 1)
        assert short_lived.get(session, 1) is None
        for key in (1, 2, 3):
            small.keep(session, key, small.stamp(), key)
        assert [small.get(session, key) for key in (1, 2, 3)] == [None, 2, 3]


async def test_a_warm_offer_card_asks_the_database_nothing(app, resident) -> None:
    made = await make_offer(app, [utc_now() + timedelta(days=2)], capacity=5)
    await english_resident(resident)
    await resident.send("/tracks")
    await resident.press(made.category_title)
    await resident.press(made.track_title)
    await resident.press("Pottery")
    await resident.press("Back")
    statements = count_statements(app)
    await resident.press("Pottery")
    assert "5 of 5 seats left" in resident.screen.text
    assert statements == []


async def test_cards_show_each_change_at_once(app, user_id) -> None:
    made = await make_offer(app, [utc_now() + timedelta(days=2)], capacity=2, title="Glaze lab")
    first = await english_resident(ResidentChat(app, user_id=user_id))
    second = await english_resident(ResidentChat(app, user_id=user_id + 50_000))
    assert "2 of 2 seats left" in (await open_card(second, made)).text

    await open_card(first, made)
    await first.press("Remind me")  # the card is drawn again in the same transaction
    assert "1 of 2 seats left" in first.screen.text
    assert "1 of 2 seats left" in (await open_card(second, made)).text

    await first.send("/language")
    await first.press("Русский")
    assert "свободно мест: 1 из 2" in (await open_card(first, made)).text
    for chat in (first, second):
        await chat.close()


async def test_a_resident_is_read_once_and_registration_is_not_kept(app, user_id) -> None:
    known = KnownResidents(table_changes(app.engine))
    async with app.session_maker() as session:
        registered, _role = await resident_and_team_role(session, user_id, "en", known)
        assert len(known) == 0  # inserted by this very transaction, which may roll back
        await session.commit()
    statements = count_statements(app)
    async with app.session_maker() as session:
        await resident_and_team_role(session, user_id, "en", known)
    assert len(statements) == 1
    async with app.session_maker.begin() as session:
        again, role = await resident_and_team_role(session, user_id, "en", known)
        again.language = "ru"  # a resident from memory is a row like any other
    assert len(statements) == 2  # the UPDATE
    assert (again.id, role) == (registered.id, None)
    async with app.session_maker() as session:
        assert (await session.get(Resident, registered.id)).language == "ru"
        fresh, _role = await resident_and_team_role(session, user_id, "en", known)
        assert fresh.language == "ru"


async def test_new_residents_leave_the_known_ones_kept(app, user_id) -> None:
    known = KnownResidents(table_changes(app.engine))
    async with app.session_maker.begin() as session:
        await resident_and_team_role(session, user_id, "en", known)  # registered
    async with app.session_maker() as session:
        await resident_and_team_role(session, user_id, "en", known)  # kept
    statements = count_statements(app)
    for newcomer in range(user_id + 1, user_id + 4):  # a festival's first hour
        async with app.session_maker.begin() as session:
            await resident_and_team_role(session, newcomer, "en", known)
    async with app.session_maker() as session:
        await resident_and_team_role(session, user_id, "en", known)
    assert len(statements) == 3 * 3  # each newcomer: look up, insert, look up again

    # An upsert changes a row that was there: everything kept is forgotten.
    dialect = postgresql if app.engine.dialect.name == "postgresql" else sqlite
    row = Resident(telegram_id=user_id, language="ru").model_dump(exclude={"id"})
    upsert = dialect.insert(Resident).values(**row)
    async with app.session_maker.begin() as session:
        await session.execute(
            upsert.on_conflict_do_update(
                index_elements=["telegram_id"], set_={"language": upsert.excluded.language}
            )
        )
    async with app.session_maker() as session:
        resident, _role = await resident_and_team_role(session, user_id, "en", known)
    assert resident.language == "ru"


@pytest.mark.redis
async def test_malformed_news_is_ignored_and_listening_goes_on(app, redis_space) -> None:
    settings = redis_space.settings(app.settings)
    here = await create_app(settings)
    try:
        heard = TableChanges()
        listener = TableChangesRelay(here.redis, heard, settings.redis_prefix)
        await listener.start()
        before = heard.stamp(RESIDENTS)
        for junk in ["not json", "[]", '{"from": "x"}', '{"from": "x", "tables": 5}', "🙂" * 4096]:
            await here.redis.publish(listener.channel, junk)
        await here.redis.publish(listener.channel, '{"from": "x", "tables": ["resident"]}')
        for _ in range(100):
            if heard.stamp(RESIDENTS) != before:
                break
            await asyncio.sleep(0.02)
        assert heard.stamp(RESIDENTS) != before
        assert not [task for task in listener._tasks if task.done()]
        await listener.stop()
    finally:
        await here.close()


@pytest.mark.redis
async def test_another_process_hears_of_a_write_at_once(app, redis_space) -> None:
    settings = redis_space.settings(app.settings)
    here, there = await create_app(settings), await create_app(settings)
    try:
        chat = await english_resident(ResidentChat(there, user_id=777_001))
        heard = TableChanges()
        listener = TableChangesRelay(here.redis, heard, settings.redis_prefix)
        await listener.start()
        before = heard.stamp(RESIDENTS)
        await chat.send("/language")
        await chat.press("Русский")  # written by `there`: `here`'s counts move too
        for _ in range(100):
            if heard.stamp(RESIDENTS) != before:
                break
            await asyncio.sleep(0.02)
        assert heard.stamp(RESIDENTS) != before
        assert (await resident_row(here, chat)).language == "ru"
        await listener.stop()
        await chat.close()
    finally:
        await here.close()
        await there.close()
