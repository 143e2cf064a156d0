"""Template context every page needs: the user's organization, facility and roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def workstation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "organization": getattr(request, "organization", None),
        # lazy: an htmx partial that never shows the roles costs no query
        "user_roles": SimpleLazyObject(lambda: user.role_names),
    }
