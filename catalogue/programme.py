"""The programme as organisers change it from the chat: new offers and sessions, edits.

Everything goes through the catalogue exchange format (`catalogue.exchange.schema`) and the
importer's upsert, so a form in the chat obeys exactly the rules of an imported file: a record
is built as a plain dict, validated by the same pydantic model, and written by `import_document`.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from datetime import tzinfo
from typing import Any
from typing import TypeVar

from pydantic import BaseModel
from pydantic import ValidationError
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.errors import DomainError
from catalogue.exchange.importer import field_errors
from catalogue.exchange.importer import import_document
from catalogue.exchange.rows import CatalogueImportError
from catalogue.exchange.schema import CatalogueDocument
from catalogue.exchange.schema import OfferRecord
from catalogue.exchange.schema import SessionRecord
from catalogue.models import Category
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Provider
from catalogue.models import SessionStatus
from catalogue.models import Track
from catalogue.models import Venue
from catalogue.models import translated
from catalogue.queries import OfferCard
from catalogue.queries import Window
from catalogue.queries import offer_card
from catalogue.queries import page_of_rows
from catalogue.search.text import _CYRILLIC_TO_LATIN as CYRILLIC_TO_LATIN
from catalogue.search.text import normalise
from catalogue.text_policy import bounded_id
from catalogue.text_policy import strip_controls

FOUND_LIMIT = 8
CHOICES_LIMIT = 24

RecordT = TypeVar("RecordT", bound=BaseModel)  # a record of the exchange format
RowT = TypeVar("RowT", Offer, OfferSession)


class FormError(DomainError, ValueError):
    """What is wrong with a value typed into a form, fit to show the organiser."""


@dataclass(frozen=True)
class Choice:
    id: int
    label: str


# ---------------------------------------------------------------- reading typed values


def clean_typed(text: str) -> str:
    """Typed text without control characters (a NUL cannot even be stored in PostgreSQL):
    the text policy of catalogue/text_policy.py."""
    return strip_controls(text)


def parse_price(text: str) -> float:
    cleaned = text.strip().lower().replace(",", ".").replace(" ", "")
    if cleaned in {"0", "free", "бесплатно", "-"}:
        return 0.0
    try:
        value = float(cleaned)
    except ValueError:
        raise FormError("price") from None
    if value < 0 or value > 1_000_000:
        raise FormError("price")
    return round(value, 2)


AGE_RANGE = re.compile(r"^(\d{1,3})?\s*(?:-|–|\.\.)\s*(\d{1,3})?$")
AGE_FROM = re.compile(r"^(\d{1,3})\s*\+$")


def parse_ages(text: str) -> tuple[int | None, int | None]:
    """ "all", "12-18", "60+", "-6" (up to six) → (youngest, oldest); None is no limit."""
    cleaned = text.strip().lower()
    if cleaned in {"all", "все", "any", "0+"}:
        return None, None
    if match := AGE_FROM.match(cleaned):
        low, high = int(match.group(1)), None
    elif (match := AGE_RANGE.match(cleaned)) and any(match.groups()):
        low, high = (int(part) if part else None for part in match.groups())
    else:
        raise FormError("ages")
    if any(age is not None and age > 120 for age in (low, high)):
        raise FormError("ages")
    if low is not None and high is not None and high < low:
        raise FormError("ages")
    return low, high


DATE_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%d.%m.%y %H:%M", "%d/%m/%Y %H:%M")
SHORT_DATE_TIME = re.compile(r"^(\d{1,2})\.(\d{1,2})\s+(\d{1,2}):(\d{2})$")
TIME_ONLY = re.compile(r"^(\d{1,2})[:.](\d{2})$")
DURATION = re.compile(r"^(?:(\d{1,2})\s*(?:h|ч))?\s*(?:(\d{1,3})\s*(?:m|min|мин|м))?$")


def parse_start(text: str, zone: tzinfo, now: datetime) -> datetime:
    """A date and time as organisers type them, in `zone`; must lie in the future."""
    cleaned = " ".join(text.strip().replace("T", " ").split())
    value: datetime | None = None
    for pattern in DATE_TIME_FORMATS:
        try:
            value = datetime.strptime(cleaned, pattern).replace(tzinfo=zone)
            break
        except ValueError:
            continue
    if value is None and (match := SHORT_DATE_TIME.match(cleaned)):
        day, month, hour, minute = map(int, match.groups())
        year = now.astimezone(zone).year
        try:
            value = datetime(year, month, day, hour, minute, tzinfo=zone)
            if value < now:
                value = value.replace(year=year + 1)
        except ValueError:
            value = None
    if value is None:
        raise FormError("start")
    # A wall-clock time that a DST change skips or repeats is taken as the zone says.
    value = value.astimezone(zone)
    if value <= now:
        raise FormError("past")
    return value


def parse_end(text: str, start: datetime, zone: tzinfo) -> datetime:
    """ "20:00" (same day, or the next if earlier), "90 min", "1h30m" or a full date and time."""
    cleaned = " ".join(text.strip().lower().split())
    local_start = start.astimezone(zone)
    if match := TIME_ONLY.match(cleaned):
        hour, minute = map(int, match.groups())
        if hour > 23 or minute > 59:
            raise FormError("end")
        end = datetime.combine(local_start.date(), time(hour, minute), tzinfo=zone)
        if end <= local_start:
            end += timedelta(days=1)
        return end
    if cleaned and (match := DURATION.match(cleaned.replace(" ", ""))) and any(match.groups()):
        hours, minutes = (int(part) if part else 0 for part in match.groups())
        if not 0 < hours * 60 + minutes <= 24 * 60 * 14:
            raise FormError("end")
        return start + timedelta(hours=hours, minutes=minutes)
    try:
        end = parse_start(cleaned, zone, start)
    except FormError:
        raise FormError("end") from None
    return end


# ---------------------------------------------------------------- building records


def new_external_id(title: str, prefix: str = "") -> str:
    # Readable in Latin letters: "Керамика для всех" → "keramika-dlia-vseh-…".
    decomposed = unicodedata.normalize("NFKD", normalise(title).translate(CYRILLIC_TO_LATIN))
    latin = "".join(char for char in decomposed if not unicodedata.combining(char))
    slug = "-".join(re.findall(r"[a-z0-9]+", latin))
    slug = re.sub(r"-+", "-", slug).strip("-")[:50].rstrip("-")
    return f"{prefix}{slug or 'offer'}-{secrets.token_hex(3)}"


def validated_offer(data: dict[str, Any]) -> OfferRecord:
    return _validated(OfferRecord, "offers", data)


def validated_session(data: dict[str, Any]) -> SessionRecord:
    return _validated(SessionRecord, "sessions", data)


def _validated(record_type: type[RecordT], table: str, data: dict[str, Any]) -> RecordT:
    """The record, or CatalogueImportError naming each field that fails, as an import would."""
    try:
        return record_type.model_validate(data)
    except ValidationError as error:
        raise CatalogueImportError(field_errors(error, table, None, 0)) from None


async def offer_record(session: AsyncSession, offer: Offer) -> dict[str, Any]:
    """The offer as a record of the exchange format, ready to change and save again."""
    provider = await session.get(Provider, offer.provider_id)
    festival = await session.get(Festival, offer.festival_id) if offer.festival_id else None
    return {
        "id": offer.external_id,
        "title": dict(offer.title),
        "description": dict(offer.description or {}),
        "kind": str(offer.kind),
        "format": str(offer.format),
        "language": offer.language,
        "provider": provider.external_id if provider else "",
        "festival": festival.external_id if festival else None,
        "age_min": offer.age_min,
        "age_max": offer.age_max,
        "price": offer.price_minor / 100,
        "currency": offer.currency,
        "accessibility": dict(offer.accessibility or {}),
        "keywords": list(offer.keywords or []),
    }


async def save_offer(session: AsyncSession, data: dict[str, Any]) -> Offer:
    """Create or update one offer from its record (all checks of an import apply)."""
    record = validated_offer(data)
    return await _saved(session, CatalogueDocument(offers=[record]), Offer, record.id)


async def save_session(session: AsyncSession, data: dict[str, Any]) -> OfferSession:
    """Create or update one session from its record (all checks of an import apply)."""
    record = validated_session(data)
    return await _saved(session, CatalogueDocument(sessions=[record]), OfferSession, record.id)


async def _saved(
    session: AsyncSession, document: CatalogueDocument, model: type[RowT], external_id: str
) -> RowT:
    """Import a document of one record; the row it made or updated."""
    await import_document(session, document)
    saved = await session.scalar(select(model).where(model.external_id == external_id))
    assert saved is not None
    return saved


def preview_offer(
    record: OfferRecord, provider: Provider, festival: Festival | None, offer_id: int | None
) -> Offer:
    """An unsaved Offer for showing the card as residents will see it."""
    values = record.model_dump(exclude={"id", "provider", "festival", "price"})
    return Offer(
        id=offer_id,
        external_id=record.id,
        provider_id=provider.id,
        festival_id=festival.id if festival else None,
        price_minor=round(record.price * 100),
        **values,
    )


def preview_session(record: dict[str, Any], offer: Offer, venue: Venue | None) -> OfferSession:
    """An unsaved OfferSession from a checked session record, for showing it before Save."""
    return OfferSession(
        external_id=record["id"],
        offer_id=offer.id,
        venue_id=venue.id if venue else None,
        starts_at=datetime.fromisoformat(record["starts_at"]),
        ends_at=datetime.fromisoformat(record["ends_at"]),
        capacity=record["capacity"],
        online_url=record["online_url"],
    )


async def offer_preview_card(
    session: AsyncSession, record: OfferRecord, offer_id: int | None, now: datetime
) -> OfferCard | None:
    """The card of an offer as residents will see it once saved (with the upcoming sessions
    it already has); None when its provider no longer exists."""
    provider = await by_external_id(session, Provider, record.provider)
    festival = await by_external_id(session, Festival, record.festival)
    if provider is None:
        return None
    existing = await offer_card(session, offer_id, now) if offer_id else None
    sessions, total = (existing.sessions, existing.upcoming_total) if existing else ([], 0)
    preview = preview_offer(record, provider, festival, offer_id)
    return OfferCard(preview, provider, festival, sessions, total)


# ---------------------------------------------------------------- looking things up


async def offer_by_id(session: AsyncSession, offer_id: int | None) -> Offer | None:
    """An offer by database id; None for no id or an offer no longer in the programme."""
    if not offer_id:
        return None
    return await session.get(Offer, offer_id)


async def venue_by_id(session: AsyncSession, venue_id: int | None) -> Venue | None:
    """A venue by database id; None for no id or a venue no longer there."""
    if not venue_id:
        return None
    return await session.get(Venue, venue_id)


async def find_offers(session: AsyncSession, text: str, locale: str) -> list[Choice]:
    """Offers whose title (any language) or id contains `text`, for the organiser to pick."""
    needle = clean_typed(text).strip().lower()
    if not needle:
        return []
    number = bounded_id(needle)  # never '²' or a number no id column holds
    if number is not None and (offer := await session.get(Offer, number)) is not None:
        return [Choice(offer.id, translated(offer.title, locale))]
    exact = await session.scalar(select(Offer).where(Offer.external_id == needle))
    if exact is not None:
        return [Choice(exact.id, translated(exact.title, locale))]
    # Titles are JSON maps (stored with escaped Cyrillic), so they are matched here rather than
    # in SQL; a city's programme is a few thousand offers at most.
    found: list[Choice] = []
    rows = await session.execute(
        select(Offer.id, Offer.title, Offer.external_id).order_by(Offer.id)
    )
    for offer_id, title, external_id in rows:
        if needle in external_id or any(needle in value.lower() for value in title.values()):
            found.append(Choice(offer_id, translated(title, locale)))
            if len(found) == FOUND_LIMIT:
                break
    return found


async def _named_choices(
    session: AsyncSession, model: type[Provider] | type[Venue], locale: str, text: str
) -> list[Choice]:
    """Providers or venues whose name (in any language) contains `text`, by name; the first
    CHOICES_LIMIT of them: the organiser types part of a name to reach the others."""
    rows = await session.execute(select(model.id, model.name).order_by(model.id))
    needle = text.strip().lower()
    choices = [
        Choice(row_id, translated(name, locale))
        for row_id, name in rows
        if not needle or any(needle in value.lower() for value in name.values())
    ]
    return sorted(choices, key=lambda choice: choice.label.lower())[:CHOICES_LIMIT]


async def provider_choices(session: AsyncSession, locale: str, text: str = "") -> list[Choice]:
    return await _named_choices(session, Provider, locale, text)


@dataclass(frozen=True)
class ChoicesPage:
    """One page of a list of choices (CHOICES_LIMIT at most) and where it is in the list."""

    choices: list[Choice]
    page: int = 0
    pages: int = 1


async def festival_choices(session: AsyncSession, locale: str, today: date) -> list[Choice]:
    """The first page of `festival_choices_page`."""
    return (await festival_choices_page(session, locale, today, 0)).choices


async def festival_choices_page(
    session: AsyncSession, locale: str, today: date, page: int
) -> ChoicesPage:
    """Page `page` of the festivals that have not ended, the soonest first."""
    query = (
        select(Festival.id, Festival.title)
        .where(or_(Festival.ends_on.is_(None), Festival.ends_on >= today))
        .order_by(Festival.starts_on, Festival.id)
    )
    rows, window = await page_of_rows(session, query, page, CHOICES_LIMIT)
    choices = [Choice(festival_id, translated(title, locale)) for festival_id, title in rows]
    return ChoicesPage(choices, window.page, window.pages)


async def venue_choices(session: AsyncSession, locale: str, text: str = "") -> list[Choice]:
    return await _named_choices(session, Venue, locale, text)


async def by_external_id(session: AsyncSession, model: type, external_id: str | None) -> Any:
    """A catalogue row by the city's stable id (None for None or unknown)."""
    if external_id is None:
        return None
    return await session.scalar(select(model).where(model.external_id == external_id))


async def external_id_of(session: AsyncSession, model: type, row_id: int | None) -> str | None:
    if row_id is None:
        return None
    return await session.scalar(select(model.external_id).where(model.id == row_id))


# Sessions on one page of an offer's screen: an import can give an offer thousands, and each is
# a button (to move or cancel it), so they come page by page with ‹ n / m ›.
SESSIONS_PER_PAGE = 10


@dataclass(frozen=True)
class SessionsPage:
    """One page of an offer's upcoming sessions, soonest first, and where it is in the list."""

    sessions: list[OfferSession]
    page: int
    pages: int
    total: int


async def upcoming_sessions(
    session: AsyncSession, offer_id: int, now: datetime, page: int = 0
) -> SessionsPage:
    """Page `page` (counted from 0, kept within the pages there are) of the offer's sessions
    that have not ended, cancelled ones too (the organiser sees what was cancelled)."""
    ahead = (OfferSession.offer_id == offer_id, OfferSession.ends_at > now)
    total = await session.scalar(select(func.count()).select_from(OfferSession).where(*ahead))
    window = Window.of(total or 0, page, SESSIONS_PER_PAGE)
    rows = await session.scalars(
        select(OfferSession)
        .where(*ahead)
        .order_by(OfferSession.starts_at, OfferSession.id)
        .offset(window.first)
        .limit(SESSIONS_PER_PAGE)
    )
    return SessionsPage(list(rows), window.page, window.pages, total or 0)


async def page_of_session(
    session: AsyncSession, offer_id: int, session_id: int, now: datetime
) -> int:
    """The page of `upcoming_sessions` that lists the session (where it is now, after a move):
    the organiser comes back to it from the session's screen."""
    starts_at = select(OfferSession.starts_at).where(OfferSession.id == session_id)
    target = starts_at.scalar_subquery()
    before = await session.scalar(
        select(func.count())
        .select_from(OfferSession)
        .where(
            OfferSession.offer_id == offer_id,
            OfferSession.ends_at > now,
            or_(
                OfferSession.starts_at < target,
                and_(OfferSession.starts_at == target, OfferSession.id < session_id),
            ),
        )
    )
    return (before or 0) // SESSIONS_PER_PAGE


def is_cancelled(offer_session: OfferSession) -> bool:
    return offer_session.status == SessionStatus.CANCELLED


async def usual_currency(session: AsyncSession) -> str:
    """The currency most of the programme is priced in (a city has one), RUB when empty."""
    currency = await session.scalar(
        select(Offer.currency).group_by(Offer.currency).order_by(func.count().desc()).limit(1)
    )
    return currency or "RUB"


async def programme_counts(session: AsyncSession, now: datetime) -> tuple[int, int]:
    offers = await session.scalar(select(func.count()).select_from(Offer)) or 0
    sessions = (
        await session.scalar(
            select(func.count())
            .select_from(OfferSession)
            .where(OfferSession.starts_at > now, OfferSession.status != SessionStatus.CANCELLED)
        )
        or 0
    )
    return offers, sessions


async def track_choices(session: AsyncSession, locale: str, page: int = 0) -> ChoicesPage:
    """Page `page` of every track, named with its category ("Seniors · Digital skills")."""
    query = (
        select(Track.id, Track.title, Category.title)
        .join(Category, Category.id == Track.category_id)
        .order_by(Category.position, Category.id, Track.position, Track.id)
    )
    rows, window = await page_of_rows(session, query, page, CHOICES_LIMIT)
    choices = [
        Choice(track_id, f"{translated(category, locale)} · {translated(title, locale)}")
        for track_id, title, category in rows
    ]
    return ChoicesPage(choices, window.page, window.pages)


async def category_choices(session: AsyncSession, locale: str) -> list[Choice]:
    rows = await session.execute(
        select(Category.id, Category.title).order_by(Category.position, Category.id)
    )
    return [Choice(category_id, translated(title, locale)) for category_id, title in rows]
