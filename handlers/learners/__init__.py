"""The learning record's routers, one per dialogue, joined under one `router`.

Included before handlers.start (handlers/__init__.py), so `/start verify_<code>` reaches
certificates.py, and before the text handlers of search, so what a resident types for a
certificate or the survey is read here. Every handler below may take the resident's
`desk` (handlers/learners/common.py).
"""

from aiogram import Router

from handlers.learners import about_me
from handlers.learners import certificates
from handlers.learners import passport
from handlers.learners import survey
from handlers.learners.common import LearnerDesk

router = Router(name=__name__)
LearnerDesk.hand_over(router)
router.include_routers(
    certificates.router,
    about_me.router,
    passport.router,
    survey.router,
)
# The team's commands are feature routers of their own, protected each as a whole
# (handlers/__init__.py): rules.router (organisers: /completion) and revocation.router
# (administrators: /revoke).
