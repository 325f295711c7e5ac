"""The survey "What would you like to learn?" (handlers/learners/survey.py), its invitation a
week after a resident joined, and its aggregate for the coordinator."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks.learners import SurveyAction
from bot.callbacks.learners import SurveyButton
from bot.screens.learners.labels import topic_label
from bot.screens.view import View
from bot.screens.view import button
from bot.screens.view import menu_button
from bot.screens.view import shorten
from catalogue.learners.survey import SurveyDemand
from catalogue.learners.tables import SURVEY_TEXT_LIMIT


def survey_view(
    topics: Sequence[str], chosen: Sequence[str], wish: str | None, invited: bool = False
) -> View:
    lines = []
    if invited:
        lines += [_("You have been learning with us for a week. One question, if you like:"), ""]
    lines += [
        "💡 <b>" + _("What would you like to learn?") + "</b>",
        "",
        _(
            "Optional and anonymous: the city counts the answers to plan what to offer next. "
            "Choose any topics, or write your own. You can change your answer at any time "
            "(Menu → What I'd like to learn)."
        ),
    ]
    if wish:
        lines += ["", _("In your words: {wish}").format(wish=escape(wish))]
    builder = InlineKeyboardBuilder()
    for index, key in enumerate(topics):
        mark = "✅ " if key in chosen else ""
        builder.add(
            button(mark + topic_label(key), SurveyButton(action=SurveyAction.TOPIC, value=index))
        )
    builder.adjust(2)
    builder.row(button("✍️ " + _("In my own words"), SurveyButton(action=SurveyAction.WRITE)))
    builder.row(button("✔️ " + _("Done"), SurveyButton(action=SurveyAction.DONE)), menu_button())
    return View("\n".join(lines), builder.as_markup())


def ask_wish() -> str:
    return _(
        "What would you like to learn? Type it in a few words (up to {limit} characters)."
    ).format(limit=SURVEY_TEXT_LIMIT)


def wish_expected() -> str:
    return _("Please type it as text, or /cancel.")


def thanks() -> str:
    return _("Thank you! The city will take it into account.")


WISHES, WISH_SHOWN = 8, 120  # in the chat: the latest wishes, cut (the CLI prints more)


def demand_section(demand: SurveyDemand) -> list[str]:
    """The survey's part of the coordinator's demand report (/report demand), in HTML."""
    lines = [
        "💡 <b>" + _("What residents want to learn (survey)") + "</b>",
        _("Residents who answered: {count}.").format(count=demand.respondents),
    ]
    lines += [f"• {escape(topic_label(key))}: {count}" for key, count in demand.topics]
    if demand.wishes:
        lines.append(_("In their own words ({count}):").format(count=demand.wishes_total))
        lines += [f"– {escape(shorten(wish, WISH_SHOWN))}" for wish in demand.wishes[:WISHES]]
    return lines


def with_survey(report: View, demand: SurveyDemand) -> View:
    """The demand report with the survey's section after the unmet queries."""
    return View(report.text + "\n\n" + "\n".join(demand_section(demand)), report.markup)
