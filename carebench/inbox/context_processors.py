"""The inbox badge in the navigation: my open items and how many are overdue (one query,
made only when a page shows the navigation)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def inbox_badge(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    organization = getattr(request, "organization", None)
    if user is None or not user.is_authenticated or organization is None:
        return {}

    def counts() -> Any:
        from .selectors import badge_counts

        return badge_counts(organization, user)

    return {"inbox_badge": SimpleLazyObject(counts)}
