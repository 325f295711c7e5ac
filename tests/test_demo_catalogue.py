"""The demo catalogue is valid, bilingual, self-consistent and current on any day."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from catalogue.exchange.demo import build_demo_document
from catalogue.exchange.schema import CatalogueDocument
from catalogue.exchange.schema import OfferRecord
from catalogue.exchange.schema import SessionRecord
from catalogue.models import OfferFormat
from catalogue.models import OfferKind
from catalogue.models import SessionStatus

CITY_ZONE = ZoneInfo("Asia/Yekaterinburg")
PAST_FESTIVAL = "neighbourhood-learning-week"
# A winter day, a summer day and New Year's Eve, whose programme runs into the next year.
DAYS = [date(2026, 1, 14), date(2026, 6, 15), date(2026, 12, 31)]


@pytest.fixture(scope="module", params=DAYS, ids=str)
def today(request: pytest.FixtureRequest) -> date:
    return request.param


@pytest.fixture(scope="module")
def raw_document(today: date) -> dict:
    return build_demo_document(today, CITY_ZONE)


@pytest.fixture(scope="module")
def document(raw_document: dict) -> CatalogueDocument:
    return CatalogueDocument.model_validate(raw_document)


@pytest.fixture(scope="module")
def winter_document() -> CatalogueDocument:
    return CatalogueDocument.model_validate(build_demo_document(DAYS[0], CITY_ZONE))


def is_upcoming(session: SessionRecord, today: date) -> bool:
    """Held after `today`, so still ahead of a resident whatever the time of day."""
    tomorrow = datetime.combine(today + timedelta(days=1), time(), tzinfo=CITY_ZONE)
    return session.status != SessionStatus.CANCELLED and session.starts_at >= tomorrow


def test_document_is_large_enough(document: CatalogueDocument) -> None:
    assert len(document.categories) == 5
    assert 8 <= len(document.providers) <= 12
    assert 8 <= len(document.venues) <= 12
    assert 3 <= len(document.festivals) <= 4
    assert len(document.offers) >= 60
    assert len(document.sessions) >= 150


def test_every_record_speaks_english_and_russian(document: CatalogueDocument) -> None:
    required = [
        *(("category", record.id, record.title) for record in document.categories),
        *(("provider", record.id, record.name) for record in document.providers),
        *(("venue", record.id, record.name) for record in document.venues),
        *(("venue address", record.id, record.address) for record in document.venues),
        *(("festival", record.id, record.title) for record in document.festivals),
        *(("offer", record.id, record.title) for record in document.offers),
        *(("track", record.id, record.title) for record in document.tracks),
    ]
    # Optional texts may be absent, but once given they are given in both languages.
    optional = [
        *(("venue note", record.id, record.accessibility) for record in document.venues),
        *(("offer", record.id, record.description) for record in document.offers),
        *(("offer note", record.id, record.accessibility) for record in document.offers),
        *(("track", record.id, record.description) for record in document.tracks),
        *(("festival", record.id, record.description) for record in document.festivals),
    ]
    one_language = [
        (table, record_id)
        for table, record_id, texts in [*required, *(item for item in optional if item[2])]
        if not (texts.get("en") and texts.get("ru"))
    ]
    assert one_language == []


def test_ids_are_unique_in_every_table(document: CatalogueDocument) -> None:
    for table in CatalogueDocument.model_fields:
        ids = Counter(record.id for record in getattr(document, table))
        assert [record_id for record_id, count in ids.items() if count > 1] == [], table


def test_every_reference_resolves(document: CatalogueDocument) -> None:
    categories = {record.id for record in document.categories}
    providers = {record.id for record in document.providers}
    venues = {record.id for record in document.venues}
    festivals = {record.id for record in document.festivals}
    offers = {record.id for record in document.offers}

    dangling = [
        *(offer.id for offer in document.offers if offer.provider not in providers),
        *(offer.id for offer in document.offers if offer.festival not in {None, *festivals}),
        *(track.id for track in document.tracks if track.category not in categories),
        *(track.id for track in document.tracks if not set(track.offers) <= offers),
        *(session.id for session in document.sessions if session.offer not in offers),
        *(session.id for session in document.sessions if session.venue not in {None, *venues}),
    ]
    assert dangling == []


def test_every_category_has_two_to_four_tracks_of_four_to_eight_offers(
    document: CatalogueDocument,
) -> None:
    tracks_per_category = Counter(track.category for track in document.tracks)
    assert all(2 <= tracks_per_category[category.id] <= 4 for category in document.categories)
    assert all(4 <= len(track.offers) <= 8 for track in document.tracks)
    assert all(len(set(track.offers)) == len(track.offers) for track in document.tracks)


def test_every_offer_has_an_upcoming_session(document: CatalogueDocument, today: date) -> None:
    offers_with_upcoming = {
        session.offer for session in document.sessions if is_upcoming(session, today)
    }
    idle = [offer.id for offer in document.offers if offer.id not in offers_with_upcoming]
    # Except the past festival week's: the demo's history (catalogue/exchange/demo_history.py).
    assert idle
    assert {offers_by_id(document)[offer].festival for offer in idle} == {PAST_FESTIVAL}


def offers_by_id(document: CatalogueDocument) -> dict[str, OfferRecord]:
    return {offer.id: offer for offer in document.offers}


def test_a_festival_week_lies_in_the_past(document: CatalogueDocument, today: date) -> None:
    past = next(festival for festival in document.festivals if festival.id == PAST_FESTIVAL)
    assert past.ends_on < today - timedelta(days=7)
    assert (past.ends_on - past.starts_on).days == 6
    offers = offers_by_id(document)
    kinds = {offers[session.offer].kind for session in document.sessions
             if offers[session.offer].festival == PAST_FESTIVAL}  # fmt: skip
    assert len(kinds) >= 4


def test_every_track_has_upcoming_sessions(document: CatalogueDocument, today: date) -> None:
    offers_with_upcoming = {
        session.offer for session in document.sessions if is_upcoming(session, today)
    }
    idle_tracks = [
        track.id for track in document.tracks if offers_with_upcoming.isdisjoint(track.offers)
    ]
    assert idle_tracks == []


def test_sessions_are_dated_around_today_in_city_time(
    document: CatalogueDocument, today: date
) -> None:
    local_starts = [session.starts_at.astimezone(CITY_ZONE) for session in document.sessions]
    days_from_today = [(start.date() - today).days for start in local_starts]

    assert all(-16 <= days <= 60 for days in days_from_today)
    assert 0 < sum(days < 0 for days in days_from_today) < len(days_from_today) / 4
    # Local daytime and evening hours, not UTC ones shifted by the city's offset.
    assert all(7 <= start.hour <= 21 for start in local_starts)


def test_festival_events_fall_on_festival_dates(document: CatalogueDocument) -> None:
    festivals = {festival.id: festival for festival in document.festivals}
    offers = {offer.id: offer for offer in document.offers}
    outside = []
    for session in document.sessions:
        festival = festivals.get(offers[session.offer].festival or "")
        day = session.starts_at.astimezone(CITY_ZONE).date()
        if festival and not festival.starts_on <= day <= festival.ends_on:
            outside.append(session.id)
    assert outside == []


def test_sessions_say_where_to_go(document: CatalogueDocument) -> None:
    formats = {offer.id: offer.format for offer in document.offers}
    lost = [
        session.id
        for session in document.sessions
        if (formats[session.offer] != OfferFormat.ONLINE and session.venue is None)
        or (formats[session.offer] != OfferFormat.IN_PERSON and session.online_url is None)
    ]
    assert lost == []


def test_programme_is_varied(document: CatalogueDocument) -> None:
    offers = document.offers
    assert {offer.kind for offer in offers} == set(OfferKind)
    assert {offer.format for offer in offers} == set(OfferFormat)
    assert {offer.language for offer in offers} == {"en", "ru"}
    assert any(offer.price == 0 for offer in offers)
    assert any(offer.price > 0 for offer in offers)
    statuses = Counter(session.status for session in document.sessions)
    assert statuses[SessionStatus.CANCELLED] >= 2
    assert statuses[SessionStatus.CHANGED] >= 1


def test_same_day_gives_the_same_document(raw_document: dict, today: date) -> None:
    assert build_demo_document(today, CITY_ZONE) == raw_document
    json.dumps(raw_document)  # ready to be written out as a catalogue file


def test_another_day_keeps_the_same_ids(raw_document: dict, today: date) -> None:
    """Importing tomorrow's demo over today's updates every record instead of adding one."""
    tomorrow = build_demo_document(today + timedelta(days=1), CITY_ZONE)
    for table, records in raw_document.items():
        assert [record["id"] for record in tomorrow[table]] == [
            record["id"] for record in records
        ], table


@pytest.mark.parametrize(
    "query",
    [
        "english seniors",
        "английский пенсионеров",
        "robotics",
        "робототехника",
        "экскурсовод",
        "ceramics",
        "керамика",
        "keramika",
        "python",
        "watercolour",
        "акварель",
        "business plan",
        "бизнес-план",
        "tax self-employed",
        "налог самозанятых",
        "chinese",
        "китайский",
        "german",
        "немецкий",
        "finnish",
        "финский",
        "yoga",
        "йога",
        "smartphone",
        "смартфон",
        "financial literacy",
        "финансовая грамотность",
        "photography",
        "фотография",
        "choir",
        "chess",
        "шахматы",
        "local history",
        "краеведение",
        "birdwatching",
        "птицы",
        "3d printing",
        "public speaking",
        "публичные выступления",
        "social networks",
        "маркетинг",
    ],
)
def test_common_searches_have_answers(query: str, winter_document: CatalogueDocument) -> None:
    """Every word of the query appears in one offer's title, description or keywords."""
    words = query.lower().split()
    assert any(
        all(word in searchable_text(offer) for word in words) for offer in winter_document.offers
    )


def searchable_text(offer: OfferRecord) -> str:
    return " ".join([*offer.title.values(), *offer.description.values(), *offer.keywords]).lower()
