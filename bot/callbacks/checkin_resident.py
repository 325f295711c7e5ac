"""Buttons of the resident's pass (handlers/checkin_resident.py)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ChooseAgeBand(CallbackData, prefix="age"):
    """On /pass: the resident's age band ("-" to say nothing)."""

    band: str
