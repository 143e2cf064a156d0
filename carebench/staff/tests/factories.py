"""Helpers for the staff tests: a credential on file (verified or not) and the example rules."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from carebench.core import clock
from carebench.staff import services
from carebench.staff.models import Credential, CredentialType
from carebench.testing import actor_for


def credential_type(org: Any, code: str) -> CredentialType:
    services.ensure_credential_types(org)
    return CredentialType.objects.get(organization=org, code=code)


def make_credential(
    user: Any,
    code: str = "CCMA",
    *,
    expires_on: date | None = None,
    issued_on: date | None = None,
    verified: bool = True,
    number: str | None = None,
    proof: bytes | None = b"%PDF-1.4 test certificate",
) -> Credential:
    """A credential added through the service (as the worker) and, unless `verified=False`,
    marked verified (as a manager would)."""
    today = clock.today()
    expires_on = expires_on or today + timedelta(days=400)
    issued_on = issued_on or min(today, expires_on) - timedelta(days=300)
    row = services.add_credential(
        actor=actor_for(user),
        user=user,
        credential_type=credential_type(user.organization, code),
        number=number or f"{code}-{user.pk}-{expires_on:%Y%m%d}",
        issued_on=issued_on,
        expires_on=expires_on,
        proof=proof,
        proof_name="certificate.pdf" if proof else "",
    )
    if verified:
        Credential.objects.filter(pk=row.pk).update(verified_at=clock.now())
        row.refresh_from_db()
    return row


def install_examples(user: Any) -> list[Any]:
    return services.install_example_rules(actor=actor_for(user))
