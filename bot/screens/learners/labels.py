"""The words for the city's lists: genders, groups, survey topics, and the hours.

A group or topic the city added under its own name (not one of the keys below, or of the
groups' `GROUP_NAMES`, which the GNLC report shares) is shown as written in the settings.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from functools import lru_cache

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.dates import format_date
from babel.numbers import format_decimal

from bot.report_files import GROUP_NAMES
from bot.screens.view import Viewer
from catalogue.learners.tables import CompletionKind
from catalogue.learners.tables import Gender

GENDER_LABELS = {
    Gender.WOMAN: __("Woman"),
    Gender.MAN: __("Man"),
    Gender.OTHER: __("Another gender"),
    Gender.UNDISCLOSED: __("Prefer not to say"),
}
TOPIC_LABELS = {
    "languages": __("Languages"),
    "digital": __("Digital skills"),
    "health": __("Health and sport"),
    "arts": __("Arts and culture"),
    "crafts": __("Crafts and making"),
    "money": __("Money and finance"),
    "civic": __("Civic life and rights"),
    "science": __("Science and nature"),
    "parenting": __("Parenting and family"),
    "career": __("Work and career"),
}


def group_label(key: str) -> str:
    return _(GROUP_NAMES[key]) if key in GROUP_NAMES else key


def topic_label(key: str) -> str:
    return str(TOPIC_LABELS[key]) if key in TOPIC_LABELS else key


def hours_text(hours: float, locale: str) -> str:
    return _("{hours} h").format(hours=format_decimal(round(hours, 1), locale=locale))


def day_text(moment: datetime, viewer: Viewer) -> str:
    """ "12 March 2026", the day in the reader's zone."""
    return _long_date(moment.astimezone(viewer.zone).date(), viewer.locale)


@lru_cache(maxsize=4096)  # babel takes a few hundred microseconds a date; a passport has many
def _long_date(day: date, locale: str) -> str:
    return format_date(day, "long", locale=locale)


def completed_title(kind: CompletionKind, title: str) -> str:
    """ "the track «Digital basics»", as the passport and the certificate say it."""
    if kind is CompletionKind.TRACK:
        return _("the track «{title}»").format(title=title)
    return _("the festival «{title}»").format(title=title)
