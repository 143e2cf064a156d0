"""Permission checks for views: every page says what it needs, checked on the server."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from carebench.audit import services as audit
from carebench.audit.models import Action, Outcome
from carebench.core.actor import Actor

_Response = TypeVar("_Response", bound=HttpResponseBase)


def require_perms(
    *perms: str,
) -> Callable[[Callable[..., _Response]], Callable[..., _Response]]:
    """403 (audited) unless the signed-in user holds every permission named."""

    def decorator(view: Callable[..., _Response]) -> Callable[..., _Response]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> _Response:
            user: Any = request.user
            if user.organization_id is None or not user.has_perms(perms):
                if user.organization_id is not None:
                    audit.record_for_actor(
                        Actor.from_request(request),
                        action=Action.ACCESS_DENIED,
                        outcome=Outcome.DENIED,
                        detail={"path": request.path, "needs": list(perms)},
                    )
                raise PermissionDenied(f"needs {', '.join(perms)}")
            return view(request, *args, **kwargs)

        wrapper.required_perms = perms  # type: ignore[attr-defined]
        return wrapper

    return decorator
