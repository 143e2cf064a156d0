from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from carebench.audit.models import AuditEvent
from carebench.core import clock
from carebench.testing import TEST_PASSWORD


def _login(client: Client, username: str, password: str = TEST_PASSWORD):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_pages_need_sign_in(db):
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")


def test_production_passwords_are_hashed_with_argon2():
    from carebench.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_login_success_is_audited(mat):
    client = Client()
    response = _login(client, mat.username)
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="login")
    assert event.user_id == mat.pk and event.client_address == "127.0.0.1"


def test_wrong_password_and_unknown_user_get_the_same_answer(mat):
    wrong = _login(Client(), mat.username, "nope")
    unknown = _login(Client(), "nobody-here", "nope")
    assert wrong.status_code == unknown.status_code == 200
    assert b"Username or password is not correct" in wrong.content
    assert b"Username or password is not correct" in unknown.content
    assert AuditEvent.objects.filter(action="login_failed").count() == 2


@pytest.mark.parametrize("username", ["known", "unknown"])
def test_five_failures_lock_the_username_for_fifteen_minutes(mat, username):
    name = mat.username if username == "known" else "ghost-user"
    for _ in range(5):
        _login(Client(), name, "wrong")
    locked = _login(Client(), name, TEST_PASSWORD)
    assert locked.status_code == 429
    assert b"locked for 15 minutes" in locked.content
    assert AuditEvent.objects.filter(action="locked_out").exists()


def test_lockout_does_not_spill_to_other_users(mat, frontdesk):
    for _ in range(5):
        _login(Client(), mat.username, "wrong")
    assert _login(Client(), frontdesk.username).status_code == 302


def test_idle_timeout_signs_out(mat):
    client = Client()
    _login(client, mat.username)
    assert client.get("/").status_code == 200
    session = client.session
    session["carebench_last_seen"] = (clock.now() - timedelta(minutes=16)).timestamp()
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and "/account/login/" in response["Location"]
    assert AuditEvent.objects.filter(action="session_expired").exists()


@override_settings(CAREBENCH_IDLE_TIMEOUT_MINUTES=30)
def test_idle_timeout_is_configurable(mat):
    client = Client()
    _login(client, mat.username)
    session = client.session
    session["carebench_last_seen"] = (clock.now() - timedelta(minutes=20)).timestamp()
    session.save()
    assert client.get("/").status_code == 200


def test_absolute_timeout_after_twelve_hours(mat):
    client = Client()
    _login(client, mat.username)
    session = client.session
    session["carebench_login_at"] = (clock.now() - timedelta(hours=12, minutes=1)).timestamp()
    session.save()
    response = client.get("/")
    assert response.status_code == 302


def test_manager_must_enrol_mfa_before_anything(manager):
    client = Client()
    response = _login(client, manager.username)
    assert response["Location"] == reverse("accounts:mfa_setup")
    assert client.get("/").status_code == 302
    page = client.get(reverse("accounts:mfa_setup"))
    assert page.status_code == 200 and b"data:image/svg+xml;base64," in page.content
    device = TOTPDevice.objects.get(user=manager, confirmed=False)
    code = f"{totp(device.bin_key):06d}"
    done = client.post(reverse("accounts:mfa_setup"), {"token": code})
    assert done.status_code == 302
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="mfa_enrolled", user_id=manager.pk).exists()


def test_enrolled_user_must_pass_the_code(manager):
    device = TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    client = Client()
    response = _login(client, manager.username)
    assert response["Location"].startswith(reverse("accounts:mfa_verify"))
    bad = client.post(reverse("accounts:mfa_verify"), {"token": "000000"})
    assert bad.status_code == 200 and b"not correct" in bad.content
    assert client.get("/").status_code == 302
    # django-otp throttles after a failure (1 s, 2 s, ...); a person retries after that wait
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=None, throttling_failure_count=0
    )
    good = client.post(reverse("accounts:mfa_verify"), {"token": f"{totp(device.bin_key):06d}"})
    assert good.status_code == 302
    assert client.get("/").status_code == 200


def test_mat_may_opt_in_but_is_not_forced(mat):
    client = Client()
    assert _login(client, mat.username)["Location"] == "/"
    assert client.get(reverse("accounts:mfa_setup")).status_code == 200


def test_logout_is_post_only_and_audited(mat):
    client = Client()
    _login(client, mat.username)
    assert client.get(reverse("accounts:logout")).status_code == 405
    client.post(reverse("accounts:logout"))
    assert AuditEvent.objects.filter(action="logout", user_id=mat.pk).exists()
    assert client.get("/").status_code == 302


def test_open_redirect_after_login_is_refused(mat):
    client = Client()
    response = client.post(
        reverse("accounts:login") + "?next=https://evil.example/",
        {"username": mat.username, "password": TEST_PASSWORD},
    )
    assert response["Location"] == "/"


def test_activity_slides_the_idle_timeout_without_writing_every_request(mat):
    client = Client()
    _login(client, mat.username)
    client.get("/")
    first = client.session["carebench_last_seen"]
    client.get("/")
    assert client.session["carebench_last_seen"] == first  # fresh: no session write
    session = client.session
    session["carebench_last_seen"] = first - 120
    session.save()
    client.get("/")
    assert client.session["carebench_last_seen"] > first - 120  # touched after a minute
