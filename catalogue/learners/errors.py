"""The learning record's refusals, as problem codes (bot/screens/learners/ says them)."""

from __future__ import annotations

from enum import StrEnum

from catalogue.errors import ProblemError


class LearnerProblem(StrEnum):
    RULE_USAGE = "rule_usage"  # /completion typed wrongly
    UNKNOWN_TRACK = "unknown_track"
    UNKNOWN_FESTIVAL = "unknown_festival"
    NOT_A_STEP = "not_a_step"  # a required step number the track does not have
    TOO_MANY_STEPS = "too_many_steps"  # more steps asked for than the track or festival has
    NOT_COMPLETED = "not_completed"  # a certificate for something not (or not by them) completed
    BAD_NAME = "bad_name"  # the name to print: empty, too long, or not text
    REVOKED = "revoked"  # a revoked certificate cannot be issued again
    UNKNOWN_CERTIFICATE = "unknown_certificate"  # /revoke of a code that is not ours


class LearnerError(ProblemError[LearnerProblem]):
    """A request about the learning record the catalogue refuses."""
