"""Lab fixtures: the shipped catalog and a provider whose user can sign."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from carebench.labs import services
from carebench.labs.models import LabTest
from carebench.scheduling import services as sched
from carebench.testing import actor_for, make_patient


@pytest.fixture
def lab(org: Any, provider: Any, mat: Any, icd10: Any) -> SimpleNamespace:
    services.load_shipped_catalog(actor=actor_for(mat))
    facility = org.facilities.first()
    doctor = sched.create_provider(
        actor=actor_for(provider),
        family_name="Okafor",
        given_name="Grace",
        credentials="MD",
        npi="1234567893",
        facilities=[facility],
        user=provider,
    )
    patient = make_patient(mat)
    tests = {t.code: t for t in LabTest.objects.for_org(org)}
    return SimpleNamespace(
        org=org,
        provider=doctor,
        patient=patient,
        tests=tests,
        mat=actor_for(mat),
        doc=actor_for(provider),
    )


def order_for(lab: SimpleNamespace, *codes: str, **kw: Any) -> Any:
    options = {
        "actor": lab.mat,
        "patient": lab.patient,
        "provider": lab.provider,
        "tests": [lab.tests[c] for c in codes],
        "basis": "standing",
        "diagnosis_codes": ["E11.9"],
    }
    options.update(kw)
    return services.place_order(**options)
