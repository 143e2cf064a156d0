"""Wound care: wounds and their stages, measurements with the area, the trend, photographs
checked by content and served only to the organization."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from carebench.audit.models import AuditEvent
from carebench.conftest import signed_in
from carebench.core import clock
from carebench.encounters import procedure_selectors as selectors
from carebench.encounters import procedure_services as services
from carebench.encounters.procedure_models import Wound, WoundAssessment
from carebench.encounters.tests.test_procedure_services import jpeg_bytes
from carebench.testing import actor_for, make_patient


@pytest.fixture
def wound(mat: Any) -> Wound:
    patient = make_patient(mat)
    return services.add_wound(
        actor=actor_for(mat), patient=patient, location="sacrum", kind="pressure", stage="2"
    )


def _assess(mat: Any, wound: Wound, days_ago: int = 0, **fields: Any) -> WoundAssessment:
    return services.record_wound_assessment(
        actor=actor_for(mat),
        wound=wound,
        assessed_at=clock.now() - timedelta(days=days_ago),
        **fields,
    )


def test_a_pressure_injury_needs_its_stage(mat: Any) -> None:
    patient = make_patient(mat)
    with pytest.raises(ValidationError) as exc:
        services.add_wound(actor=actor_for(mat), patient=patient, location="heel", kind="pressure")
    assert "stage" in exc.value.message_dict


def test_only_pressure_injuries_are_staged(mat: Any) -> None:
    patient = make_patient(mat)
    with pytest.raises(ValidationError) as exc:
        services.add_wound(
            actor=actor_for(mat), patient=patient, location="shin", kind="venous", stage="3"
        )
    assert "only pressure" in exc.value.message_dict["stage"][0]


def test_the_area_is_length_times_width(mat: Any, wound: Wound) -> None:
    row = _assess(mat, wound, length_cm=Decimal("3.5"), width_cm=Decimal("2.0"))
    assert row.area_cm2 == Decimal("7.00")


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"length_cm": Decimal("-1"), "width_cm": Decimal(2)}, "length_cm"),
        ({"depth_cm": Decimal("0.5")}, "depth_cm"),
        ({"length_cm": Decimal(3)}, "width_cm"),
        ({"length_cm": Decimal(300), "width_cm": Decimal(2)}, "length_cm"),
    ],
)
def test_impossible_measurements_are_refused(
    mat: Any, wound: Wound, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        _assess(mat, wound, **fields)
    assert field in exc.value.message_dict
    assert not WoundAssessment.objects.exists()


def test_a_large_deep_wound_is_accepted(mat: Any, wound: Wound) -> None:
    row = _assess(mat, wound, length_cm=Decimal(25), width_cm=Decimal(18), depth_cm=Decimal("6.5"))
    assert row.area_cm2 == Decimal("450.00")


def test_a_shrinking_area_reads_as_healing(mat: Any, wound: Wound) -> None:
    _assess(mat, wound, days_ago=14, length_cm=Decimal(4), width_cm=Decimal(3))
    _assess(mat, wound, days_ago=7, length_cm=Decimal(3), width_cm=Decimal(3))
    _assess(mat, wound, days_ago=0, length_cm=Decimal(2), width_cm=Decimal(3))
    trend = selectors.area_trend(selectors.wound_assessments(wound))
    assert trend.healing and trend.change_percent == Decimal(-50)
    assert "Healing" in trend.words and trend.svg.startswith("<svg")


def test_a_growing_area_reads_as_not_healing(mat: Any, wound: Wound) -> None:
    _assess(mat, wound, days_ago=7, length_cm=Decimal(2), width_cm=Decimal(2))
    _assess(mat, wound, days_ago=0, length_cm=Decimal(3), width_cm=Decimal(2))
    trend = selectors.area_trend(selectors.wound_assessments(wound))
    assert not trend.healing and "Not healing" in trend.words


def test_a_photo_that_is_not_an_image_is_refused(mat: Any, wound: Wound) -> None:
    with pytest.raises(ValidationError) as exc:
        _assess(mat, wound, dressing="foam", photo=b"%PDF-1.4 pretending to be a photo")
    assert "JPEG or PNG" in exc.value.message_dict["photo"][0]


def test_a_photo_named_jpg_with_other_content_is_refused_on_the_page(
    mat: Any, wound: Wound
) -> None:
    client = signed_in(mat)
    upload = SimpleUploadedFile("wound.jpg", b"<script>alert(1)</script>", "image/jpeg")
    response = client.post(
        reverse("encounters:assess_wound", args=[wound.pk]),
        {"dressing": "foam", "photo": upload},
    )
    assert response.status_code == 422
    assert b"JPEG or PNG" in response.content


def test_a_photo_is_served_only_to_its_organization(mat: Any, other_mat: Any, wound: Wound) -> None:
    row = _assess(mat, wound, dressing="foam", photo=jpeg_bytes())
    url = reverse("encounters:wound_photo", args=[row.pk])
    mine = signed_in(mat).get(url)
    assert mine.status_code == 200 and mine["Content-Type"] == "image/jpeg"
    assert "no-store" in mine["Cache-Control"]
    assert signed_in(other_mat).get(url).status_code == 404


def test_a_photo_needs_the_permission(frontdesk: Any, mat: Any, wound: Wound) -> None:
    row = _assess(mat, wound, dressing="foam", photo=jpeg_bytes())
    response = signed_in(frontdesk).get(reverse("encounters:wound_photo", args=[row.pk]))
    assert response.status_code == 403


def test_the_wound_page_shows_the_trend_and_audits_the_read(mat: Any, wound: Wound) -> None:
    _assess(mat, wound, days_ago=7, length_cm=Decimal(4), width_cm=Decimal(3))
    _assess(mat, wound, days_ago=0, length_cm=Decimal(2), width_cm=Decimal(3))
    response = signed_in(mat).get(reverse("encounters:wound", args=[wound.pk]))
    assert response.status_code == 200
    assert b"Healing: area down 50%" in response.content
    assert AuditEvent.objects.filter(
        resource_type="Wound", action="view", patient_id=wound.patient_id
    ).exists()


def test_adding_a_wound_on_the_page(mat: Any) -> None:
    patient = make_patient(mat)
    client = signed_in(mat)
    url = reverse("encounters:wounds", args=[patient.pk])
    refused = client.post(url, {"location": "left heel", "kind": "pressure"})
    assert refused.status_code == 422
    response = client.post(url, {"location": "left heel", "kind": "pressure", "stage": "dti"})
    assert response.status_code == 302
    assert Wound.objects.get(patient=patient).get_stage_display() == "Deep tissue injury"


def test_a_healed_wound_takes_no_new_measurements(mat: Any, wound: Wound) -> None:
    services.set_wound_status(actor=actor_for(mat), wound=wound, status="healed")
    with pytest.raises(ValidationError) as exc:
        _assess(mat, wound, length_cm=Decimal(1), width_cm=Decimal(1))
    assert "healed" in exc.value.message_dict["wound"][0]
