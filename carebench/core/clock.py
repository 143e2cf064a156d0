"""The clock: one place to ask for the time, so tests and the demo builder can set it.

`frozen(at)` makes `now()` answer `at` inside a `with` block (tests, and the demo, which books
a whole morning's visits "as they happened"). Nothing else in the program sets the clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

_state = threading.local()


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    frozen_at: datetime | None = getattr(_state, "frozen_at", None)
    return frozen_at if frozen_at is not None else timezone.now()


def today(tz: str | None = None) -> date:
    """Today's date in the given zone (default: the server's configured clinic zone)."""
    from django.conf import settings

    zone = ZoneInfo(tz or settings.CAREBENCH_DEFAULT_TIME_ZONE)
    return now().astimezone(zone).date()


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Inside the block, `now()` is `at` (this thread only)."""
    if at.tzinfo is None:
        raise ValueError("a frozen time must be timezone-aware")
    previous = getattr(_state, "frozen_at", None)
    _state.frozen_at = at.astimezone(ZoneInfo("UTC"))
    try:
        yield
    finally:
        _state.frozen_at = previous
