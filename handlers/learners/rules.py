"""/completion: what completes each track and festival, set by organisers.

    /completion                          the rules as they stand, and how to set one
    /completion track ID N [STEPS]       N steps in all; STEPS (e.g. 1,3) must be among them
    /completion festival ID N            N different events of the festival
    /completion track ID default         back to the default rule

ID is the track's or festival's id as in the catalogue (or its number). A refusal
(`LearnerError`) is explained by the error router.
"""

from __future__ import annotations

import re

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters import CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.permissions import protect
from bot.screens.learners import certificates as screens
from bot.screens.view import Viewer
from catalogue.learners.errors import LearnerError
from catalogue.learners.errors import LearnerProblem
from catalogue.learners.tables import CompletionKind
from catalogue.learners.tracks import all_rules
from catalogue.learners.tracks import completion_count
from catalogue.learners.tracks import find_target
from catalogue.learners.tracks import references
from catalogue.learners.tracks import set_rule
from catalogue.models import utc_now
from catalogue.team import Permission

router = protect(Router(name=__name__), Permission.MANAGE_PROGRAMME)

STEP_NUMBERS = re.compile(r"^\d{1,3}(,\d{1,3})*$")
DEFAULT = "default"


def _parse(words: list[str]) -> tuple[CompletionKind, str, int | None, list[int]]:
    """(kind, reference, how many or None for the default, required step numbers)."""
    if len(words) not in (3, 4) or words[0] not in {kind.value for kind in CompletionKind}:
        raise LearnerError(LearnerProblem.RULE_USAGE)
    kind, reference, count = CompletionKind(words[0]), words[1], words[2]
    if count.lower() == DEFAULT and len(words) == 3:
        return kind, reference, None, []
    if not (count.isascii() and count.isdigit()) or len(count) > 3:
        raise LearnerError(LearnerProblem.RULE_USAGE)
    steps: list[int] = []
    if len(words) == 4:
        if kind is CompletionKind.FESTIVAL or not STEP_NUMBERS.match(words[3]):
            raise LearnerError(LearnerProblem.RULE_USAGE)
        steps = [int(number) for number in words[3].split(",")]
    return kind, reference, int(count), steps


@router.message(Command("completion"))
async def completion_rules(
    message: Message, command: CommandObject, session: AsyncSession, viewer: Viewer
) -> None:
    words = (command.args or "").split()
    if not words:
        rules = await all_rules(session)
        names = await references(session, [rule.target for rule in rules])
        listed = [(rule, names[rule.target]) for rule in rules]
        await message.answer(screens.rules_view(viewer, listed))
        return
    kind, reference, count, steps = _parse(words)
    target_id = await find_target(session, kind, reference)
    rule = await set_rule(session, kind, target_id, count, steps, message.from_user.id, utc_now())
    names = await references(session, [rule.target])
    completed = await completion_count(session, rule.target)
    await message.answer(screens.rule_saved(viewer, rule, names[rule.target], completed))
