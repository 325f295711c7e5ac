"""The domain's refusals: one base class, so one error router can answer them all.

A `DomainError` says what the person should be told, as values (a problem code, the line of a
file, the session concerned), never as words: bot/screens/errors.py turns it into text in the
person's language, and handlers/errors.py sends it. The update's transaction is rolled back on
the way out, so a refused request leaves nothing half-written.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the catalogue refuses; subclasses carry what the person should be told."""
