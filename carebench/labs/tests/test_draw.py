"""The draw guide's rules (pure: no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from carebench.labs import draw
from carebench.labs.draw import TestNeed, plan_draw


def need(code: str, container: str, ml: str = "1", **kw) -> TestNeed:
    return TestNeed(key=code, code=code, container=container, min_volume_ml=Decimal(ml), **kw)


def test_tests_sharing_a_container_share_one_tube_and_volumes_add_up():
    plan = plan_draw([need("CMP", "gold_sst", "2"), need("TSH", "gold_sst", "1")])
    assert len(plan.tubes) == 1
    tube = plan.tubes[0]
    assert tube.codes == ["CMP", "TSH"]
    assert tube.volume_ml == Decimal("3")
    assert tube.draw_ml == Decimal("3")


def test_volume_over_capacity_spills_into_a_second_tube():
    plan = plan_draw(
        [
            need("CMP", "gold_sst", "2"),
            need("LIPID", "gold_sst", "1.5"),
            need("VITD", "gold_sst", "1.5"),
            need("TSH", "gold_sst", "1"),
        ]
    )
    assert [t.codes for t in plan.tubes] == [["CMP", "LIPID", "VITD"], ["TSH"]]  # 5.0 mL fits
    assert all(t.volume_ml <= draw.CONTAINERS["gold_sst"].capacity_ml for t in plan.tubes)
    assert [t.sequence for t in plan.tubes] == [1, 2]


def test_exactly_full_tube_is_not_split():
    plan = plan_draw([need("A", "lavender", "2"), need("B", "lavender", "2")])
    assert len(plan.tubes) == 1
    assert plan.tubes[0].volume_ml == Decimal("4")


def test_one_test_bigger_than_a_tube_gets_its_own_tubes():
    plan = plan_draw([need("BCX", "blood_culture", "16"), need("CBC", "lavender")])
    cultures = [t for t in plan.tubes if t.container.code == "blood_culture"]
    assert len(cultures) == 2
    assert all(t.volume_ml == Decimal("8") for t in cultures)


def test_order_of_draw_follows_clsi():
    tests = [
        need("GLUF", "grey"),
        need("CBC", "lavender"),
        need("TROP", "green"),
        need("CMP", "gold_sst"),
        need("DIG", "red"),
        need("PT", "light_blue", "0.9"),
        need("BCX", "blood_culture", "8"),
    ]
    plan = plan_draw(tests)
    assert [t.container.code for t in plan.tubes] == [
        "blood_culture",
        "light_blue",
        "red",
        "gold_sst",
        "green",
        "lavender",
        "grey",
    ]
    assert [t.sequence for t in plan.tubes] == list(range(1, 8))


def test_non_blood_specimens_are_listed_separately():
    plan = plan_draw(
        [
            need("UA", "urine_cup", "10"),
            need("CBC", "lavender"),
            need("THCULT", "swab", "0"),
            need("RSTREP", "swab", "0"),
            need("UCULT", "urine_cup", "1"),
        ]
    )
    assert [t.container.code for t in plan.tubes] == ["lavender"]
    assert [t.container.code for t in plan.other] == ["urine_cup", "swab", "swab"]
    assert plan.other[0].codes == ["UA", "UCULT"]  # one cup serves both
    assert [t.sequence for t in plan.other] == [1, 2, 3]
    assert plan.total_blood_ml == Decimal("1")


def test_first_catch_urine_never_shares_a_midstream_cup():
    plan = plan_draw([need("UA", "urine_cup", "10"), need("GCCT", "urine_first_catch", "20")])
    assert len(plan.other) == 2


def test_citrate_tube_is_filled_to_the_line():
    plan = plan_draw([need("PT", "light_blue", "0.9"), need("PTT", "light_blue", "0.9")])
    assert len(plan.tubes) == 1
    assert plan.tubes[0].draw_ml == Decimal("2.7")


def test_discard_tube_when_light_blue_is_first_with_a_winged_set():
    tests = [need("PT", "light_blue", "0.9"), need("CBC", "lavender")]
    assert plan_draw(tests, winged_set=True).notes == [draw.DISCARD_NOTE]
    assert plan_draw(tests, winged_set=False).notes == []
    # Blood cultures drawn first fill the tubing: no discard tube.
    with_cultures = [need("BCX", "blood_culture", "8"), *tests]
    assert plan_draw(with_cultures, winged_set=True).notes == []


def test_fasting_and_timing_are_surfaced_once():
    plan = plan_draw(
        [
            need("LIPID", "gold_sst", fasting=True, timing_note="Fast 9-12 h"),
            need("GLUF", "grey", fasting=True),
            need("CBC", "lavender"),
            need("DIG", "red", timing_note="Trough"),
        ]
    )
    assert plan.fasting
    assert plan.fasting_tests == ["LIPID", "GLUF"]
    assert plan.timing == [("LIPID", "Fast 9-12 h"), ("DIG", "Trough")]
    assert not plan_draw([need("CBC", "lavender")]).fasting


def test_unknown_container_is_refused():
    with pytest.raises(draw.DrawError, match="XYZ"):
        plan_draw([need("XYZ", "purple_unicorn")])


def test_empty_order_gives_an_empty_plan():
    plan = plan_draw([])
    assert plan.tubes == [] and plan.other == [] and not plan.fasting


def test_capacities_are_data():
    assert draw.CONTAINERS["gold_sst"].capacity_ml == Decimal("5")
    assert draw.CONTAINERS["lavender"].capacity_ml == Decimal("4")
    assert draw.CONTAINERS["light_blue"].capacity_ml == Decimal("2.7")
    ranks = [draw.CONTAINERS[c].draw_rank for c in draw.CONTAINERS]
    assert len(ranks) == len(set(ranks))


def test_draw_module_is_pure():
    import ast
    import pathlib

    source = pathlib.Path(draw.__file__).read_text()
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not any(name.startswith(("django", "carebench")) for name in imported)
