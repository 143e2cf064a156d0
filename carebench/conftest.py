"""Shared pytest fixtures: organizations, users in each role, a signed-in client."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from carebench.testing import (
    FacilityFactory,
    OrganizationFactory,
    UserFactory,
    load_sample_icd10,
)


@pytest.fixture
def org(db: Any) -> Any:
    organization = OrganizationFactory()
    FacilityFactory(organization=organization)
    return organization


@pytest.fixture
def other_org(db: Any) -> Any:
    organization = OrganizationFactory(name="Elsewhere Health")
    FacilityFactory(organization=organization)
    return organization


@pytest.fixture
def icd10(db: Any) -> None:
    load_sample_icd10()


def _user(org: Any, role: str) -> Any:
    return UserFactory(organization=org, username=f"{role}-{org.slug}", roles=[role])


@pytest.fixture
def mat(org: Any) -> Any:
    return _user(org, "mat")


@pytest.fixture
def frontdesk(org: Any) -> Any:
    return _user(org, "frontdesk")


@pytest.fixture
def provider(org: Any) -> Any:
    return _user(org, "provider")


@pytest.fixture
def biller(org: Any) -> Any:
    return _user(org, "biller")


@pytest.fixture
def nurse(org: Any) -> Any:
    return _user(org, "nurse")


@pytest.fixture
def medtech(org: Any) -> Any:
    return _user(org, "medtech")


@pytest.fixture
def manager(org: Any) -> Any:
    return _user(org, "manager")


@pytest.fixture
def other_mat(other_org: Any) -> Any:
    return _user(other_org, "mat")


def signed_in(user: Any) -> Client:
    """A test client signed in as `user` (with the second factor marked as passed)."""
    client = Client()
    client.force_login(user)
    if user.mfa_required:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def mat_client(mat: Any) -> Client:
    return signed_in(mat)


@pytest.fixture
def manager_client(manager: Any) -> Client:
    return signed_in(manager)


# --- the browser (Playwright driving Debian's chromium) -----------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def page() -> Any:
    """A chromium page at 1366x768 that fails the test on any script error or CSP violation.

    Skips when chromium is missing, unless CI is set (then it fails: CI installs chromium).
    """
    import os
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {CHROMIUM} is missing: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium); set CI=1 to fail")
    # Playwright's sync API runs an event loop in this thread; Django's ORM is used outside it.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        errors: list[str] = []
        # A refused form comes back with 422 on purpose; chromium logs every 4xx page load.
        refused_form = "the server responded with a status of 422"
        tab.on(
            "console",
            lambda msg: (
                errors.append(f"{tab.url}: {msg.text}")
                if msg.type == "error" and refused_form not in msg.text
                else None
            ),
        )
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab
        context.close()
        browser.close()
        # No script errors and no Content-Security-Policy violations on any page.
        assert not errors, errors
