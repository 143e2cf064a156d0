"""Credential status and expiry thresholds (pure)."""

from __future__ import annotations

from datetime import date

from carebench.staff import status as st

TODAY = date(2026, 11, 22)


def _status(expires_on: date, verified: bool = True, voided: bool = False) -> str:
    return st.credential_status(
        expires_on=expires_on, verified=verified, today=TODAY, voided=voided
    )


def test_statuses_by_expiry_and_verification():
    assert _status(date(2027, 6, 1)) == st.CURRENT
    assert _status(date(2027, 2, 20)) == st.EXPIRING  # 90 days left
    assert _status(date(2027, 2, 21)) == st.CURRENT  # 91 days left
    assert _status(TODAY) == st.EXPIRING  # valid through its expiry date
    assert _status(date(2026, 11, 21)) == st.EXPIRED
    assert _status(date(2027, 6, 1), verified=False) == st.UNVERIFIED
    assert _status(date(2026, 1, 1), verified=False) == st.EXPIRED  # expired wins
    assert _status(date(2027, 6, 1), voided=True) == st.VOIDED


def test_only_verified_unexpired_credentials_count():
    assert st.is_current(expires_on=TODAY, verified=True, today=TODAY)
    assert not st.is_current(expires_on=date(2026, 11, 21), verified=True, today=TODAY)
    assert not st.is_current(expires_on=date(2027, 6, 1), verified=False, today=TODAY)
    assert not st.is_current(expires_on=date(2027, 6, 1), verified=True, today=TODAY, voided=True)


def test_thresholds_crossed_nearest_last():
    assert st.crossed_thresholds(date(2027, 2, 21), TODAY) == []  # 91 days
    assert st.crossed_thresholds(date(2027, 2, 20), TODAY) == [90]
    assert st.crossed_thresholds(date(2027, 1, 21), TODAY) == [90, 60]  # 60 days
    assert st.crossed_thresholds(date(2026, 12, 1), TODAY) == [90, 60, 30]
    assert st.crossed_thresholds(date(2026, 11, 21), TODAY) == []  # expired: past warning


def test_join_or():
    assert st.join_or(["CMA"]) == "CMA"
    assert st.join_or(["CMA", "RMA"]) == "CMA or RMA"
    assert st.join_or(["CMA", "RMA", "CCMA"]) == "CMA, RMA or CCMA"
