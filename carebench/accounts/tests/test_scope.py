"""The scope rules the eMAR uses now (pure)."""

from __future__ import annotations

from carebench.accounts import scope


def test_a_med_tech_may_not_be_assigned_to_long_term_care() -> None:
    problem = scope.assignment_problem(["medtech"], "long_term_care")
    assert problem is not None and "long-term-care (nursing) facility" in problem


def test_a_med_tech_may_be_assigned_to_an_assisted_living_home() -> None:
    assert scope.assignment_problem(["medtech"], "assisted_living") is None


def test_a_med_tech_who_is_also_a_nurse_may_work_in_long_term_care() -> None:
    assert scope.assignment_problem(["medtech", "nurse"], "long_term_care") is None


def test_only_med_techs_and_nurses_document_a_med_pass() -> None:
    assert scope.may_document_med_pass(["medtech"])
    assert scope.may_document_med_pass(["nurse"])
    assert not scope.may_document_med_pass(["mat", "provider"])
