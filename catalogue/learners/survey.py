"""What residents want to learn: a short optional survey, and its aggregate.

A resident answers with topics (keys of the city's `SURVEY_TOPICS`) and, if they like, a line
of their own; one row each, changed whenever they answer again (under the menu at any time).
It is offered once on its own, a week after the resident first wrote to the bot: the upkeep
(scheduler/jobs.py) queues an outbox message (kind "survey", one per resident by its dedupe
key) for residents who joined between one and two weeks ago and have not answered; the
message is dropped at send time if they answered meanwhile.

`survey_demand` is the coordinator's view: how many answered, each topic's count, and the
free-text wishes, never who wrote them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.learners.tables import SURVEY_TEXT_LIMIT
from catalogue.learners.tables import SurveyAnswer
from catalogue.models import Resident
from catalogue.outbox.messages import NewMessage
from catalogue.outbox.messages import OutboxMessage
from catalogue.outbox.messages import enqueue_many
from catalogue.text_policy import one_line

SURVEY = "survey"  # outbox kind
FIRST_WEEK = timedelta(days=7)
OFFER_WINDOW = timedelta(days=7)  # joined more than this after the first week: not offered
OFFERS_PER_RUN = 1000
WISHES_SHOWN = 20


def dedupe_key(resident_id: int) -> str:
    return f"{SURVEY}:{resident_id}"


async def answer_of(session: AsyncSession, resident_id: int) -> SurveyAnswer | None:
    return await session.get(SurveyAnswer, resident_id, populate_existing=True)


async def _answer(session: AsyncSession, resident_id: int, now: datetime) -> SurveyAnswer:
    found = await answer_of(session, resident_id)
    if found is None:
        found = SurveyAnswer(resident_id=resident_id, topics=[], answered_at=now)
    found.answered_at = now
    return found


async def toggle_topic(
    session: AsyncSession, resident_id: int, topic: str, now: datetime
) -> SurveyAnswer:
    answer = await _answer(session, resident_id, now)
    topics = list(answer.topics)
    answer.topics = [t for t in topics if t != topic] if topic in topics else [*topics, topic]
    session.add(answer)
    await session.flush()
    return answer


async def set_wish(
    session: AsyncSession, resident_id: int, text: str | None, now: datetime
) -> SurveyAnswer:
    """The resident's own words (None or blank: taken back), cut to SURVEY_TEXT_LIMIT."""
    answer = await _answer(session, resident_id, now)
    cleaned = one_line(text or "")[:SURVEY_TEXT_LIMIT]
    answer.wish = cleaned or None
    session.add(answer)
    await session.flush()
    return answer


async def plan_survey_offers(session: AsyncSession, now: datetime) -> int:
    """Queue the survey for residents whose first week is over; returns how many."""
    key = sa.literal(f"{SURVEY}:", sa.String) + sa.cast(Resident.id, sa.String)
    due = (
        await session.execute(
            select(Resident.id, Resident.telegram_id, Resident.created_at)
            .where(
                Resident.created_at <= now - FIRST_WEEK,
                Resident.created_at > now - FIRST_WEEK - OFFER_WINDOW,
                Resident.is_active.is_(True),
                ~select(SurveyAnswer.resident_id)
                .where(SurveyAnswer.resident_id == Resident.id)
                .exists(),
                ~select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key).exists(),
            )
            .order_by(Resident.id)
            .limit(OFFERS_PER_RUN)
        )
    ).all()
    await enqueue_many(
        session,
        [
            NewMessage(
                kind=SURVEY,
                chat_id=telegram_id,
                dedupe_key=dedupe_key(resident_id),
                due_at=max(created_at + FIRST_WEEK, now),
                resident_id=resident_id,
            )
            for resident_id, telegram_id, created_at in due
        ],
    )
    return len(due)


async def answered(session: AsyncSession, resident_ids: Sequence[int]) -> set[int]:
    if not resident_ids:
        return set()
    found = await session.scalars(
        select(SurveyAnswer.resident_id).where(SurveyAnswer.resident_id.in_(resident_ids))
    )
    return set(found)


@dataclass(frozen=True)
class SurveyDemand:
    """The survey's answers in a period, counted: nobody is named."""

    respondents: int = 0
    topics: list[tuple[str, int]] = field(default_factory=list)  # most asked first
    wishes: list[str] = field(default_factory=list)  # the latest first, at most WISHES_SHOWN
    wishes_total: int = 0


async def survey_demand(
    session: AsyncSession, since: datetime | None = None, until: datetime | None = None
) -> SurveyDemand:
    """Answers given (or last changed) in [since, until)."""
    conditions = []
    if since is not None:
        conditions.append(SurveyAnswer.answered_at >= since)
    if until is not None:
        conditions.append(SurveyAnswer.answered_at < until)
    rows = (
        await session.execute(
            select(SurveyAnswer.topics, SurveyAnswer.wish)
            .where(*conditions)
            .order_by(SurveyAnswer.answered_at.desc())
        )
    ).all()
    counts: Counter[str] = Counter()
    wishes = []
    for topics, wish in rows:
        counts.update(set(topics or []))
        if wish:
            wishes.append(wish)
    respondents = sum(1 for topics, wish in rows if topics or wish)
    return SurveyDemand(
        respondents=respondents,
        topics=sorted(counts.items(), key=lambda item: (-item[1], item[0])),
        wishes=wishes[:WISHES_SHOWN],
        wishes_total=len(wishes),
    )


async def survey_between(
    session: AsyncSession, since: date, until: date, zone: ZoneInfo
) -> SurveyDemand:
    """The answers given (or last changed) on the days `since` to `until`, both included, in
    the city's zone: the survey's part of the demand report."""
    start = datetime.combine(since, time(), zone)
    end = datetime.combine(until + timedelta(days=1), time(), zone)
    return await survey_demand(session, start, end)


def survey_table(demand: SurveyDemand) -> str:
    """`learncity report demand`: the survey's counts, tab-separated, then the wishes."""
    lines = [f"Survey: what residents want to learn ({demand.respondents} answered)"]
    lines.append("topic\tresidents")
    lines += [f"{topic}\t{count}" for topic, count in demand.topics]
    if demand.wishes:
        lines.append(f"In their own words ({demand.wishes_total}, the latest first):")
        lines += [f"- {wish}" for wish in demand.wishes]
    return "\n".join(lines)
