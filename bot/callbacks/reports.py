"""Buttons of /report (handlers/reports.py)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.callbacks import Id


class ReportFor(CallbackData, prefix="rep"):
    """A report from the /report picker: `kind` is today/week/month or festival."""

    kind: str
    target: Id = 0
