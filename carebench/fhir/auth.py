"""Bearer tokens and permissions for the FHIR API.

`Authorization: Bearer <token>` names a user (`accounts.services.user_for_token`); their
organization is the only one the request can see. Each operation needs a Django permission
(`patients.view_patient` and so on, given by the user's roles): without it the answer is a 403
OperationOutcome and an ACCESS_DENIED audit event.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from carebench.accounts.models import User
from carebench.accounts.services import user_for_token
from carebench.audit import services as audit
from carebench.audit.models import Action, Outcome
from carebench.core.actor import Actor
from carebench.core.request_info import client_address

from .outcome import FhirError

CHANNEL = "api"


class BearerToken(HttpBearer):
    """Resolve the bearer token to its user (None -> ninja raises AuthenticationError -> 401)."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        return user_for_token(token.strip())


def unauthorized(reason: str = "a valid bearer token is required") -> FhirError:
    return FhirError(401, "login", reason, headers={"WWW-Authenticate": 'Bearer realm="carebench"'})


def authorize(request: HttpRequest, permission: str) -> Actor:
    """The actor for this request, if the token's user holds `permission` (else 403)."""
    user: Any = getattr(request, "auth", None)
    if not isinstance(user, User) or user.organization is None:
        raise unauthorized()
    actor = Actor(
        user=user,
        organization=user.organization,
        client_address=client_address(request),
        channel=CHANNEL,
    )
    if not user.has_perm(permission):
        audit.record_for_actor(
            actor,
            action=Action.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            detail={"path": request.path, "method": request.method, "needs": [permission]},
        )
        raise FhirError(403, "forbidden", f"this user's roles do not allow {permission}")
    return actor
