"""The dashboard's numbers and charts (pure)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from carebench.dashboard.charts import Bar, bar_chart
from carebench.dashboard.metrics import audit_anomalies, step_waits

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
ORDER = ["arrived", "roomed", "ready", "done"]


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_step_lasts_until_the_next_one_and_the_current_one_until_now() -> None:
    waits = step_waits(
        [
            ("done", {"arrived": _at(0), "roomed": _at(10), "ready": _at(25), "done": _at(40)}),
            ("roomed", {"arrived": _at(5), "roomed": _at(35)}),
        ],
        order=ORDER,
        labels={},
        thresholds={"roomed": 15},
        now=_at(60),
    )
    by_step = {w.step: w for w in waits}
    assert by_step["arrived"].median == 20.0  # 10 and 30 minutes
    assert by_step["roomed"].longest == 25.0 and by_step["roomed"].waiting_now == 1
    assert by_step["roomed"].over_threshold == 1


def test_a_step_skipped_is_not_counted() -> None:
    waits = step_waits(
        [("done", {"arrived": _at(0), "done": _at(30)})],
        order=ORDER,
        labels={},
        thresholds={},
        now=_at(60),
    )
    assert [w.step for w in waits] == ["arrived"] and waits[0].median == 30.0


def test_a_user_reading_far_more_charts_than_colleagues_is_flagged() -> None:
    found = audit_anomalies(
        denied={},
        failed_logins={"ghost": 2},
        night_reads={},
        reads={"amy": 40, "bo": 35, "cy": 400},
        days=7,
    )
    assert [(a.kind, a.who) for a in found] == [("heavy_reader", "cy")]


def test_repeated_failed_sign_ins_and_refusals_are_listed_worst_first() -> None:
    found = audit_anomalies(
        denied={"amy": 2},
        failed_logins={"admin": 9},
        night_reads={"bo": 4},
        reads={},
        days=7,
    )
    assert [a.kind for a in found] == ["failed_login", "night_reads", "denied"]


def test_the_bar_chart_is_valid_svg_with_a_bar_per_value() -> None:
    svg = bar_chart("Waits <today>", [Bar("Arrived", 12), Bar("Roomed", 30, alert=True)])
    root = ET.fromstring(svg)
    rects = root.findall("{http://www.w3.org/2000/svg}rect")
    assert len(rects) == 2 and rects[1].get("fill") == "#b3261e"
    assert root.find("{http://www.w3.org/2000/svg}title").text == "Waits <today>"
