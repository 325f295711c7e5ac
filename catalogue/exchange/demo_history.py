"""The demo's past: synthetic people, attendance, feedback, answers and completions.

The demo programme (demo_programme.json) carries a past festival week, "Neighbourhood
Learning Week", and regular sessions of the last days. When the demo is loaded into an empty
catalogue, `add_demo_history` fills what has already taken place, so `/report`, the GNLC report
pack and a passport have something to show at the first try:

* `PEOPLE` synthetic residents with negative Telegram ids (no Telegram account has one), marked
  inactive so that nothing is ever sent to them; each has a category and one of its tracks, a
  pass with an age band (most of them), and answers to the optional questions (most of them
  agreed: gender, district of residence, groups);
* the local chat's person (`LOCAL_LEARNER`, Telegram id 1, as `learncity chat` and the
  README's first command talk to the bot) with a few sessions of one track behind them, so
  their `/passport` is not empty; inactive, like the others, until they write to the bot, so
  no broadcast or count of residents includes them before;
* at every session that ended (not cancelled): seats, check-ins at the door by a handful of
  synthetic volunteers (negative Telegram ids too), headcounts at festival events, scores with
  some comments;
* completion rules on the tracks that had sessions already (at most 3 steps), and the
  completions that follow from the attendance (catalogue/learners/tracks.py decides).

All of it is demo data: the `demo_history` row in `catalogue_meta` says so, and the GNLC pack
prints that it includes synthetic history. It is made once, with a fixed seed; the daily
refresh of the demo moves the sessions' dates, not this history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.passes import new_pass_code
from catalogue.checkin.tables import AgeBand
from catalogue.checkin.tables import AttendanceEntry
from catalogue.checkin.tables import CheckIn
from catalogue.checkin.tables import CheckInMethod
from catalogue.checkin.tables import ResidentPass
from catalogue.checkin.tables import SessionFeedback
from catalogue.learners.tables import CompletionRule
from catalogue.learners.tables import Gender
from catalogue.learners.tables import LearnerFacts
from catalogue.learners.tables import LearnerGroup
from catalogue.learners.tracks import record_completions
from catalogue.models import CatalogueMeta
from catalogue.models import Offer
from catalogue.models import OfferKind
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import SessionStatus
from catalogue.models import Track
from catalogue.models import TrackStep
from catalogue.queries import select_sessions
from catalogue.reports.gnlc import DEMO_HISTORY_KEY

SEED = 1732  # the year Sysert was founded: the same history every time
PEOPLE = 90
FIRST_TELEGRAM_ID = -1_000_000_000  # the demo's people count down from here
VOLUNTEERS = tuple(range(-2_000_000_001, -2_000_000_007, -1))
LOCAL_LEARNER = 1  # bot/startup/local_chat.py LOCAL_USER: the person of the local chat
TRACK_RULE_STEPS = 3

AGE_BANDS = (
    (AgeBand.UNDER_18, 14),
    (AgeBand.FROM_18, 16),
    (AgeBand.FROM_30, 22),
    (AgeBand.FROM_45, 18),
    (AgeBand.FROM_60, 20),
    (None, 10),
)
GENDERS = ((Gender.WOMAN, 54), (Gender.MAN, 36), (Gender.OTHER, 2), (Gender.UNDISCLOSED, 8))
# The default HOME_DISTRICTS and LEARNER_GROUPS (bot/settings.py, docs/learning-record.md).
DISTRICTS = (("Центр", 55), ("Новый", 27), ("Заречный", 18))
GROUPS = (
    ("disability", 8),
    ("pensioner", 22),
    ("job_seeking", 12),
    ("migrant", 10),
    ("parent_on_leave", 8),
)
CONSENTING = 0.8
RETURNING = 0.35  # came before the demo's history begins
COMMENTS = {
    "ru": (
        "Очень понравилось, спасибо ведущим!",
        "Было интересно, но в зале душно.",
        "Хотелось бы продолжения на следующей неделе.",
        "Удобное время, приду ещё.",
        "Немного сложно для новичков.",
    ),
    "en": (
        "Loved it, thank you to the hosts!",
        "Interesting, but the room was stuffy.",
        "I would like a follow-up next week.",
        "A convenient time, I will come again.",
    ),
}


def _weighted(rng: random.Random, choices: tuple[tuple[Any, int], ...]) -> Any:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]


@dataclass(frozen=True)
class _Ended:
    session_id: int
    offer_id: int
    starts_at: datetime
    ends_at: datetime
    capacity: int | None
    kind: OfferKind
    festival: bool


@dataclass
class _Person:
    resident_id: int
    category_id: int | None
    age_band: AgeBand | None
    track_offers: frozenset[int]
    language: str
    keen: float  # how likely they come to a session of their track


@dataclass(frozen=True)
class _Attendance:
    """Who came to which ended session: `visits` maps each of `ended` to the `people` who came."""

    people: list[_Person]
    ended: list[_Ended]
    visits: dict[int, list[_Person]]


async def add_demo_history(session: AsyncSession, now: datetime) -> bool:
    """Fill the past of the demo programme once; False if it is there already."""
    if await session.get(CatalogueMeta, DEMO_HISTORY_KEY) is not None:
        return False
    rng = random.Random(SEED)
    ended = await _ended_sessions(session, now)
    tracks = await _tracks(session)
    held = {item.offer_id for item in ended}
    people = await _people(session, rng, tracks, held, now)
    await _answers(session, rng, people, now)
    attendance = _attendance(rng, people, ended)
    await _seats(session, rng, attendance)
    await _check_ins(session, rng, attendance)
    await _track_rules(session, tracks, ended, now)
    await record_completions(session, [person.resident_id for person in people])
    session.add(CatalogueMeta(key=DEMO_HISTORY_KEY, value=now.date().isoformat()))
    await session.flush()
    return True


async def _ended_sessions(session: AsyncSession, now: datetime) -> list[_Ended]:
    rows = await session.execute(
        select_sessions(
            OfferSession.id,
            OfferSession.offer_id,
            OfferSession.starts_at,
            OfferSession.ends_at,
            OfferSession.capacity,
            Offer.kind,
            Offer.festival_id.is_not(None),
        )
        .where(OfferSession.ends_at <= now, OfferSession.status != SessionStatus.CANCELLED)
        .order_by(OfferSession.starts_at, OfferSession.id)
    )
    return [_Ended(*row) for row in rows]


async def _tracks(session: AsyncSession) -> dict[int, tuple[int, list[int]]]:
    """Track id → (its category, its offers)."""
    rows = await session.execute(
        select(Track.id, Track.category_id, TrackStep.offer_id)
        .join(TrackStep, TrackStep.track_id == Track.id)
        .order_by(Track.id, TrackStep.position)
    )
    tracks: dict[int, tuple[int, list[int]]] = {}
    for track_id, category_id, offer_id in rows:
        tracks.setdefault(track_id, (category_id, []))[1].append(offer_id)
    return tracks


async def _people(
    session: AsyncSession,
    rng: random.Random,
    tracks: dict[int, tuple[int, list[int]]],
    held: set[int],
    now: datetime,
) -> list[_Person]:
    track_ids = sorted(tracks)
    rows = []
    for number in range(PEOPLE):
        track_id = rng.choice(track_ids)
        rows.append(
            {
                "telegram_id": FIRST_TELEGRAM_ID - number,
                "language": "en" if rng.random() < 0.15 else "ru",
                "language_chosen": True,
                "category_id": tracks[track_id][0],
                "track_id": track_id,
                "is_active": False,
                "created_at": now - timedelta(days=rng.randint(20, 60)),
            }
        )
    local = await session.scalar(select(Resident).where(Resident.telegram_id == LOCAL_LEARNER))
    if local is None:
        # Inactive like the others until they write (catalogue/residents.py turns them
        # active): nothing is sent to the local chat's person before they speak.
        local = Resident(telegram_id=LOCAL_LEARNER, language="ru", is_active=False, created_at=now)
        session.add(local)
        await session.flush()
    ids = await session.scalars(
        insert(Resident).returning(Resident.id, sort_by_parameter_order=True), rows
    )
    people = [
        _Person(
            resident_id,
            row["category_id"],
            _weighted(rng, AGE_BANDS),
            frozenset(tracks[row["track_id"]][1]),
            row["language"],
            keen=rng.uniform(0.35, 0.9),
        )
        for resident_id, row in zip(ids.all(), rows, strict=True)
    ]
    # The local chat's person follows the track with the most offers held already, keenly.
    local_track = max(track_ids, key=lambda track: len(held.intersection(tracks[track][1])))
    people.append(_Person(local.id, None, None, frozenset(tracks[local_track][1]), "ru", keen=1.0))
    existing = set(await session.scalars(select(ResidentPass.resident_id)))
    await session.execute(
        insert(ResidentPass.__table__),
        [
            {"resident_id": person.resident_id, "code": new_pass_code(),
             "age_band": person.age_band, "created_at": now}
            for person in people
            if person.resident_id not in existing
        ],
    )  # fmt: skip
    return people


async def _answers(
    session: AsyncSession, rng: random.Random, people: list[_Person], now: datetime
) -> None:
    facts, groups = [], []
    for person in people[:PEOPLE]:  # the local chat's person answers for themselves
        agreed = rng.random() < CONSENTING
        facts.append(
            {
                "resident_id": person.resident_id,
                "asked_at": now - timedelta(days=20),
                "consented_at": now - timedelta(days=20) if agreed else None,
                "gender": _weighted(rng, GENDERS) if agreed else None,
                "home_district": _weighted(rng, DISTRICTS)
                if agreed and rng.random() < 0.9
                else None,
                "updated_at": now - timedelta(days=20),
            }
        )
        if agreed:
            keys = {_weighted(rng, GROUPS) for _ in range(rng.choice((0, 0, 1, 1, 2)))}
            groups += [{"resident_id": person.resident_id, "group_key": key} for key in keys]
    await session.execute(insert(LearnerFacts.__table__), facts)
    if groups:
        await session.execute(insert(LearnerGroup.__table__), groups)


def _attendance(rng: random.Random, people: list[_Person], ended: list[_Ended]) -> _Attendance:
    """Who came to each ended session: mostly people whose track holds its offer, a few
    others, more at festival events; never more than the room holds."""
    visits: dict[int, list[_Person]] = {}
    for item in ended:
        chance_out = 0.12 if item.festival else 0.03
        came = [
            person
            for person in people
            if rng.random() < (person.keen if item.offer_id in person.track_offers else chance_out)
        ]
        rng.shuffle(came)
        if item.capacity:
            came = came[: item.capacity]
        visits[item.session_id] = came
    return _Attendance(people, ended, visits)


async def _seats(session: AsyncSession, rng: random.Random, attendance: _Attendance) -> None:
    """Most who came had a seat; a few held a seat and did not come (the no-shows)."""
    rows = []
    for item in attendance.ended:
        came = attendance.visits[item.session_id]
        seated = {person.resident_id for person in came if rng.random() < 0.75}
        others = [person for person in attendance.people if person not in came]
        no_shows = rng.sample(others, k=min(len(others), max(0, len(seated) // 6)))
        seated |= {person.resident_id for person in no_shows}
        booked = item.starts_at - timedelta(days=2)
        rows += [
            {"resident_id": resident_id, "session_id": item.session_id,
             "status": SeatStatus.GOING, "via_offer": False, "created_at": booked,
             "updated_at": booked}
            for resident_id in sorted(seated)
        ]  # fmt: skip
    if rows:
        await session.execute(insert(Seat.__table__), rows)


async def _check_ins(session: AsyncSession, rng: random.Random, attendance: _Attendance) -> None:
    """One door entry a check-in (a code, a scan or a self check-in), headcounts at festival
    events, and the scores and comments of some of those who came."""
    rows = await session.execute(select(Seat.session_id, Seat.resident_id))
    seats = {(session_id, resident_id) for session_id, resident_id in rows}
    entries: list[dict[str, Any]] = []
    check_ins: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []
    people, ended = attendance.people, attendance.ended
    returning = {person.resident_id for person in people if rng.random() < RETURNING}
    for item in ended:
        volunteers = rng.sample(VOLUNTEERS, k=rng.choice((1, 1, 2)))
        for person in attendance.visits[item.session_id]:
            at = item.starts_at + timedelta(minutes=rng.randint(-10, 15))
            method = rng.choice((CheckInMethod.CODE, CheckInMethod.SCAN, CheckInMethod.SELF))
            volunteer = None if method is CheckInMethod.SELF else rng.choice(volunteers)
            entries.append({"session_id": item.session_id, "volunteer_id": volunteer,
                            "method": method, "people": 0, "created_at": at})  # fmt: skip
            check_ins.append(
                {
                    "session_id": item.session_id,
                    "resident_id": person.resident_id,
                    "registered": (item.session_id, person.resident_id) in seats,
                    "category_id": person.category_id,
                    "age_band": person.age_band,
                    "checked_in_at": at,
                }
            )
            if rng.random() < 0.45:
                feedback.append(_feedback(rng, item, person))
        if item.kind is OfferKind.FESTIVAL_EVENT:
            entries.append({"session_id": item.session_id, "volunteer_id": volunteers[0],
                            "method": CheckInMethod.HEADCOUNT, "people": rng.randint(12, 45),
                            "created_at": item.starts_at + timedelta(minutes=30)})  # fmt: skip
    if not entries:
        return
    # Every entry has its own instant (microseconds apart), to find its id after one insert.
    for number, entry in enumerate(entries):
        entry["created_at"] += timedelta(microseconds=number)
    await session.execute(insert(AttendanceEntry.__table__), entries)
    ids = dict(
        (
            await session.execute(
                select(AttendanceEntry.created_at, AttendanceEntry.id).where(
                    AttendanceEntry.session_id.in_([item.session_id for item in ended])
                )
            )
        ).all()
    )
    named = [ids[entry["created_at"]] for entry in entries
             if entry["method"] is not CheckInMethod.HEADCOUNT]  # fmt: skip
    seen: set[int] = set()
    for entry_id, row in sorted(
        zip(named, check_ins, strict=True), key=lambda pair: pair[1]["checked_in_at"]
    ):
        row["entry_id"] = entry_id
        # Some people came in an earlier season: none of their visits here is their first.
        row["first_visit"] = row["resident_id"] not in seen | returning
        seen.add(row["resident_id"])
    if check_ins:
        await session.execute(insert(CheckIn.__table__), check_ins)
    if feedback:
        await session.execute(insert(SessionFeedback.__table__), feedback)


def _feedback(rng: random.Random, item: _Ended, person: _Person) -> dict[str, Any]:
    score = _weighted(rng, ((5, 50), (4, 30), (3, 12), (2, 5), (1, 3)))
    comment = rng.choice(COMMENTS[person.language]) if rng.random() < 0.3 else None
    return {
        "session_id": item.session_id,
        "resident_id": person.resident_id,
        "score": score,
        "comment": comment,
        "created_at": item.ends_at + timedelta(hours=1),
    }


async def _track_rules(
    session: AsyncSession,
    tracks: dict[int, tuple[int, list[int]]],
    ended: list[_Ended],
    now: datetime,
) -> None:
    """A rule for each track that had sessions already: attend up to `TRACK_RULE_STEPS` of
    its offers (as an organiser might set for a short season)."""
    held = {item.offer_id for item in ended}
    ruled = set(await session.scalars(select(CompletionRule.track_id)))
    rows = []
    for track_id, (_category, offers) in sorted(tracks.items()):
        steps = len([offer for offer in offers if offer in held])
        if steps >= 2 and track_id not in ruled:
            rows.append(
                {
                    "track_id": track_id,
                    "required_offer_ids": [],
                    "min_steps": min(TRACK_RULE_STEPS, steps),
                    "updated_at": now,
                }
            )
    if rows:
        await session.execute(insert(CompletionRule.__table__), rows)
