"""Helpers for the inbox tests: items made through the real service."""

from __future__ import annotations

from typing import Any

from carebench.accounts.models import User
from carebench.inbox import services
from carebench.inbox.models import Item
from carebench.testing import actor_for


def make_item(
    user: User,
    *,
    kind: str = Item.Kind.TASK,
    subject: str = "Call the lab about a missing result",
    to_user: User | None = None,
    to_role: str = "",
    **fields: Any,
) -> Item:
    """An item created by `user`, assigned to `to_user`, or `to_role`, or else to `user`."""
    if to_user is None and not to_role:
        to_user = user
    if kind == Item.Kind.PHONE:
        fields.setdefault("callback_number", "(512) 555-0147")
    return services.create_item(
        actor=actor_for(user),
        kind=kind,
        subject=subject,
        assignee=services.Assignee(user=to_user, role=to_role),
        **fields,
    )
