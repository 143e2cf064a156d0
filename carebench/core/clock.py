"""The clock: one place to ask for the time, so tests can freeze it."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return timezone.now()


def today(tz: str | None = None) -> date:
    """Today's date in the given zone (default: the server's configured clinic zone)."""
    from django.conf import settings

    zone = ZoneInfo(tz or settings.CAREBENCH_DEFAULT_TIME_ZONE)
    return now().astimezone(zone).date()
