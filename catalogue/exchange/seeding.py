"""The demo programme: loaded into an empty catalogue with its past, and kept current day by
day."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.exchange.importer import ImportReport
from catalogue.exchange.importer import import_document
from catalogue.exchange.schema import CatalogueDocument
from catalogue.models import CatalogueMeta
from catalogue.models import Offer
from catalogue.models import utc_now

DEMO_DATE_KEY = "demo_generated_on"


async def load_demo_if_empty(
    session: AsyncSession, today: date, zone: ZoneInfo
) -> ImportReport | None:
    """The demo programme and its past (catalogue/exchange/demo_history.py) into an empty
    catalogue; None if the catalogue has offers already."""
    if await session.scalar(select(func.count()).select_from(Offer)):
        return None
    report = await import_demo(session, today, zone)
    from catalogue.exchange.demo_history import add_demo_history

    await add_demo_history(session, utc_now())
    return report


async def refresh_demo(session: AsyncSession, today: date, zone: ZoneInfo) -> ImportReport | None:
    """Move the demo's dates forward so it always has upcoming events; a city's own
    catalogue (no demo marker) is never touched."""
    marker = await session.get(CatalogueMeta, DEMO_DATE_KEY)
    if marker is None or marker.value == today.isoformat():
        return None
    return await import_demo(session, today, zone)


async def import_demo(session: AsyncSession, today: date, zone: ZoneInfo) -> ImportReport:
    from catalogue.exchange.demo import build_demo_document

    document = CatalogueDocument.model_validate(build_demo_document(today, zone))
    report = await import_document(session, document)
    await session.merge(CatalogueMeta(key=DEMO_DATE_KEY, value=today.isoformat()))
    return report
