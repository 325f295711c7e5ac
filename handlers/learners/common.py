"""What the learning record's resident dialogues share: the `LearnerDesk` every one of their
handlers works at (about_me.py, certificates.py, passport.py, survey.py)."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.fsm.context import FSMContext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.middlewares.desks import HandedOver
from bot.screens.view import Viewer
from bot.settings import Settings
from catalogue.models import Resident


@dataclass(frozen=True)
class LearnerDesk(HandedOver):
    """What a resident's learning record is worked on through: their form (FSM state), the
    database session, the resident, the city's settings and how they read. Handed to every
    handler of the learners' routers as `desk` (a `HandOver` middleware, see
    handlers/learners/__init__.py), so the dialogues pass one thing around instead of five."""

    state: FSMContext
    session: AsyncSession
    resident: Resident
    settings: Settings
    viewer: Viewer
