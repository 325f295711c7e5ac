"""Feature routers, in the order they are tried: catch-alls last."""

from aiogram import Router

from handlers import broadcast
from handlers import browse
from handlers import checkin_resident
from handlers import checkin_volunteer
from handlers import errors
from handlers import fallback
from handlers import feedback
from handlers import learners
from handlers import menu
from handlers import preferences
from handlers import privacy
from handlers import programme
from handlers import reports
from handlers import search
from handlers import start
from handlers import subscriptions
from handlers import team
from handlers import team_invites
from handlers.learners import revocation as learners_revocation
from handlers.learners import rules as learners_rules

FEATURE_ROUTERS: tuple[Router, ...] = (
    errors.router,
    team_invites.router,  # /start inv_…, before the plain /start
    # The comment after a rating, before any other text handler; a command there ends it and
    # goes on (to the deep links of check-in too).
    feedback.router,
    checkin_resident.router,  # /pass, /start pass_… and ci_…
    # The most pressed buttons early, so a press is matched after few routers; they handle no
    # text but their commands, which no router before them wants.
    menu.router,
    browse.router,
    learners.router,  # /passport, about me, certificates (/start verify_…), the survey
    start.router,
    privacy.router,  # any time, also in the middle of a form
    subscriptions.router,
    preferences.router,
    team.router,
    programme.router,
    broadcast.router,
    checkin_volunteer.router,  # volunteers at the door: pass codes typed in a form
    reports.router,
    learners_rules.router,  # organisers: /completion (handlers/learners/rules.py)
    learners_revocation.router,  # administrators: /revoke a certificate
    search.router,  # plain text outside a form, after every form
    fallback.router,
)


def feature_routers() -> list[Router]:
    """The routers, free to join a new dispatcher.

    Routers live at module level (a reader finds a feature by its file); a router remembers the
    dispatcher it joined, so a process that builds several dispatchers (the tests, a bench) lets
    go of the previous one first.
    """
    for router in FEATURE_ROUTERS:
        parent = router.parent_router
        if parent is not None:
            parent.sub_routers.remove(router)
            router._parent_router = None
    return list(FEATURE_ROUTERS)
