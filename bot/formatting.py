"""How dates, prices, ages and offer kinds read in the resident's language and time zone."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel import Locale
from babel.dates import format_datetime
from babel.dates import format_time
from babel.numbers import format_currency

from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import OfferKind

KIND_LABELS = {
    OfferKind.COURSE: __("Course"),
    OfferKind.MASTER_CLASS: __("Master class"),
    OfferKind.LECTURE: __("Lecture"),
    OfferKind.EXCURSION: __("Excursion"),
    OfferKind.WORKSHOP: __("Workshop"),
    OfferKind.FESTIVAL_EVENT: __("Festival event"),
}
FORMAT_LABELS = {
    OfferFormat.IN_PERSON: __("in person"),
    OfferFormat.ONLINE: __("online"),
    OfferFormat.HYBRID: __("in person and online"),
}
LANGUAGE_NAMES = {"en": __("English"), "ru": __("Russian")}


# The dates and prices below are pure functions of their arguments, and every resident who
# opens a card asks for the same ones: babel takes a few hundred microseconds for each.
@lru_cache(maxsize=4096)
def when(starts_at: datetime, ends_at: datetime, zone: ZoneInfo, locale: str) -> str:
    """ "Tue, 25 Nov, 18:30–20:00" in the reader's zone; both days when it spans midnight."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    day_and_start = format_datetime(start, "EEE, d MMM, HH:mm", locale=locale)
    if start.date() == end.date():
        return f"{day_and_start}–{format_time(end, 'HH:mm', locale=locale)}"
    return f"{day_and_start} – {format_datetime(end, 'EEE, d MMM, HH:mm', locale=locale)}"


@lru_cache(maxsize=4096)
def short_when(starts_at: datetime, zone: ZoneInfo, locale: str) -> str:
    return format_datetime(starts_at.astimezone(zone), "d MMM, HH:mm", locale=locale)


def price(offer: Offer, locale: str) -> str:
    if offer.is_free:
        return _("free")
    return _money(offer.price_minor, offer.currency, locale)


@lru_cache(maxsize=1024)
def _money(minor: int, currency: str, locale: str) -> str:
    """An amount as the reader's locale writes money: "300 ₽" in Russian, "RUB 300" in
    English (Babel's pattern and symbol); whole amounts without ".00"; a currency written as
    its code stands a space apart from the number."""
    pattern = Locale.parse(locale).currency_formats["standard"].pattern
    if minor % 100 == 0:
        pattern = WHOLE.sub("", pattern)
    text = format_currency(minor / 100, currency, pattern, locale=locale, currency_digits=False)
    text = CODE_BEFORE.sub(r"\1 ", CODE_AFTER.sub(r" \1", text))
    return text.replace("\xa0", " ").replace("\u202f", " ")


WHOLE = re.compile(r"\.0+")  # the fraction digits of a pattern
CODE_BEFORE = re.compile(r"([A-Z]{3})(?=[\d-])")
CODE_AFTER = re.compile(r"(?<=\d)([A-Z]{3})")


def ages(offer: Offer) -> str:
    if offer.age_min is None and offer.age_max is None:
        return _("all ages")
    if offer.age_max is None:
        return _("{age}+").format(age=offer.age_min)
    if offer.age_min is None:
        return _("up to {age}").format(age=offer.age_max)
    return _("{low}–{high} years").format(low=offer.age_min, high=offer.age_max)


def kind(offer: Offer) -> str:
    return str(KIND_LABELS.get(offer.kind, offer.kind))


def offer_format(offer: Offer) -> str:
    return str(FORMAT_LABELS.get(offer.format, offer.format))


def language_name(code: str) -> str:
    return str(LANGUAGE_NAMES.get(code, code))
