"""Which role holds which permission of this app (merged into accounts/roles.py).

Every clinical and front-desk role may create and work items (view, add, change), the
medication technician too (refill requests to the pharmacy, messages for the nurse); managers
and administrators also see every open item of the organization. Nobody deletes one.
"""

from __future__ import annotations

WORK = [
    "inbox.view_item",
    "inbox.add_item",
    "inbox.change_item",
    "inbox.view_itemevent",
]
SEE_ALL = ["inbox.view_all_items"]

PERMISSIONS: dict[str, list[str]] = {
    "mat": WORK,
    "frontdesk": WORK,
    "provider": WORK,
    "nurse": WORK,
    "medtech": WORK,
    "manager": WORK + SEE_ALL,
    "biller": WORK,
    "admin": WORK + SEE_ALL,
}
