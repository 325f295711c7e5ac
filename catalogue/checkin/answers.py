"""What a check-in attempt answers, what can stop it, and who a code belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from catalogue.checkin.tables import AgeBand
from catalogue.errors import ProblemError
from catalogue.models import OfferSession


class Answer(StrEnum):
    """What one code (or scan) did."""

    CHECKED_IN = "checked_in"
    WALK_IN = "walk_in"  # not registered for the session: checked in as a walk-in
    ALREADY = "already"
    UNKNOWN = "unknown"  # a well-formed code nobody holds
    MALFORMED = "malformed"  # cannot be a pass code


NEW = (Answer.CHECKED_IN, Answer.WALK_IN)


class Problem(StrEnum):
    NO_SESSION = "no_session"
    NOT_TODAY = "not_today"
    CANCELLED = "cancelled"
    OVER = "over"  # the session has ended (self check-in QR)
    NO_CODES = "no_codes"
    TOO_MANY_CODES = "too_many_codes"
    BAD_NUMBER = "bad_number"
    TOKEN_UNKNOWN = "token_unknown"
    TOKEN_EXPIRED = "token_expired"


class CheckInError(ProblemError[Problem]):
    def __init__(self, problem: Problem, offer_session: OfferSession | None = None) -> None:
        super().__init__(problem)
        self.offer_session = offer_session


@dataclass(frozen=True)
class Holder:
    """The resident behind a pass code, as a check-in needs them."""

    resident_id: int
    telegram_id: int
    category_id: int | None
    age_band: AgeBand | None
    registered: bool  # has a seat for the session being checked in to
    first_visit: bool  # never checked in anywhere before
