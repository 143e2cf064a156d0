"""Template context every page needs: the user's organization, facility and roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def workstation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "organization": getattr(request, "organization", None),
        "user_roles": user.role_names,
    }
