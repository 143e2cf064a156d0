"""Tasks a rule allows only with a provider's co-signature: queued when documented, co-signed
by a provider."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from carebench.conftest import signed_in
from carebench.staff import services
from carebench.staff.models import CosignRequest
from carebench.testing import actor_for, make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def cosign_rule(manager: Any) -> Any:
    return services.add_scope_rule(
        actor=actor_for(manager),
        task="vitals",
        roles=["mat"],
        requires_cosign=True,
        note="new hire: provider co-signs for 90 days",
    )


def test_a_task_under_a_cosign_rule_goes_on_the_providers_queue(cosign_rule: Any, mat: Any) -> None:
    from decimal import Decimal

    from carebench.encounters import services as enc
    from carebench.encounters.vitals import VitalsEntry

    patient = make_patient(mat)
    enc.record_vitals(actor=actor_for(mat), patient=patient, entry=VitalsEntry(spo2=Decimal(98)))
    request = CosignRequest.objects.get()
    assert (request.task, request.worker, request.patient_id) == ("vitals", mat, patient.pk)
    assert "new hire" in request.rule_note


def test_a_refused_documentation_leaves_no_cosign_request(cosign_rule: Any, frontdesk: Any) -> None:
    with pytest.raises(ValidationError):
        services.require_task(
            actor=actor_for(frontdesk),
            task="vitals",
            facility=frontdesk.organization.facilities.first(),
        )
    assert not CosignRequest.objects.exists()


def test_the_provider_cosigns_from_the_queue(cosign_rule: Any, mat: Any, provider: Any) -> None:
    services.require_task(
        actor=actor_for(mat), task="vitals", facility=mat.organization.facilities.first()
    )
    request = CosignRequest.objects.get()
    client = signed_in(provider)
    assert client.get(reverse("staff:cosign_queue")).status_code == 200
    client.post(reverse("staff:cosign", args=[request.pk]))
    request.refresh_from_db()
    assert request.cosigned_by == provider and request.cosigned_at is not None


def test_a_mat_cannot_cosign(cosign_rule: Any, mat: Any) -> None:
    services.require_task(
        actor=actor_for(mat), task="vitals", facility=mat.organization.facilities.first()
    )
    request = CosignRequest.objects.get()
    assert signed_in(mat).post(reverse("staff:cosign", args=[request.pk])).status_code == 403
