"""Sign in (password, then TOTP where enrolled), sign out, MFA enrolment, and the lock-out page."""

from __future__ import annotations

import base64
from io import BytesIO
from typing import Any
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from carebench.audit import services as audit
from carebench.audit.models import Action, Outcome
from carebench.core.actor import Actor

LOCKED_OUT_MESSAGE = (
    "Too many failed sign-ins for this username. It is locked for 15 minutes; "
    "ask your manager if you need access sooner."
)


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "Username or password is not correct.",
        "inactive": "Username or password is not correct.",
    }


class TokenForm(forms.Form):
    token = forms.CharField(
        label="6-digit code",
        max_length=8,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "pattern": "[0-9]*",
            }
        ),
    )


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    # a path on this site only: anything else (another host, or a bare word that `redirect`
    # would take for a view name) goes home
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return target
    return "/"


@login_not_required
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        login(request, user)
        if user_has_device(user):
            return redirect(f"/account/mfa/verify/?{urlencode({'next': _safe_next(request)})}")
        if user.mfa_required:
            return redirect("accounts:mfa_setup")
        return redirect(_safe_next(request))
    return render(request, "accounts/login.html", {"form": form, "next": _safe_next(request)})


def locked_out(
    request: HttpRequest, credentials: Any = None, *args: Any, **kw: Any
) -> HttpResponse:
    form = LoginForm(request)
    return render(
        request,
        "accounts/login.html",
        {"form": form, "locked_message": LOCKED_OUT_MESSAGE, "next": "/"},
        status=429,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.is_verified():
        return redirect(_safe_next(request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            return redirect(_safe_next(request))
        audit.record_for_actor(
            Actor.from_request(request), action=Action.MFA_FAILED, outcome=Outcome.FAILURE
        )
        form.add_error("token", "That code is not correct or has expired; enter the current one.")
    return render(request, "accounts/mfa_verify.html", {"form": form, "next": _safe_next(request)})


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP device: show the QR code, confirm with a first code."""
    user: Any = request.user
    if user.is_verified():
        messages.info(request, "Two-step sign-in is already set up.")
        return redirect("core:home")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
                audit.record_for_actor(
                    Actor.from_request(request),
                    action=Action.MFA_ENROLLED,
                    resource_type="TOTPDevice",
                    resource_id=device.pk,
                )
            otp_login(request, device)
            request.session.pop("carebench_mfa_step", None)
            messages.success(request, "Two-step sign-in is set up.")
            return redirect("core:home")
        form.add_error("token", "That code does not match; check the time on your phone and retry.")
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return render(
        request,
        "accounts/mfa_setup.html",
        {
            "form": form,
            "qr": _qr_svg(device.config_url),
            "secret": secret,
            "required": user.mfa_required,
        },
    )
