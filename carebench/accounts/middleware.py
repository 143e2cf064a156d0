"""Session time-outs, sign-in required everywhere, and the second factor where a role needs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.request_info import client_address

Handler = Callable[[HttpRequest], HttpResponse]

# Paths that answer without a session: the API has its own bearer-token check.
PUBLIC_PREFIXES = ("/fhir/", "/static/", "/healthz")
MFA_EXEMPT_PREFIXES = ("/account/", "/static/", "/healthz", "/fhir/")
# How often activity is written to the session (the idle time-out is exact to this much).
TOUCH_EVERY_SECONDS = 60
MFA_STEP_KEY = "carebench_mfa_step"


class LoginRequiredMiddleware(DjangoLoginRequired):
    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        if request.path.startswith(PUBLIC_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class SessionTimeoutMiddleware:
    """Sign out after the idle time-out, and after the absolute time-out since sign-in."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = clock.now().timestamp()
            idle = settings.CAREBENCH_IDLE_TIMEOUT_MINUTES * 60
            absolute = settings.CAREBENCH_ABSOLUTE_TIMEOUT_HOURS * 3600
            login_at = request.session.get("carebench_login_at", now)
            # no activity written yet (the first request after sign-in): idle since sign-in
            last_seen = request.session.get("carebench_last_seen", login_at)
            reason = None
            if now - last_seen > idle:
                reason = "idle"
            elif now - login_at > absolute:
                reason = "absolute"
            if reason:
                audit.record(
                    action=Action.SESSION_EXPIRED,
                    organization_id=user.organization_id,
                    user_id=user.pk,
                    username=user.get_username(),
                    client_address=client_address(request),
                    detail={"reason": reason},
                )
                logout(request)
                messages.info(request, "Your session timed out. Please sign in again.")
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = settings.LOGIN_URL_PATH
                    return response
                return redirect(f"{settings.LOGIN_URL_PATH}?next={request.path}")
            if (
                now - last_seen >= TOUCH_EVERY_SECONDS
                or "carebench_last_seen" not in request.session
            ):
                request.session["carebench_last_seen"] = now
        return self.get_response(request)


class MFARequiredMiddleware:
    """Users with a TOTP device, or in a role that requires one, must pass it before anything."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user: Any = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(MFA_EXEMPT_PREFIXES)
        ):
            # What this session must do for its second factor, decided once per session (a
            # role change takes effect at the next sign-in; privilege changes are audited).
            step = request.session.get(MFA_STEP_KEY)
            if step is None:
                from django_otp import user_has_device

                if user_has_device(user):
                    step = "verify"
                else:
                    step = "setup" if user.mfa_required else "none"
                request.session[MFA_STEP_KEY] = step
            if step == "verify":
                return redirect("accounts:mfa_verify")
            if step == "setup":
                return redirect("accounts:mfa_setup")
        return self.get_response(request)
