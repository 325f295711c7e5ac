"""Certificates of completed tracks and festivals: issued, verified by anyone, revoked.

A certificate belongs to one completion and carries the name its holder chose to print and a
random code (`secrets.token_urlsafe`, 128 bits: not guessable, not derived from anything about
the person). The code is the certificate's QR: `/start verify_<code>` answers whether it is
valid or revoked, what was completed and when, and nothing else about the holder, not even the
name. Asking again with another name reprints the same certificate (same code). An
administrator revokes one by its code; a revoked certificate stays revoked.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.learners.errors import LearnerError
from catalogue.learners.errors import LearnerProblem
from catalogue.learners.tables import CERTIFICATE_CODE_LENGTH
from catalogue.learners.tables import PRINTED_NAME_LIMIT
from catalogue.learners.tables import Certificate
from catalogue.learners.tables import Completion
from catalogue.learners.tables import CompletionKind
from catalogue.learners.tracks import target_titles
from catalogue.models import Translations
from catalogue.text_policy import one_line

VERIFY_PREFIX = "verify_"  # the QR's deep link: /start verify_<code>
CODE_PATTERN = re.compile(rf"^[A-Za-z0-9_-]{{{CERTIFICATE_CODE_LENGTH}}}$")


@dataclass(frozen=True)
class Verification:
    """What anyone learns from a certificate's code."""

    code: str
    kind: CompletionKind
    title: Translations
    completed_at: datetime
    issued_at: datetime
    revoked_at: datetime | None

    @property
    def valid(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class Issued:
    certificate: Certificate
    verification: Verification


def clean_name(typed: str) -> str:
    """The name as it will be printed: one line, no control characters; refused if empty or
    longer than PRINTED_NAME_LIMIT."""
    text = one_line(typed)
    if not text or len(text) > PRINTED_NAME_LIMIT:
        raise LearnerError(LearnerProblem.BAD_NAME)
    return text


def read_code(text: str) -> str | None:
    """The code in `verify_<code>`, a link holding it, or the code alone; None if malformed."""
    code = text.strip().rsplit(VERIFY_PREFIX, 1)[-1]
    return code if CODE_PATTERN.match(code) else None


async def _verification(session: AsyncSession, certificate: Certificate) -> Verification:
    completion = await session.get(Completion, certificate.completion_id)
    assert completion is not None  # certificate.completion_id cascades
    target = (completion.kind, completion.track_id or completion.festival_id or 0)
    titles = await target_titles(session, [target])
    return Verification(
        certificate.code,
        completion.kind,
        titles.get(target, {}),
        completion.completed_at,
        certificate.issued_at,
        certificate.revoked_at,
    )


async def issue_certificate(
    session: AsyncSession,
    resident_id: int,
    completion_id: int,
    printed_name: str,
    language: str,
    now: datetime,
) -> Issued:
    """The resident's certificate of one of their completions, with the name to print."""
    await check_holder(session, resident_id, completion_id)
    name = clean_name(printed_name)
    certificate = await session.scalar(
        select(Certificate).where(Certificate.completion_id == completion_id)
    )
    if certificate is not None and certificate.revoked_at is not None:
        raise LearnerError(LearnerProblem.REVOKED)
    if certificate is None:
        certificate = Certificate(
            code=secrets.token_urlsafe(16),
            completion_id=completion_id,
            resident_id=resident_id,
            printed_name=name,
            language=language,
            issued_at=now,
        )
    else:
        certificate.printed_name, certificate.language = name, language
    session.add(certificate)
    await session.flush()
    return Issued(certificate, await _verification(session, certificate))


async def check_holder(session: AsyncSession, resident_id: int, completion_id: int) -> None:
    """Refuse (NOT_COMPLETED) unless the completion is the resident's."""
    holder = await session.scalar(
        select(Completion.resident_id).where(Completion.id == completion_id)
    )
    if holder is None or holder != resident_id:
        raise LearnerError(LearnerProblem.NOT_COMPLETED)


async def certificate_of(
    session: AsyncSession, resident_id: int, completion_id: int
) -> Issued | None:
    """The certificate already issued for the resident's completion, if any."""
    certificate = await session.scalar(
        select(Certificate).where(
            Certificate.completion_id == completion_id, Certificate.resident_id == resident_id
        )
    )
    if certificate is None:
        return None
    return Issued(certificate, await _verification(session, certificate))


async def verify(session: AsyncSession, code: str) -> Verification | None:
    """What the code certifies; None when no certificate has it (mistyped or forged)."""
    if not CODE_PATTERN.match(code):
        return None
    certificate = await session.scalar(select(Certificate).where(Certificate.code == code))
    if certificate is None:
        return None
    return await _verification(session, certificate)


async def revoke(session: AsyncSession, code: str, admin_id: int, now: datetime) -> Verification:
    """Revoke the certificate with this code (again: no change)."""
    typed = read_code(code)
    certificate = (
        await session.scalar(select(Certificate).where(Certificate.code == typed))
        if typed
        else None
    )
    if certificate is None:
        raise LearnerError(LearnerProblem.UNKNOWN_CERTIFICATE)
    if certificate.revoked_at is None:
        certificate.revoked_at, certificate.revoked_by = now, admin_id
        session.add(certificate)
        await session.flush()
    return await _verification(session, certificate)
