"""Demo data for staff: the credential types, the demo staff's credentials (verified by the
practice manager; one expiring soon and one long expired, to show the warnings), and the
example scope-of-practice rules (marked as examples to check against the state's law).

Runs before the other demo builders, so that the MAT, the med tech and the nurse they act as
hold what the example rules ask for. Built once per organization."""

from __future__ import annotations

from datetime import date, timedelta

from carebench.accounts.models import User
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.models import Organization

from . import services
from .models import Credential, ScopeRule

# username, credential code, number, years since issued, days until it expires
DEMO_CREDENTIALS = [
    ("mat", "CMA", "CMA-1180442", 3, 700),
    ("mat", "BLS", "BLS-88120", 1, 45),  # expiring: shows on the dashboard and gets warnings
    ("mat", "RMA", "RMA-55301", 6, -400),  # an old one, expired
    ("medtech", "MED-ADMIN", "TX-MA-20331", 1, 330),
    ("medtech", "BLS", "BLS-88121", 1, 500),
    ("nurse", "BLS", "BLS-88122", 1, 600),
    ("provider", "BLS", "BLS-88123", 1, 400),
]


def build(org: Organization) -> int:
    """The demo staff's credentials and the example rules; returns credentials added."""
    if ScopeRule.objects.for_org(org).exists():
        return 0
    manager = User.objects.get(organization=org, username="manager")
    admin = User.objects.get(organization=org, username="admin")
    actor = Actor.system(org, user=manager)
    kinds = {k.code: k for k in services.ensure_credential_types(org)}
    today = clock.today()
    added = 0
    for username, code, number, years, days_left in DEMO_CREDENTIALS:
        user = User.objects.filter(organization=org, username=username).first()
        if user is None or Credential.objects.filter(user=user, number=number).exists():
            continue
        credential = services.add_credential(
            actor=actor,
            user=user,
            credential_type=kinds[code],
            number=number,
            issued_on=date(today.year - years, today.month, 1),
            expires_on=today + timedelta(days=days_left),
        )
        verifier = admin if user == manager else manager
        services.verify_credential(actor=Actor.system(org, user=verifier), credential=credential)
        added += 1
    services.install_example_rules(actor=actor)
    return added
