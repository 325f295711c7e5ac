"""A small learning city's week, built by hand, whose GNLC figures are written out below.

The week runs from 10 to 4 days ago (city time). In it:

* three providers: "Old Hands" ran a course before the week and in it (returning); "Newcomers"
  ran a lecture and a workshop (new); "Cancellers" had one excursion, cancelled (not active);
* two venues: "Hall" (step-free, district "Центр") and "Barn" (not step-free, "=1+1 district");
* events: the course on day 1 at the Hall (2 h, free), the festival's online lecture on day 2
  (1 h, paid) and its hybrid workshop on day 2 at the Barn (3 h, free); the cancelled
  excursion is no event: 3 events, 2 free, 1 step-free, 2 online or hybrid;
* twelve learners (R1–R12). R1 came to the course before the week too (returning); the
  others come for the first time. Course: R1–R8; lecture: R5–R12; workshop: R1, R2 and a
  headcount of 20. Attendances 8 + 8 + 2 + 20 = 38;
* answers: R1–R6 women, R7–R9 men, R10 "prefer not to say", R11 agreed but left gender
  open, R12 never agreed; districts: R1–R7 Центр, R8–R9 Заречный; groups: R1–R5 pensioner,
  R9 disability; age bands: R1–R5 60+, R6–R8 30–44, R9 under 18; categories: R1–R6
  "Elders", R7–R8 "Makers";
* five volunteers: A let people in at the course and the workshop (2 h + 3 h), B–E one
  lecture code each (4 × 1 h): 9 volunteer hours;
* seats for the course: R1–R6, R11, R12; R11 and R12 did not come: no-show rate 2 / 8;
* scores for the course from R1–R5: 5, 4, 4, 3, 5 (average 4.2);
* a track of the course and the workshop whose rule is "both": R1 and R2 complete it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from bot.startup.app import App
from catalogue.checkin.door import check_in_codes
from catalogue.checkin.door import record_headcount
from catalogue.checkin.feedback import rate_session
from catalogue.checkin.passes import pass_of
from catalogue.checkin.tables import AgeBand
from catalogue.learners.facts import consent
from catalogue.learners.facts import set_gender
from catalogue.learners.facts import set_home_district
from catalogue.learners.facts import toggle_group
from catalogue.learners.tables import CompletionRule
from catalogue.learners.tables import Gender
from catalogue.learners.tracks import record_completions
from catalogue.models import Category
from catalogue.models import Festival
from catalogue.models import Offer
from catalogue.models import OfferFormat
from catalogue.models import OfferKind
from catalogue.models import OfferSession
from catalogue.models import Provider
from catalogue.models import Resident
from catalogue.models import Seat
from catalogue.models import SeatStatus
from catalogue.models import SessionStatus
from catalogue.models import Track
from catalogue.models import TrackStep
from catalogue.models import Venue
from catalogue.models import utc_now
from catalogue.reports.gnlc import Period
from catalogue.team import Role
from catalogue.team import TeamMember

FIRST_TELEGRAM_ID = 880_001
VOLUNTEERS = (890_001, 890_002, 890_003, 890_004, 890_005)
VOLUNTEER_NAMES = ("Vera", '=HYPERLINK("http://evil.example","click")', "Boris", "Galina", "Dmitri")
FORMULA_DISTRICT = "=1+1 district"


@dataclass(frozen=True)
class Week:
    period: Period
    telegram_ids: list[int]
    codes: list[str]  # the learners' pass codes, as stored
    course: int  # session ids
    lecture: int
    workshop: int
    festival_title: str = "Week fest"


def _at(day: date, hour: int, zone) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone)


async def build_week(app: App) -> Week:
    zone = app.settings.city_zone
    today = utc_now().astimezone(zone).date()
    first, last = today - timedelta(days=10), today - timedelta(days=4)
    day1, day2 = first + timedelta(days=1), first + timedelta(days=2)
    now = utc_now()
    async with app.session_maker.begin() as session:
        old, new, gone = (
            Provider(external_id=key, name={"en": name})
            for key, name in (("old", "Old Hands"), ("new", "Newcomers"), ("gone", "Cancellers"))
        )
        hall = Venue(external_id="hall", name={"en": "Hall"}, district="Центр", step_free=True)
        barn = Venue(external_id="barn", name={"en": "Barn"}, district=FORMULA_DISTRICT)
        fest = Festival(external_id="week-fest", title={"en": "Week fest", "ru": "Фест недели"})
        elders = Category(external_id="elders", title={"en": "Elders", "ru": "Старшие"})
        makers = Category(external_id="makers", title={"en": "Makers", "ru": "Мастера"})
        session.add_all([old, new, gone, hall, barn, fest, elders, makers])
        await session.flush()

        def offer(key: str, kind: OfferKind, provider: Provider, **more: object) -> Offer:
            return Offer(
                external_id=key,
                title={"en": more.pop("title", key)},
                kind=kind,
                format=more.pop("format", OfferFormat.IN_PERSON),
                language="en",
                provider_id=provider.id,
                **more,
            )

        course = offer("course", OfferKind.COURSE, old, title="=1+1")
        lecture = offer(
            "lecture", OfferKind.LECTURE, new, format=OfferFormat.ONLINE,
            festival_id=fest.id, price_minor=50_000,
        )  # fmt: skip
        workshop = offer(
            "workshop", OfferKind.WORKSHOP, new, format=OfferFormat.HYBRID, festival_id=fest.id
        )
        excursion = offer("excursion", OfferKind.EXCURSION, gone)
        session.add_all([course, lecture, workshop, excursion])
        await session.flush()

        def held(key: str, item: Offer, starts: datetime, hours: int, venue: Venue | None,
                 status: SessionStatus = SessionStatus.SCHEDULED) -> OfferSession:  # fmt: skip
            return OfferSession(
                external_id=key,
                offer_id=item.id,
                venue_id=venue.id if venue else None,
                starts_at=starts,
                ends_at=starts + timedelta(hours=hours),
                status=status,
            )

        before = held("course-0", course, _at(today - timedelta(days=20), 10, zone), 2, hall)
        s1 = held("course-1", course, _at(day1, 10, zone), 2, hall)
        s2 = held("lecture-1", lecture, _at(day2, 18, zone), 1, None)
        s3 = held("workshop-1", workshop, _at(day2, 12, zone), 3, barn)
        s4 = held("excursion-1", excursion, _at(day2, 9, zone), 2, barn, SessionStatus.CANCELLED)
        session.add_all([before, s1, s2, s3, s4])
        track = Track(external_id="week-track", category_id=elders.id, title={"en": "Week track"})
        session.add(track)
        await session.flush()
        session.add_all(
            [
                TrackStep(track_id=track.id, offer_id=course.id, position=1),
                TrackStep(track_id=track.id, offer_id=workshop.id, position=2),
                CompletionRule(track_id=track.id, required_offer_ids=[], min_steps=2),
            ]
        )
        session.add_all(
            TeamMember(telegram_id=volunteer, role=Role.VOLUNTEER, display_name=name)
            for volunteer, name in zip(VOLUNTEERS, VOLUNTEER_NAMES, strict=True)
        )
        categories = [elders.id] * 6 + [makers.id] * 2 + [None] * 4
        residents = [
            Resident(telegram_id=FIRST_TELEGRAM_ID + n, language="en", category_id=categories[n])
            for n in range(12)
        ]
        session.add_all(residents)
        await session.flush()
        bands = [AgeBand.FROM_60] * 5 + [AgeBand.FROM_30] * 3 + [AgeBand.UNDER_18] + [None] * 3
        genders = [Gender.WOMAN] * 6 + [Gender.MAN] * 3 + [Gender.UNDISCLOSED, None, None]
        districts = ["Центр"] * 7 + ["Заречный"] * 2 + [None] * 3
        codes = []
        for n, resident in enumerate(residents):
            own = await pass_of(session, resident)
            own.age_band = bands[n]
            codes.append(own.code)
            if n == 11:
                continue  # R12 never agreed
            await consent(session, resident, now)
            if genders[n] is not None:
                await set_gender(session, resident, genders[n], now)
            if districts[n] is not None:
                await set_home_district(session, resident, districts[n], now)
            if n < 5:
                await toggle_group(session, resident, "pensioner", now)
            if n == 8:
                await toggle_group(session, resident, "disability", now)
        session.add_all(
            Seat(resident_id=residents[n].id, session_id=s1.id, status=SeatStatus.GOING)
            for n in (0, 1, 2, 3, 4, 5, 10, 11)
        )
        await session.flush()
        a, *others = VOLUNTEERS
        await check_in_codes(session, before, [codes[0]], a, before.starts_at)
        await check_in_codes(session, s1, codes[:8], a, s1.starts_at)
        for n, volunteer in zip(range(4, 12, 2), others, strict=True):
            await check_in_codes(session, s2, codes[n : n + 2], volunteer, s2.starts_at)
        await check_in_codes(session, s3, codes[:2], a, s3.starts_at)
        await record_headcount(session, s3, 20, a, s3.starts_at)
        for n, score in enumerate((5, 4, 4, 3, 5)):
            await rate_session(session, residents[n], s1.id, score, s1.ends_at)
        await record_completions(session, [resident.id for resident in residents])
        return Week(
            Period(first, last),
            [resident.telegram_id for resident in residents],
            codes,
            s1.id,
            s2.id,
            s3.id,
        )
