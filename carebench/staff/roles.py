"""Which role holds which permission of this app (merged into accounts/roles.py).

Every worker sees and adds their own credentials and CE hours: the views check the row's user,
not a permission. Managers and administrators manage everyone's within their organization, and
edit the scope-of-practice rules; every role may read the rules (to see why a task was refused).
"""

from __future__ import annotations

_READ_RULES = ["staff.view_scoperule", "staff.view_credentialtype"]
_MANAGE = [
    "staff.view_credential",
    "staff.add_credential",
    "staff.change_credential",
    "staff.verify_credential",
    "staff.void_credential",
    "staff.view_ceentry",
    "staff.add_ceentry",
    "staff.view_credentialtype",
    "staff.view_scoperule",
    "staff.add_scoperule",
    "staff.change_scoperule",
    "staff.view_cosignrequest",
]

PERMISSIONS: dict[str, list[str]] = {
    "manager": _MANAGE,
    "admin": _MANAGE,
    "mat": _READ_RULES,
    "provider": _READ_RULES + ["staff.view_cosignrequest", "staff.cosign_cosignrequest"],
    "nurse": _READ_RULES,
    "medtech": _READ_RULES,
    "frontdesk": _READ_RULES,
    "biller": _READ_RULES,
}
