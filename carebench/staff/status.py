"""Credential status and expiry warnings (pure; no Django).

A credential is valid through its expiry date. Status, in order of precedence: expired (the date
has passed), unverified (no manager has checked the proof yet), expiring (90 days or fewer
left), current.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

CURRENT = "current"
EXPIRING = "expiring"
EXPIRED = "expired"
UNVERIFIED = "unverified"
VOIDED = "voided"

EXPIRING_DAYS = 90
NOTICE_THRESHOLDS: tuple[int, ...] = (90, 60, 30)
# Most urgent first, for lists that put the ones needing action on top.
URGENCY = {EXPIRED: 0, UNVERIFIED: 1, EXPIRING: 2, CURRENT: 3, VOIDED: 4}
LABELS = {
    CURRENT: "Current",
    EXPIRING: "Expiring",
    EXPIRED: "Expired",
    UNVERIFIED: "Not verified",
    VOIDED: "Voided",
}


def credential_status(
    *, expires_on: date, verified: bool, today: date, voided: bool = False
) -> str:
    if voided:
        return VOIDED
    if expires_on < today:
        return EXPIRED
    if not verified:
        return UNVERIFIED
    if (expires_on - today).days <= EXPIRING_DAYS:
        return EXPIRING
    return CURRENT


def is_current(*, expires_on: date, verified: bool, today: date, voided: bool = False) -> bool:
    """Counts for scope of practice: not voided, verified, not expired (expiring still counts)."""
    return not voided and verified and expires_on >= today


def crossed_thresholds(
    expires_on: date, today: date, thresholds: Sequence[int] = NOTICE_THRESHOLDS
) -> list[int]:
    """The warning thresholds (days before expiry) already reached today, nearest last.
    An expired credential has none: it is past warning."""
    days_left = (expires_on - today).days
    if days_left < 0:
        return []
    return sorted((t for t in thresholds if days_left <= t), reverse=True)


def join_or(items: Iterable[str]) -> str:
    """'A', 'A or B', 'A, B or C'."""
    names = list(items)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]
