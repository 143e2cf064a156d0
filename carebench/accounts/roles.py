"""Roles are groups; this table says which permissions each role carries.

The groups are created (and kept in step with this table) after every migrate.
A medical assistant may correct what they add: they hold `change_*` as well as `add_*`.
"""

from __future__ import annotations

ROLE_LABELS: dict[str, str] = {
    "mat": "Medical assistant (MAT)",
    "frontdesk": "Front desk",
    "provider": "Provider",
    "biller": "Biller",
    "manager": "Clinic manager",
    "medtech": "Medication technician",
    "admin": "Administrator",
}

_CLINICAL = ["allergy", "medicationstatement", "problem", "historyentry"]


def _crud(model: str, *verbs: str) -> list[str]:
    return [f"patients.{verb}_{model}" for verb in verbs]


def _clinical(*verbs: str) -> list[str]:
    return [perm for model in _CLINICAL for perm in _crud(model, *verbs)]


PATIENT_READ = _crud("patient", "view") + _crud("coverage", "view") + _clinical("view")

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "mat": PATIENT_READ
    + _crud("patient", "add", "change")
    + _clinical("add", "change", "void")
    + _crud("coverage", "add", "change"),
    "frontdesk": PATIENT_READ + _crud("patient", "add", "change") + _crud("coverage", "add", "change"),
    "provider": PATIENT_READ + _crud("patient", "change") + _clinical("add", "change", "void"),
    "biller": PATIENT_READ + _crud("coverage", "add", "change", "void"),
    "manager": PATIENT_READ + ["audit.view_auditevent", "accounts.view_user"],
    "medtech": _crud("patient", "view") + _clinical("view") + _crud("medicationstatement", "add"),
    "admin": PATIENT_READ
    + _crud("patient", "add", "change")
    + _clinical("add", "change", "void")
    + _crud("coverage", "add", "change", "void")
    + ["audit.view_auditevent", "accounts.view_user", "accounts.add_user", "accounts.change_user"],
}

ALL_ROLES = list(ROLE_LABELS)
