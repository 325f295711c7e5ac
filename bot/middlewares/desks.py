"""The bundles features hand their handlers as `desk` (see hand_over.py).

`HandedOver` is the base of such a bundle: a frozen dataclass whose fields are named as the
handler data they come from (`state`, `session`, `resident`, ...), built by `of` and handed to
every handler of a router by `hand_over`. `WorkDesk` is the one a team member's dialogue works
at (the programme's `Desk`, the door's `DoorDesk`), adding its own steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import fields
from typing import Any
from typing import Self

from aiogram import Router
from aiogram.fsm.context import FSMContext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.middlewares.hand_over import HandOver
from bot.middlewares.hand_over import from_parts
from bot.screens.view import Viewer
from bot.settings import Settings


class HandedOver:
    """Base of a dataclass bundle built from the handler data named like its fields."""

    @classmethod
    def of(cls, data: dict[str, Any]) -> Self | None:
        """The bundle of an update; None for one that lacks a part (no chat, no resident)."""
        return from_parts(cls, data, *(field.name for field in fields(cls)))  # type: ignore[arg-type]

    @classmethod
    def hand_over(cls, router: Router, name: str = "desk") -> None:
        """Every message and button handler below `router` (its included routers too) may take
        the bundle as `name`."""
        router.message.middleware(HandOver(name, cls.of))
        router.callback_query.middleware(HandOver(name, cls.of))


@dataclass(frozen=True)
class WorkDesk(HandedOver):
    """What a team member's dialogue goes through: their form (FSM state and data), the
    database session, the city's settings and how they read (language, time zone)."""

    state: FSMContext
    session: AsyncSession
    settings: Settings
    viewer: Viewer
