"""The domain's refusals: one base class, so one error router can answer them all.

A `DomainError` says what the person should be told, as values (a problem code, the line of a
file, the session concerned), never as words: bot/screens/errors.py turns it into text in the
person's language, and handlers/errors.py sends it. The update's transaction is rolled back on
the way out, so a refused request leaves nothing half-written. Most refusals are named by a
problem code of their feature (`ProblemError`), which the screens look up.
"""

from __future__ import annotations

from typing import Generic
from typing import TypeVar

Code = TypeVar("Code", bound=str)


class DomainError(Exception):
    """A request the catalogue refuses; subclasses carry what the person should be told."""


class ProblemError(DomainError, Generic[Code]):
    """A refusal named by a problem code (a StrEnum of its feature) in `problem`."""

    def __init__(self, problem: Code) -> None:
        super().__init__(problem)
        self.problem = problem
