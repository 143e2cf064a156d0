"""Audit every login, failed login, lock-out and logout; keep the role groups in step."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from carebench.audit import services as audit
from carebench.audit.models import Action, Outcome
from carebench.core import clock
from carebench.core.request_info import client_address


@receiver(post_migrate)
def _sync_roles(sender: Any, app_config: Any = None, **kwargs: Any) -> None:
    # Runs after each app's permissions are created, so the last run sees them all.
    if app_config is not None and app_config.name.startswith("carebench."):
        from .services import sync_roles

        sync_roles()


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session["carebench_login_at"] = clock.now().timestamp()
    audit.record(
        action=Action.LOGIN,
        organization_id=user.organization_id,
        user_id=user.pk,
        username=user.get_username(),
        client_address=client_address(request),
    )


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    audit.record(
        action=Action.LOGOUT,
        organization_id=user.organization_id,
        user_id=user.pk,
        username=user.get_username(),
        client_address=client_address(request),
    )


def _org_of(username: str) -> tuple[int | None, int | None]:
    user = get_user_model().objects.filter(username=username).only("id", "organization_id").first()
    if user is None:
        return None, None
    return user.organization_id, user.pk  # type: ignore[attr-defined]


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    org_id, user_id = _org_of(username)
    audit.record(
        action=Action.LOGIN_FAILED,
        organization_id=org_id,
        user_id=user_id,
        username=username,
        outcome=Outcome.FAILURE,
        client_address=client_address(request),
        detail={"known_user": user_id is not None},
    )


@receiver(user_locked_out)
def _locked_out(
    sender: Any, request: Any, username: str | None, ip_address: str, **kw: Any
) -> None:
    org_id, user_id = _org_of(username or "")
    audit.record(
        action=Action.LOCKED_OUT,
        organization_id=org_id,
        user_id=user_id,
        username=(username or "")[:150],
        outcome=Outcome.DENIED,
        client_address=ip_address or client_address(request),
    )
