"""Session security beyond test_login.py: time-outs driven by the clock (not by editing the
session), what a timed-out or half-signed-in session may still do (nothing), lock-out edges,
the second factor for every role that needs it, CSRF with Django's check enforced, and the
session cookie itself.

test_login.py already covers: sign-in required; Argon2; success and failure audited; five
failures lock a username (known or not) for 15 minutes without spilling to other users; the
idle time-out (16 minutes of silence, written into the session) and its setting; the absolute
time-out (12 hours, written into the session); a manager must enrol TOTP, an enrolled user must
pass it; a MAT may opt in; logout is POST-only and audited; no open redirect after sign-in; the
once-a-minute session write.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from carebench.audit.models import AuditEvent
from carebench.core import clock
from carebench.patients.models import Patient
from carebench.testing import TEST_PASSWORD, UserFactory

# a Monday morning at the clinic (core.clock's zone)
START = datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo(settings.CAREBENCH_DEFAULT_TIME_ZONE))
REGISTRATION = {
    "family_name": "Csrf",
    "given_name": "Test",
    "birth_date": "03/09/1975",
    "sex": "female",
    "preferred_language": "en",
}


def _login(client: Client, username: str, password: str = TEST_PASSWORD) -> Any:
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def _signed_in_at(user: Any, at: datetime) -> Client:
    client = Client()
    with clock.frozen(at):
        assert _login(client, user.username).status_code == 302
    return client


def _get(client: Client, at: datetime, path: str = "/", **headers: str) -> Any:
    with clock.frozen(at):
        return client.get(path, headers=headers)


def _signed_out(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/account/login/")


# --- idle and absolute time-outs, by the clock ---------------------------------------------------


def test_fourteen_idle_minutes_keep_the_session(mat: Any) -> None:
    client = _signed_in_at(mat, START)
    assert _get(client, START + timedelta(minutes=14, seconds=59)).status_code == 200


def test_fifteen_idle_minutes_and_a_second_sign_out_and_say_why(mat: Any) -> None:
    client = _signed_in_at(mat, START)
    _get(client, START + timedelta(minutes=1))  # activity is written once a minute
    assert _signed_out(_get(client, START + timedelta(minutes=16, seconds=2)))
    event = AuditEvent.objects.get(action="session_expired", user_id=mat.pk)
    assert '"idle"' in event.detail
    # the session is gone: the same cookie a minute later is still signed out
    assert _signed_out(_get(client, START + timedelta(minutes=17)))


def test_a_form_posted_after_the_idle_time_out_writes_nothing(mat: Any) -> None:
    client = _signed_in_at(mat, START)
    with clock.frozen(START + timedelta(minutes=20)):
        response = client.post(reverse("patients:register"), REGISTRATION)
    assert _signed_out(response)
    assert not Patient.objects.filter(family_name="Csrf").exists()


def test_an_htmx_request_after_the_time_out_is_sent_to_sign_in(mat: Any) -> None:
    client = _signed_in_at(mat, START)
    response = _get(client, START + timedelta(minutes=30), HX_Request="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/account/login/")


def test_steady_activity_still_ends_at_twelve_hours(mat: Any) -> None:
    client = _signed_in_at(mat, START)
    at = START
    while at < START + timedelta(hours=11, minutes=50):
        at += timedelta(minutes=10)
        assert _get(client, at).status_code == 200, at
    assert _signed_out(_get(client, START + timedelta(hours=12, minutes=1)))
    assert '"absolute"' in AuditEvent.objects.get(action="session_expired").detail


def test_signing_in_again_starts_a_new_twelve_hours(mat: Any) -> None:
    client = _signed_in_at(mat, START)
    later = START + timedelta(hours=12, minutes=5)
    assert _signed_out(_get(client, later))
    with clock.frozen(later):
        _login(client, mat.username)
    assert _get(client, later + timedelta(minutes=5)).status_code == 200


# --- lock-out -----------------------------------------------------------------------------------


def test_a_locked_username_stays_locked_from_another_address(mat: Any) -> None:
    for _ in range(5):
        _login(Client(REMOTE_ADDR="10.0.0.5"), mat.username, "wrong")
    client = Client(REMOTE_ADDR="10.9.9.9")
    assert _login(client, mat.username).status_code == 429
    assert "_auth_user_id" not in client.session


def test_four_failures_then_success_start_the_count_again(mat: Any) -> None:
    for _ in range(4):
        _login(Client(), mat.username, "wrong")
    assert _login(Client(), mat.username).status_code == 302
    for _ in range(4):
        _login(Client(), mat.username, "wrong")
    assert _login(Client(), mat.username).status_code == 302


def test_the_lock_lifts_after_fifteen_minutes(mat: Any) -> None:
    from axes.models import AccessAttempt

    for _ in range(5):
        _login(Client(), mat.username, "wrong")
    assert _login(Client(), mat.username).status_code == 429
    # axes keeps its own clock (the attempt's time): move the attempt back 15 minutes
    AccessAttempt.objects.update(attempt_time=clock.now() - timedelta(minutes=15, seconds=5))
    assert _login(Client(), mat.username).status_code == 302


def test_a_locked_out_sign_in_names_no_user_and_reveals_nothing(mat: Any) -> None:
    for _ in range(5):
        _login(Client(), mat.username, "wrong")
    known = _login(Client(), mat.username).content.decode()
    for _ in range(5):
        _login(Client(), "nobody-at-all", "wrong")
    unknown = _login(Client(), "nobody-at-all").content.decode()
    assert "locked for 15 minutes" in known and "locked for 15 minutes" in unknown


# --- the second factor ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_roles_that_need_a_second_factor_reach_nothing_without_it(org: Any, role: str) -> None:
    user = UserFactory(organization=org, username=f"{role}-mfa", roles=[role])
    client = Client()
    assert _login(client, user.username)["Location"] == reverse("accounts:mfa_setup")
    for path in ("/", reverse("patients:search"), reverse("audit:report"), "/staff/"):
        assert client.get(path)["Location"] == reverse("accounts:mfa_setup"), path


def test_a_half_signed_in_manager_cannot_write(manager: Any) -> None:
    TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    client = Client()
    _login(client, manager.username)
    response = client.post(reverse("patients:register"), REGISTRATION)
    assert response["Location"] == reverse("accounts:mfa_verify")
    assert not Patient.objects.filter(family_name="Csrf").exists()


def test_a_wrong_code_is_audited_and_a_replayed_code_is_refused(manager: Any) -> None:
    device = TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    first = Client()
    _login(first, manager.username)
    code = f"{totp(device.bin_key):06d}"
    assert first.post(reverse("accounts:mfa_verify"), {"token": code}).status_code == 302
    second = Client()
    _login(second, manager.username)
    replay = second.post(reverse("accounts:mfa_verify"), {"token": code})
    assert replay.status_code == 200 and b"not correct" in replay.content
    assert second.get("/").status_code == 302
    assert AuditEvent.objects.filter(action="mfa_failed", user_id=manager.pk).exists()


def test_after_a_time_out_the_second_factor_is_asked_again(manager: Any) -> None:
    device = TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    client = _signed_in_at(manager, START)
    with clock.frozen(START):
        code = f"{totp(device.bin_key):06d}"
        client.post(reverse("accounts:mfa_verify"), {"token": code})
        assert client.get("/").status_code == 200
    later = START + timedelta(minutes=20)
    assert _signed_out(_get(client, later))
    with clock.frozen(later):
        _login(client, manager.username)
        assert client.get("/")["Location"] == reverse("accounts:mfa_verify")


# --- CSRF, with Django's check enforced (the test client skips it by default) -------------------


def _token(client: Client, path: str) -> str:
    page = client.get(path).content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found, f"{path} shows no CSRF token"
    return found[1]


def test_sign_in_without_the_csrf_token_is_refused(mat: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    response = _login(client, mat.username)
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_sign_in_with_the_token_works(mat: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    token = _token(client, reverse("accounts:login"))
    response = client.post(
        reverse("accounts:login"),
        {"username": mat.username, "password": TEST_PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def _csrf_client(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_a_write_without_the_csrf_token_is_refused_and_writes_nothing(mat: Any) -> None:
    client = _csrf_client(mat)
    response = client.post(reverse("patients:register"), REGISTRATION)
    assert response.status_code == 403
    assert not Patient.objects.filter(family_name="Csrf").exists()


def test_a_token_from_another_session_is_refused(mat: Any, frontdesk: Any) -> None:
    stolen = _token(_csrf_client(frontdesk), reverse("patients:register"))
    client = _csrf_client(mat)
    client.get(reverse("patients:register"))  # this session's own CSRF cookie
    response = client.post(
        reverse("patients:register"), {**REGISTRATION, "csrfmiddlewaretoken": stolen}
    )
    assert response.status_code == 403


def test_an_htmx_write_needs_the_token_in_its_header(mat: Any) -> None:
    from carebench.testing import make_patient

    patient = make_patient(mat)
    client = _csrf_client(mat)
    url = reverse("patients:add_allergy", args=[patient.pk])
    refused = client.post(url, {"substance": "Latex"}, headers={"HX-Request": "true"})
    assert refused.status_code == 403


def test_sign_out_without_the_token_is_refused_and_the_session_stays(mat: Any) -> None:
    client = _csrf_client(mat)
    assert client.post(reverse("accounts:logout")).status_code == 403
    assert client.get("/").status_code == 200


def test_the_api_ignores_the_session_cookie(mat: Any) -> None:
    """The FHIR API is exempt from CSRF because it authenticates by bearer token only: a
    browser's session cookie, sent by a forged cross-site request, opens nothing."""
    client = _csrf_client(mat)
    assert client.get("/fhir/Patient").status_code == 401
    body = '{"resourceType": "Patient", "name": [{"family": "Forged"}]}'
    response = client.post("/fhir/Patient", body, content_type="application/fhir+json")
    assert response.status_code == 401
    assert not Patient.objects.filter(family_name="Forged").exists()


# --- the session cookie ---------------------------------------------------------------------------


def test_the_session_key_changes_at_sign_in(mat: Any) -> None:
    client = Client()
    client.get(reverse("accounts:login"))
    session = client.session
    session["planted"] = True
    session.save()
    before = session.session_key
    _login(client, mat.username)
    assert client.session.session_key != before


def test_the_session_cookie_is_http_only_same_site_and_ends_with_the_browser(mat: Any) -> None:
    response = _login(Client(), mat.username)
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["expires"] and not cookie["max-age"]  # a browser-session cookie
