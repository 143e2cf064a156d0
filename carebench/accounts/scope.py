"""Scope of practice, the part the eMAR needs now: who may be assigned to which kind of facility,
and who may document a med pass (pure; no Django).

The rules are data. They are EXAMPLES to be checked against each state's law by the clinic; the
workforce issue will make them a table the manager edits, per state, facility type and task.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class AssignmentRule:
    """A role that may not be assigned to a kind of facility, and why."""

    role: str
    facility_kind: str
    message: str


ASSIGNMENT_RULES: tuple[AssignmentRule, ...] = (
    AssignmentRule(
        role="medtech",
        facility_kind="long_term_care",
        message=(
            "a medication technician may not work in a long-term-care (nursing) facility: "
            "medications there are given by licensed nurses (example rule: check your state's law)"
        ),
    ),
)
# Roles that may document a med pass in an assisted-living or group home.
MED_PASS_ROLES = frozenset({"medtech", "nurse"})


def assignment_problem(roles: Iterable[str], facility_kind: str) -> str | None:
    """Why a worker with these roles may not be assigned to this kind of facility, or None.
    A worker who is also a nurse may be: they work there as the nurse."""
    held = set(roles)
    for rule in ASSIGNMENT_RULES:
        if rule.role in held and rule.facility_kind == facility_kind and "nurse" not in held:
            return rule.message
    return None


def may_document_med_pass(roles: Iterable[str]) -> bool:
    return bool(set(roles) & MED_PASS_ROLES)
