"""Self check-in: a short-lived QR at the door that residents scan to check themselves in.

A volunteer shows a QR of a deep link with a random token; only the token's hash is stored.
It expires after `SELF_CHECK_IN_TTL`, and never later than the session's end. A resident who
scans it is checked in like at the door (`door.check_in_resident`), with no volunteer named.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.checkin.answers import Answer
from catalogue.checkin.answers import CheckInError
from catalogue.checkin.answers import Problem
from catalogue.checkin.door import check_in_resident
from catalogue.checkin.tables import CheckInMethod
from catalogue.checkin.tables import CheckInToken
from catalogue.models import OfferSession
from catalogue.models import Resident
from catalogue.models import SessionStatus

SELF_PREFIX = "ci_"  # deep link of a session's self check-in: /start ci_<token>
SELF_TOKEN_BYTES = 12
SELF_CHECK_IN_TTL = timedelta(minutes=15)


def hash_token(token: str) -> str:
    """What is stored of a self check-in token: enough to recognise it, not to show it."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SelfCheckIn:
    token: str  # shown once, in the QR; only its hash is stored
    expires_at: datetime

    @property
    def payload(self) -> str:
        return SELF_PREFIX + self.token


async def open_self_check_in(
    session: AsyncSession, offer_session: OfferSession, created_by: int, now: datetime
) -> SelfCheckIn:
    """A new token for the session's QR; CheckInError if the session has ended."""
    if offer_session.ends_at <= now:
        raise CheckInError(Problem.OVER, offer_session)
    token = secrets.token_urlsafe(SELF_TOKEN_BYTES)
    expires_at = min(now + SELF_CHECK_IN_TTL, offer_session.ends_at)
    session.add(
        CheckInToken(
            session_id=offer_session.id,
            token_hash=hash_token(token),
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return SelfCheckIn(token, expires_at)


async def self_check_in(
    session: AsyncSession, token: str, resident: Resident, now: datetime
) -> tuple[Answer, OfferSession]:
    """A resident scanned a session's QR; CheckInError if the token is unknown or expired."""
    found = await session.scalar(
        select(CheckInToken).where(CheckInToken.token_hash == hash_token(token))
    )
    if found is None:
        raise CheckInError(Problem.TOKEN_UNKNOWN)
    offer_session = await session.get(OfferSession, found.session_id)
    assert offer_session is not None  # the token's foreign key keeps the session
    if offer_session.status == SessionStatus.CANCELLED:
        raise CheckInError(Problem.CANCELLED, offer_session)
    if found.expires_at <= now or offer_session.ends_at <= now:
        raise CheckInError(Problem.TOKEN_EXPIRED, offer_session)
    answer = await check_in_resident(
        session, offer_session, resident, CheckInMethod.SELF, None, now
    )
    return answer, offer_session
