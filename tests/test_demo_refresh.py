"""The demo programme moves forward day by day and never duplicates; a city's own is left alone."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select

from catalogue.exchange.seeding import DEMO_DATE_KEY
from catalogue.exchange.seeding import refresh_demo
from catalogue.models import CatalogueMeta
from catalogue.models import Offer
from catalogue.models import OfferSession


async def row_counts(session) -> tuple[int, int]:
    offers = await session.scalar(select(func.count()).select_from(Offer))
    sessions = await session.scalar(select(func.count()).select_from(OfferSession))
    return offers, sessions


async def test_refresh_moves_dates_without_duplicates(app, session_maker) -> None:
    zone = app.settings.city_zone
    async with session_maker() as session:
        loaded_on = date.fromisoformat((await session.get(CatalogueMeta, DEMO_DATE_KEY)).value)
        before = await row_counts(session)
        starts_before = dict(
            (await session.execute(select(OfferSession.external_id, OfferSession.starts_at))).all()
        )

    tomorrow = loaded_on + timedelta(days=1)
    async with session_maker.begin() as session:
        report = await refresh_demo(session, tomorrow, zone)
    assert report is not None
    assert sum(report.created.values()) == 0
    async with session_maker() as session:
        assert await row_counts(session) == before
        starts_after = dict(
            (await session.execute(select(OfferSession.external_id, OfferSession.starts_at))).all()
        )
    assert starts_after.keys() == starts_before.keys()
    moved = [key for key in starts_after if starts_after[key] != starts_before[key]]
    assert moved, "the programme follows the calendar"
    async with session_maker.begin() as session:
        assert await refresh_demo(session, tomorrow, zone) is None, "same day twice: no work"


async def test_a_citys_own_catalogue_is_never_touched(app, session_maker) -> None:
    async with session_maker.begin() as session:
        await session.delete(await session.get(CatalogueMeta, DEMO_DATE_KEY))
    async with session_maker.begin() as session:
        assert await refresh_demo(session, date(2099, 1, 1), app.settings.city_zone) is None
