"""When a track or a festival is completed: the organisers' rules, and recording completion.

A rule (`completion_rule`) names the steps that must each be attended and how many different
steps must be attended in all. A *step* of a track is one of its offers (`track_step`); of a
festival, one of the festival's offers. A step is attended once the resident was checked in at
any session of its offer. Without a rule:

* a track is completed when every one of its steps was attended;
* a festival when `FESTIVAL_DEFAULT_STEPS` of its offers were (all of them, if it has fewer).

A completion is recorded once (`completion`), at the moment of the check-in that met the rule:
the latest of the required steps' first attendance and the first attendance that made the
count. It stays when a rule changes later or a check-in is undone: what was earned is kept.
`record_completions` runs after check-ins, when a resident opens their passport and when an
organiser sets a rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.tables import CheckIn
from catalogue.database import dialect_insert
from catalogue.learners.errors import LearnerError
from catalogue.learners.errors import LearnerProblem
from catalogue.learners.tables import Completion
from catalogue.learners.tables import CompletionKind
from catalogue.learners.tables import CompletionRule
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferSession
from catalogue.models import Track
from catalogue.models import TrackStep
from catalogue.models import Translations
from catalogue.queries import find_by_reference

FESTIVAL_DEFAULT_STEPS = 3

Target = tuple[CompletionKind, int]


@dataclass(frozen=True)
class Rule:
    """A target's rule as it applies: its steps in order, the required ones, how many."""

    kind: CompletionKind
    target_id: int
    title: Translations
    steps: tuple[int, ...]  # offer ids, in the track's order
    required: frozenset[int]
    min_steps: int
    custom: bool  # set by an organiser (False: the default rule)

    @property
    def target(self) -> Target:
        return (self.kind, self.target_id)

    @property
    def completable(self) -> bool:
        return bool(self.steps) and self.min_steps <= len(self.steps)

    def met_at(self, first_visits: dict[int, datetime]) -> datetime | None:
        """When the rule was met, from each offer's first attendance; None if not (yet)."""
        if not self.completable:
            return None
        times = sorted(first_visits[offer] for offer in self.steps if offer in first_visits)
        if len(times) < self.min_steps or not self.required <= first_visits.keys():
            return None
        met = times[self.min_steps - 1]
        for offer in self.required:
            met = max(met, first_visits[offer])
        return met


@dataclass(frozen=True)
class CompletedTarget:
    kind: CompletionKind
    target_id: int
    title: Translations
    completed_at: datetime
    completion_id: int | None = None


# -- the rules


def _by_kind(targets: Iterable[Target]) -> tuple[list[int], list[int]]:
    """(track ids, festival ids)"""
    tracks, festivals = set(), set()
    for kind, target_id in targets:
        (tracks if kind is CompletionKind.TRACK else festivals).add(target_id)
    return sorted(tracks), sorted(festivals)


async def _steps(
    session: AsyncSession, tracks: list[int], festivals: list[int]
) -> dict[Target, list[int]]:
    """Offer ids of each target, in order (a track's by position, a festival's by id): one
    query for both kinds."""
    track = sa.literal(CompletionKind.TRACK.value)
    festival = sa.literal(CompletionKind.FESTIVAL.value)
    of_tracks = select(
        track.label("kind"),
        TrackStep.track_id.label("target"),
        TrackStep.position.label("position"),
        TrackStep.offer_id.label("offer"),
    ).where(TrackStep.track_id.in_(tracks))
    of_festivals = select(festival, Offer.festival_id, sa.literal(0), Offer.id).where(
        Offer.festival_id.in_(festivals)
    )
    both = sa.union_all(of_tracks, of_festivals).subquery()
    rows = await session.execute(
        select(both.c.kind, both.c.target, both.c.offer).order_by(
            both.c.kind, both.c.target, both.c.position, both.c.offer
        )
    )
    steps: dict[Target, list[int]] = defaultdict(list)
    for kind, target_id, offer_id in rows:
        steps[CompletionKind(kind), target_id].append(offer_id)
    return steps


def _rule(
    kind: CompletionKind,
    target_id: int,
    title: Translations,
    offers: tuple[int, ...],
    custom: CompletionRule | None,
) -> Rule:
    if custom is not None:
        required = frozenset(custom.required_offer_ids) & set(offers)
        return Rule(kind, target_id, title, offers, required, custom.min_steps, True)
    if kind is CompletionKind.TRACK:  # every step
        return Rule(kind, target_id, title, offers, frozenset(offers), max(len(offers), 1), False)
    least = max(min(FESTIVAL_DEFAULT_STEPS, len(offers)), 1)
    return Rule(kind, target_id, title, offers, frozenset(), least, False)


async def rules_for(session: AsyncSession, targets: Iterable[Target]) -> list[Rule]:
    """The rules of these tracks and festivals (a default one where none was set): tracks
    first, each kind by id; two queries."""
    tracks, festivals = _by_kind(targets)
    if not tracks and not festivals:
        return []
    of_tracks = (
        select(sa.literal(CompletionKind.TRACK.value).label("kind"), Track.id, Track.title)
        .add_columns(CompletionRule.required_offer_ids, CompletionRule.min_steps)
        .outerjoin(CompletionRule, CompletionRule.track_id == Track.id)
        .where(Track.id.in_(tracks))
    )
    of_festivals = (
        select(sa.literal(CompletionKind.FESTIVAL.value), Festival.id, Festival.title)
        .add_columns(CompletionRule.required_offer_ids, CompletionRule.min_steps)
        .outerjoin(CompletionRule, CompletionRule.festival_id == Festival.id)
        .where(Festival.id.in_(festivals))
    )
    found = (await session.execute(sa.union_all(of_tracks, of_festivals))).all()
    steps = await _steps(session, tracks, festivals)
    rules = [
        _rule(
            CompletionKind(kind),
            target_id,
            title,
            tuple(steps.get((CompletionKind(kind), target_id), ())),
            None if least is None else CompletionRule(required_offer_ids=required, min_steps=least),
        )
        for kind, target_id, title, required, least in found
    ]
    return sorted(rules, key=lambda rule: (rule.kind is not CompletionKind.TRACK, rule.target_id))


async def all_rules(session: AsyncSession) -> list[Rule]:
    """Every track's and festival's rule, tracks first (for /completion)."""
    tracks = await session.scalars(select(Track.id).order_by(Track.position, Track.id))
    festivals = await session.scalars(select(Festival.id).order_by(Festival.id))
    targets = [(CompletionKind.TRACK, i) for i in tracks]
    targets += [(CompletionKind.FESTIVAL, i) for i in festivals]
    order = {target: index for index, target in enumerate(targets)}
    return sorted(await rules_for(session, targets), key=lambda rule: order[rule.target])


async def find_target(session: AsyncSession, kind: CompletionKind, reference: str) -> int:
    model = Track if kind is CompletionKind.TRACK else Festival
    found = await find_by_reference(session, model, reference)
    if found is None:
        problem = (
            LearnerProblem.UNKNOWN_TRACK
            if kind is CompletionKind.TRACK
            else LearnerProblem.UNKNOWN_FESTIVAL
        )
        raise LearnerError(problem)
    return found.id


async def set_rule(
    session: AsyncSession,
    kind: CompletionKind,
    target_id: int,
    min_steps: int | None,
    required_steps: Sequence[int],
    organiser_id: int,
    now: datetime,
) -> Rule:
    """Set a target's rule: `min_steps` steps in all (None: the default rule again), of them
    the steps numbered `required_steps` (1 = the first step, in the track's order).
    Completions the new rule makes are recorded at once."""
    column = CompletionRule.track_id if kind is CompletionKind.TRACK else CompletionRule.festival_id
    await session.execute(delete(CompletionRule).where(column == target_id))
    if min_steps is not None:
        (current,) = await rules_for(session, [(kind, target_id)])
        if not 1 <= min_steps <= len(current.steps):
            raise LearnerError(LearnerProblem.TOO_MANY_STEPS)
        if any(not 1 <= number <= len(current.steps) for number in required_steps):
            raise LearnerError(LearnerProblem.NOT_A_STEP)
        required = sorted({current.steps[number - 1] for number in required_steps})
        session.add(
            CompletionRule(
                track_id=target_id if kind is CompletionKind.TRACK else None,
                festival_id=target_id if kind is CompletionKind.FESTIVAL else None,
                required_offer_ids=required,
                min_steps=max(min_steps, len(required)),
                updated_by=organiser_id,
                updated_at=now,
            )
        )
    await session.flush()
    (rule,) = await rules_for(session, [(kind, target_id)])
    await record_completions(session, await _attendees(session, rule.steps))
    return rule


async def _attendees(session: AsyncSession, offer_ids: Sequence[int]) -> list[int]:
    if not offer_ids:
        return []
    found = await session.scalars(
        select(CheckIn.resident_id)
        .join(OfferSession, OfferSession.id == CheckIn.session_id)
        .where(OfferSession.offer_id.in_(offer_ids))
        .distinct()
    )
    return list(found)


# -- completion


async def _first_visits(
    session: AsyncSession, resident_ids: Sequence[int]
) -> dict[int, dict[int, datetime]]:
    """For each resident: offer id → their first check-in at any of its sessions."""
    rows = await session.execute(
        select(CheckIn.resident_id, OfferSession.offer_id, func.min(CheckIn.checked_in_at))
        .join(OfferSession, OfferSession.id == CheckIn.session_id)
        .where(CheckIn.resident_id.in_(resident_ids))
        .group_by(CheckIn.resident_id, OfferSession.offer_id)
    )
    visits: dict[int, dict[int, datetime]] = defaultdict(dict)
    for resident_id, offer_id, first in rows:
        visits[resident_id][offer_id] = first
    return visits


async def _targets_of(session: AsyncSession, offer_ids: Iterable[int]) -> set[Target]:
    """The tracks and festivals these offers are steps of, in one query."""
    wanted = list(offer_ids)
    if not wanted:
        return set()
    tracks = select(sa.literal(CompletionKind.TRACK.value), TrackStep.track_id).where(
        TrackStep.offer_id.in_(wanted)
    )
    festivals = select(sa.literal(CompletionKind.FESTIVAL.value), Offer.festival_id).where(
        Offer.id.in_(wanted), Offer.festival_id.is_not(None)
    )
    rows = await session.execute(sa.union(tracks, festivals))
    return {(CompletionKind(kind), target_id) for kind, target_id in rows}


async def completed_tracks(session: AsyncSession, resident_id: int) -> list[CompletedTarget]:
    """The tracks and festivals the resident completed by the rules as they stand now, with
    when, earliest first (whether recorded yet or not)."""
    visits = (await _first_visits(session, [resident_id])).get(resident_id, {})
    rules = await rules_for(session, await _targets_of(session, visits))
    done = [
        CompletedTarget(rule.kind, rule.target_id, rule.title, met)
        for rule in rules
        if (met := rule.met_at(visits)) is not None
    ]
    return sorted(done, key=lambda item: (item.completed_at, item.kind, item.target_id))


async def record_completions(
    session: AsyncSession, resident_ids: Iterable[int], offer_ids: Iterable[int] | None = None
) -> list[Completion]:
    """Record what these residents have newly completed; returns the new completions. With
    `offer_ids` (those just attended), only the tracks and festivals they are steps of are
    looked at: most check-ins are at offers of none, and cost one query here."""
    residents = sorted(set(resident_ids))
    if not residents:
        return []
    if offer_ids is not None:
        targets = await _targets_of(session, offer_ids)
        if not targets:
            return []
        visits = await _first_visits(session, residents)
    else:
        visits = await _first_visits(session, residents)
        offers = {offer for per_resident in visits.values() for offer in per_resident}
        targets = await _targets_of(session, offers)
    return await record_met(session, visits, targets)


Recorded = tuple[int | None, int | None, int | None]  # (resident, track, festival)


async def record_met(
    session: AsyncSession,
    visits: dict[int, dict[int, datetime]],
    targets: set[Target],
    kept: set[Recorded] | None = None,
) -> list[Completion]:
    """Record the completions the rules of `targets` grant to these residents, from each one's
    first visit of every offer (resident → offer → time); returns the new ones. `kept`: the
    completions already recorded for them, when the caller has read them."""
    residents = sorted(visits)
    if not residents or not targets:
        return []
    rules = await rules_for(session, targets)
    rows = []
    for resident_id in residents:
        mine = visits[resident_id]
        for rule in rules:
            met = rule.met_at(mine)
            if met is not None:
                rows.append(
                    {
                        "resident_id": resident_id,
                        "track_id": rule.target_id if rule.kind is CompletionKind.TRACK else None,
                        "festival_id": (
                            rule.target_id if rule.kind is CompletionKind.FESTIVAL else None
                        ),
                        "completed_at": met,
                    }
                )
    if not rows:
        return []
    kept = (
        kept
        if kept is not None
        else {
            (row.resident_id, row.track_id, row.festival_id)
            for row in (
                await session.execute(
                    select(
                        Completion.resident_id, Completion.track_id, Completion.festival_id
                    ).where(Completion.resident_id.in_(residents))
                )
            )
        }
    )
    missing = [
        row for row in rows if (row["resident_id"], row["track_id"], row["festival_id"]) not in kept
    ]
    if not missing:  # the usual case: nothing new since the last look
        return []
    insert = dialect_insert(session)(Completion.__table__).on_conflict_do_nothing()
    new: list[Completion] = []
    for row in missing:  # one at a time: a parallel update may have recorded it meanwhile
        made = await session.execute(insert.returning(Completion.id), row)
        completion_id = made.scalar()
        if completion_id is not None:
            new.append(Completion(id=completion_id, **row))
    return new


def _completions_with_titles() -> sa.Select[tuple[Completion, Any, Any]]:
    return (
        select(Completion, Track.title, Festival.title)
        .outerjoin(Track, Track.id == Completion.track_id)
        .outerjoin(Festival, Festival.id == Completion.festival_id)
        .order_by(Completion.completed_at, Completion.id)
    )


def _completed(row: Completion, track_title: Any, festival_title: Any) -> CompletedTarget:
    return CompletedTarget(
        row.kind,
        row.track_id or row.festival_id or 0,
        track_title or festival_title or {},
        row.completed_at,
        row.id,
    )


async def completions_of(session: AsyncSession, resident_id: int) -> list[CompletedTarget]:
    """The resident's recorded completions, earliest first, with their titles: one query."""
    rows = await session.execute(
        _completions_with_titles().where(Completion.resident_id == resident_id)
    )
    return [_completed(*row) for row in rows]


async def completions_by_id(
    session: AsyncSession, completion_ids: Iterable[int]
) -> dict[int, tuple[int, CompletedTarget]]:
    """(resident id, completion) of each completion still recorded, by its id: one query."""
    ids = set(completion_ids)
    if not ids:
        return {}
    rows = await session.execute(_completions_with_titles().where(Completion.id.in_(ids)))
    return {row[0].id: (row[0].resident_id, _completed(*row)) for row in rows}


async def _of_targets(
    session: AsyncSession, targets: Iterable[Target], attribute: str
) -> dict[Target, Any]:
    """One column of each track and festival, by target."""
    wanted = list(targets)
    found: dict[Target, Any] = {}
    for kind, model in ((CompletionKind.TRACK, Track), (CompletionKind.FESTIVAL, Festival)):
        ids = {target_id for target_kind, target_id in wanted if target_kind is kind}
        if ids:
            rows = await session.execute(
                select(model.id, getattr(model, attribute)).where(model.id.in_(ids))
            )
            found.update({(kind, target_id): value for target_id, value in rows})
    return found


async def target_titles(
    session: AsyncSession, targets: Iterable[Target]
) -> dict[Target, Translations]:
    return await _of_targets(session, targets, "title")


async def references(session: AsyncSession, targets: Iterable[Target]) -> dict[Target, str]:
    """The catalogue's id ("digital-basics") of each track and festival."""
    return await _of_targets(session, targets, "external_id")


async def completion_count(session: AsyncSession, target: Target) -> int:
    """How many completions of the track or festival there are (forgotten residents too)."""
    kind, target_id = target
    column = Completion.track_id if kind is CompletionKind.TRACK else Completion.festival_id
    return await session.scalar(select(func.count()).where(column == target_id)) or 0
