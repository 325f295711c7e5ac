"""/programme and /import: organisers keep the programme current from their phones.

Find an offer by typing, open it, edit a field or add a session through a guided form (each
answer checked, a preview as residents will see it, then Save), reschedule or cancel a session
(followers are told through the reminders engine), or send a CSV, JSON or ICS file, imported by
the same all-or-nothing importer as `learncity catalogue import`.

One module per dialogue, each with its own router; `router` holds them all and is what
`protect()` guards, so every one of them is for people allowed to manage the programme, and
that hands each of their handlers the organiser's `Desk` (handlers/programme/common.py).
"""

from aiogram import Router

from bot.permissions import protect
from catalogue.team import Permission
from handlers.programme import changes
from handlers.programme import fallbacks
from handlers.programme import imports
from handlers.programme import offer_form
from handlers.programme import offers
from handlers.programme import sessions
from handlers.programme.common import Desk

router = protect(Router(name=__name__), Permission.MANAGE_PROGRAMME)
# Every handler below, in every dialogue's router, may take the organiser's `desk`.
Desk.hand_over(router)
router.include_routers(
    offers.router,
    offer_form.router,
    sessions.router,
    changes.router,
    imports.router,
    fallbacks.router,  # last: what no dialogue took
)
