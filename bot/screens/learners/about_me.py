"""About me: the optional questions, each saying why it is asked (handlers/learners/about_me.py).

The overview shows the answers kept and leads to one screen per question; a resident who has
not agreed yet sees the invitation instead (also sent once after a first /pass or check-in).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks.learners import AboutMe
from bot.callbacks.learners import AboutMeAction
from bot.screens.checkin_resident import AGE_BAND_LABELS
from bot.screens.learners.labels import GENDER_LABELS
from bot.screens.learners.labels import group_label
from bot.screens.view import View
from bot.screens.view import button
from bot.screens.view import menu_button
from catalogue.checkin.tables import AgeBand
from catalogue.learners.facts import Answers
from catalogue.learners.tables import Gender

AGE_BANDS = list(AgeBand)
GENDERS = list(Gender)


class Question(IntEnum):
    """`AboutMe(action=OPEN, value=…)`: which screen."""

    OVERVIEW = 0
    AGE = 1
    GENDER = 2
    DISTRICT = 3
    GROUPS = 4


def _open(question: Question) -> AboutMe:
    return AboutMe(action=AboutMeAction.OPEN, value=question)


def _why_all() -> str:
    return _(
        "Every question is optional. The answers help the city see whom its learning reaches "
        "and whom it misses: they are only ever counted together with everyone else's, never "
        "shown about you. You can change or erase them at any time (Menu → About me), and "
        "/forget_me deletes them."
    )


def invitation() -> View:
    """Asked once: may we ask a few questions?"""
    text = "\n".join(
        [
            "👤 <b>" + _("A few questions about you?") + "</b>",
            "",
            _(
                "For the city's learning statistics: your age group, gender, the district you "
                "live in and groups you belong to."
            ),
            "",
            _why_all(),
        ]
    )
    builder = InlineKeyboardBuilder()
    builder.row(button("✅ " + _("Yes, ask me"), AboutMe(action=AboutMeAction.CONSENT)))
    builder.row(button(_("Not now"), AboutMe(action=AboutMeAction.LATER)))
    return View(text, builder.as_markup())


def declined() -> str:
    return _("Fine, nothing is kept. You can answer any time: Menu → About me.")


def _not_given() -> str:
    return _("not given")


def overview(answers: Answers, groups: Sequence[str]) -> View:
    age = AGE_BAND_LABELS[answers.age_band] if answers.age_band else _not_given()
    gender = GENDER_LABELS[answers.gender] if answers.gender else _not_given()
    mine = [group_label(key) for key in groups if key in answers.groups]
    mine += sorted(key for key in answers.groups if key not in groups)
    text = "\n".join(
        [
            "👤 <b>" + _("About me") + "</b>",
            "",
            _("Age group: {answer}").format(answer=age),
            _("Gender: {answer}").format(answer=gender),
            _("District where you live: {answer}").format(
                answer=answers.home_district or _not_given()
            ),
            _("Groups: {answer}").format(answer=", ".join(mine) or _not_given()),
            "",
            _why_all(),
        ]
    )
    builder = InlineKeyboardBuilder()
    builder.row(
        button(_("Age group"), _open(Question.AGE)),
        button(_("Gender"), _open(Question.GENDER)),
    )
    builder.row(
        button(_("District"), _open(Question.DISTRICT)),
        button(_("Groups"), _open(Question.GROUPS)),
    )
    builder.row(button("🗑 " + _("Erase my answers"), AboutMe(action=AboutMeAction.WITHDRAW)))
    builder.row(menu_button())
    return View(text, builder.as_markup())


def _question(title: str, why: str, builder: InlineKeyboardBuilder) -> View:
    builder.row(button(_("« Back"), _open(Question.OVERVIEW)))
    optional = _("Optional: skip it, or choose “Prefer not to say”.")
    return View(f"<b>{title}</b>\n\n{why}\n{optional}", builder.as_markup())


def _choice(
    builder: InlineKeyboardBuilder, label: str, chosen: bool, action: AboutMeAction, value: int
) -> None:
    builder.row(button(("✅ " if chosen else "") + label, AboutMe(action=action, value=value)))


def age_question(answers: Answers) -> View:
    builder = InlineKeyboardBuilder()
    for index, band in enumerate(AGE_BANDS):
        _choice(
            builder, str(AGE_BAND_LABELS[band]), band == answers.age_band, AboutMeAction.AGE, index
        )
    _choice(builder, _("Prefer not to say"), answers.age_band is None, AboutMeAction.AGE, -1)
    why = _("Why: to see whether learning reaches every generation.")
    return _question(_("Your age group?"), why, builder)


def gender_question(answers: Answers) -> View:
    builder = InlineKeyboardBuilder()
    for index, gender in enumerate(GENDERS):
        chosen = gender == answers.gender
        _choice(builder, str(GENDER_LABELS[gender]), chosen, AboutMeAction.GENDER, index)
    why = _(
        "Why: to see whether women and men take part alike, which the UNESCO network of "
        "learning cities asks every city."
    )
    return _question(_("Your gender?"), why, builder)


def district_question(answers: Answers, districts: Sequence[str]) -> View:
    builder = InlineKeyboardBuilder()
    for index, district in enumerate(districts):
        chosen = district == answers.home_district
        _choice(builder, district, chosen, AboutMeAction.DISTRICT, index)
    _choice(
        builder, _("Prefer not to say"), answers.home_district is None, AboutMeAction.DISTRICT, -1
    )
    why = _("Why: to see which parts of the city learning reaches, and where to bring it next.")
    return _question(_("Which district do you live in?"), why, builder)


def groups_question(answers: Answers, groups: Sequence[str]) -> View:
    builder = InlineKeyboardBuilder()
    for index, key in enumerate(groups):
        _choice(builder, group_label(key), key in answers.groups, AboutMeAction.GROUP, index)
    _choice(builder, _("None of these / prefer not to say"), False, AboutMeAction.GROUP, -1)
    why = _(
        "Why: a learning city must reach people who are often left out. Choose all that "
        "apply; press again to take one back."
    )
    return _question(_("Do you belong to any of these groups?"), why, builder)


def withdraw_question() -> View:
    builder = InlineKeyboardBuilder()
    builder.row(button("🗑 " + _("Yes, erase them"), AboutMe(action=AboutMeAction.WITHDRAW_SURE)))
    builder.row(button(_("« Back"), _open(Question.OVERVIEW)))
    text = _(
        "Erase your answers (age group, gender, district and groups)? The sessions you "
        "attended still count, without them."
    )
    return View(text, builder.as_markup())


def saved() -> str:
    return _("Noted. Thank you!")


def erased() -> str:
    return _("Your answers are erased.")
