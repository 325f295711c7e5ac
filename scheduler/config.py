"""What the time-driven work needs to know of the bot's settings, as plain values.

scheduler/ sits below the presentation layer and cannot read `bot.settings.Settings`; the
composition root (bot/startup/sending.py) copies these few values out of it instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class SchedulerConfig:
    city_zone: ZoneInfo  # residents without a time zone of their own live in it
    outbound_rate: float = 25.0  # messages per second in all, across every kind
    outbox_lease_seconds: float = 60.0  # how long a claimed outbox row is this process's
    # Organisers' paid broadcasts, in a faster lane of their own (Telegram counts them apart).
    allow_paid_broadcast: bool = False
    paid_broadcast_rate: float = 1000.0

    @property
    def paid_rate(self) -> float | None:
        """The paid lane's rate; None when paid broadcasts are not allowed."""
        return self.paid_broadcast_rate if self.allow_paid_broadcast else None
