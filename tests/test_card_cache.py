"""Offer cards kept in memory (catalogue/cards.py) stay true to the programme.

Any edit this process makes shows on the very next card; an edit by another process that
nobody announces (no Redis) shows after the cache's recheck interval, or its maximum age;
a session drops off the card when it ends, as it does without the cache. On SQLite and
PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect
from sqlalchemy import update

from catalogue.cards import CardCache
from catalogue.database import create_engine
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Venue
from catalogue.models import utc_now
from catalogue.programme import offer_record
from catalogue.programme import save_offer
from catalogue.queries import offer_card
from catalogue.session_changes import cancel_session
from catalogue.session_changes import reschedule_session
from catalogue.table_changes import table_changes
from tests.reminder_world import english_resident
from tests.reminder_world import make_offer
from tests.reminder_world import open_card


@pytest.fixture
def settings(settings):
    """Only the programme each test makes (tests/reminder_world.py), no demo catalogue."""
    return settings.model_copy(update={"load_demo": False})


async def test_an_organisers_edit_shows_on_the_next_card_at_once(app, resident) -> None:
    soon = utc_now() + timedelta(days=2)
    made = await make_offer(app, [soon, soon + timedelta(days=7)], title="Pottery for beginners")
    zone = app.settings.city_zone
    await english_resident(resident)
    assert "Pottery for beginners" in (await open_card(resident, made)).text

    async with app.session_maker.begin() as session:
        offer = await session.get(Offer, made.offer_id)
        record = await offer_record(session, offer)
        await save_offer(session, record | {"title": {"en": "Raku firing"}})
    card = await open_card(resident, made)
    assert "Raku firing" in card.text
    assert "Pottery" not in card.text

    async with app.session_maker.begin() as session:
        await cancel_session(session, made.session_ids[0], city_zone=zone)
    assert len((await open_card(resident, made)).buttons()) < len(card.buttons())

    later = soon + timedelta(days=30)
    moved = (later, later + timedelta(hours=1))
    async with app.session_maker.begin() as session:
        await reschedule_session(session, made.session_ids[1], *moved, city_zone=zone)
    assert "time or place changed" in (await open_card(resident, made)).text


async def behind_the_process(app, statement) -> None:
    """Runs `statement` on a connection of its own, as another process without Redis would."""
    other_process = create_engine(app.settings.database_url)
    async with other_process.begin() as connection:
        await connection.execute(statement)
    await other_process.dispose()


async def test_any_write_of_this_process_shows_at_once(app) -> None:
    made = await make_offer(app, [utc_now() + timedelta(days=2)])
    cache = CardCache(table_changes(app.engine), recheck_every=timedelta(hours=1))
    async with app.session_maker() as session:
        first = await cache.card(session, made.offer_id, utc_now())
        assert await cache.card(session, made.offer_id, utc_now()) is first
    async with app.session_maker.begin() as session:  # no function of ours: a bare UPDATE
        await session.execute(
            update(Venue).where(Venue.id == first.sessions[0].venue.id).values(name={"en": "Loft"})
        )
    async with app.session_maker() as session:
        card = await cache.card(session, made.offer_id, utc_now())
    assert card.sessions[0].venue.name == {"en": "Loft"}


async def test_an_edit_behind_the_process_is_seen_at_the_next_check(app) -> None:
    made = await make_offer(app, [utc_now() + timedelta(days=2)], title="Pottery for beginners")
    changes = table_changes(app.engine)
    always_check = CardCache(changes, recheck_every=timedelta(0))
    rarely_check = CardCache(changes, recheck_every=timedelta(hours=1))
    async with app.session_maker() as session:
        first = await always_check.card(session, made.offer_id, utc_now())
        assert await always_check.card(session, made.offer_id, utc_now()) is first
        await rarely_check.card(session, made.offer_id, utc_now())
    assert inspect(first.offer).session is None
    assert inspect(first.sessions[0].venue).session is None

    # As another process's import does: new values, the offer stamped.
    await behind_the_process(
        app,
        update(Offer)
        .where(Offer.id == made.offer_id)
        .values(title={"en": "Raku firing"}, updated_at=utc_now()),
    )
    async with app.session_maker() as session:
        fresh = await always_check.card(session, made.offer_id, utc_now())
        stale = await rarely_check.card(session, made.offer_id, utc_now())
    assert fresh.offer.title == {"en": "Raku firing"}
    assert stale.offer.title == {"en": "Pottery for beginners"}


async def test_an_edit_no_check_can_see_is_seen_after_the_maximum_age(app) -> None:
    made = await make_offer(app, [utc_now() + timedelta(days=2)])
    changes = table_changes(app.engine)
    short_lived = CardCache(changes, recheck_every=timedelta(hours=1), max_age=timedelta(0))
    async with app.session_maker() as session:
        await short_lived.card(session, made.offer_id, utc_now())
    await behind_the_process(  # by hand, the offer not stamped
        app,
        update(OfferSession)
        .where(OfferSession.id == made.session_ids[0])
        .values(online_url="https://example.org/live"),
    )
    async with app.session_maker() as session:
        card = await short_lived.card(session, made.offer_id, utc_now())
    assert card.sessions[0].session.online_url == "https://example.org/live"


async def test_a_session_drops_off_the_card_when_it_ends(app) -> None:
    now = utc_now()
    first_start = now + timedelta(minutes=30)
    made = await make_offer(app, [first_start, now + timedelta(days=3)])  # 90 minutes each
    cache = CardCache(
        table_changes(app.engine), recheck_every=timedelta(hours=1), max_age=timedelta(hours=1)
    )
    moments = [now, first_start + timedelta(minutes=5), first_start + timedelta(minutes=91)]
    cards = []
    async with app.session_maker() as session:
        for moment in moments:
            cached = await cache.card(session, made.offer_id, moment)
            queried = await offer_card(session, made.offer_id, moment)
            assert [item.session.id for item in cached.sessions] == [
                item.session.id for item in queried.sessions
            ]
            assert cached.upcoming_total == queried.upcoming_total
            cards.append(cached)
    # Begun but not over: still on the card, as without the cache; over: gone.
    assert cards[1] is cards[0]
    assert [item.session.id for item in cards[2].sessions] == made.session_ids[1:]
