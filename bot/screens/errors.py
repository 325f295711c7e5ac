"""What the person is told when the catalogue refuses a request (catalogue/errors.py).

One function per refusal, chosen by the error's type; handlers/errors.py sends the answer, so a
handler lets a `DomainError` rise instead of catching it itself. A handler that answers a
refusal with a screen of its own (the reason and a way on) draws it with `refusal_notice`.
"""

from __future__ import annotations

from functools import singledispatch

from aiogram.utils.i18n import gettext as _

from bot.screens.broadcast import compose_problem
from bot.screens.checkin_volunteer import problem_text
from bot.screens.learners.certificates import learner_problem
from bot.screens.programme import form_error
from bot.screens.programme import import_failed
from bot.screens.reports import scope_problem
from bot.screens.team import invite_problem
from bot.screens.view import View
from bot.screens.view import Viewer
from bot.screens.view import notice
from catalogue.checkin.answers import CheckInError
from catalogue.errors import DomainError
from catalogue.exchange.rows import CatalogueImportError
from catalogue.learners.errors import LearnerError
from catalogue.outbox.broadcasts import BroadcastError
from catalogue.programme import FormError
from catalogue.reports.attendance import ScopeError
from catalogue.team import InviteProblem
from catalogue.team import TeamError


@singledispatch
def explain(error: DomainError, viewer: Viewer) -> str:
    """The answer to a refusal nobody has described yet: honest, and no traceback."""
    return _("Sorry, that cannot be done. Please check what you sent and try again.")


@explain.register
def _check_in(error: CheckInError, viewer: Viewer) -> str:
    return problem_text(error.problem, viewer, error.offer_session)


@explain.register
def _form(error: FormError, viewer: Viewer) -> str:
    return form_error(str(error))


@explain.register
def _broadcast(error: BroadcastError, viewer: Viewer) -> str:
    return compose_problem(str(error))


@explain.register
def _report_scope(error: ScopeError, viewer: Viewer) -> str:
    return scope_problem(error)


@explain.register
def _team(error: TeamError, viewer: Viewer) -> str:
    problem = error.problem if isinstance(error.problem, InviteProblem) else InviteProblem.UNKNOWN
    return invite_problem(problem)


@explain.register
def _import(error: CatalogueImportError, viewer: Viewer) -> str:
    return import_failed(error.errors)


@explain.register
def _learner(error: LearnerError, viewer: Viewer) -> str:
    return learner_problem(error)


def refusal_notice(error: DomainError, viewer: Viewer) -> View:
    """The refusal explained, with the menu button as a way on."""
    return notice(explain(error, viewer))
