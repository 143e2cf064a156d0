from datetime import UTC, datetime

import pytest

from carebench.core import clock


def test_frozen_sets_now_inside_the_block_only():
    at = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
    with clock.frozen(at):
        assert clock.now() == at
        assert clock.today("America/Chicago").isoformat() == "2026-03-01"
    assert clock.now() != at


def test_frozen_needs_an_aware_time():
    with pytest.raises(ValueError):
        with clock.frozen(datetime(2026, 3, 1)):
            pass
