"""The compliance pages: who may do what, refused forms, another organization's rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from carebench.compliance import services
from carebench.compliance.models import Device, Excursion, SterilizerCycle, TemperatureReading
from carebench.compliance.tests.factories import make_autoclave, make_cycle, make_device, make_set
from carebench.conftest import signed_in
from carebench.core import clock
from carebench.meds.models import StockLot
from carebench.testing import actor_for, make_patient, make_vaccine_clinic

DATA = Path(__file__).parent / "data"


@pytest.fixture
def clinic(mat, provider):
    return make_vaccine_clinic(mat, provider)


def test_a_mat_records_an_out_of_range_reading_and_sees_the_excursion(mat_client, clinic):
    url = reverse("compliance:add_reading", args=[clinic.fridge.pk])
    response = mat_client.post(url, {"reading-current_c": "9.5"}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Temperature excursion" in page and "lot FL7Y2" in page
    assert "1 lot(s) in Vaccine fridge are quarantined" in page or "quarantined" in page
    assert StockLot.objects.get(pk=clinic.good_lot.pk).status == "quarantined"
    home = mat_client.get(reverse("compliance:home")).content.decode()
    assert "Open temperature excursions" in home and "Vaccine fridge" in home


def test_a_refused_reading_comes_back_with_422_naming_the_field(mat_client, clinic):
    url = reverse("compliance:add_reading", args=[clinic.fridge.pk])
    response = mat_client.post(url, {"reading-current_c": "5.0", "reading-max_c": "4.0"})
    assert response.status_code == 422
    assert "Max since reset (°C): the maximum cannot be below the current temperature" in (
        response.content.decode()
    )
    assert not TemperatureReading.objects.exists()


def test_logger_upload_imports_and_a_bad_file_is_named(mat_client, clinic):
    url = reverse("compliance:upload_readings", args=[clinic.fridge.pk])
    bad = SimpleUploadedFile("bad.csv", (DATA / "bad_row.csv").read_bytes(), "text/csv")
    response = mat_client.post(url, {"upload-file": bad})
    assert response.status_code == 422
    assert "line 3, column" in response.content.decode()
    good = SimpleUploadedFile("ok.csv", (DATA / "celsius_timestamp.csv").read_bytes(), "text/csv")
    response = mat_client.post(url, {"upload-file": good})
    assert response.status_code == 302
    assert TemperatureReading.objects.filter(source="logger").count() == 3
    page = mat_client.get(
        reverse("compliance:storage_unit", args=[clinic.fridge.pk]),
        {"start": "2026-11-01", "end": "2026-11-03"},
    ).content.decode()
    assert page.count('class="reading"') == 3  # the chart's points


def test_permissions(mat, manager, frontdesk, clinic):
    services.record_reading(
        actor=actor_for(mat), storage_unit=clinic.fridge, current_c=Decimal("9.5")
    )
    excursion = Excursion.objects.get()
    assert signed_in(frontdesk).get(reverse("compliance:home")).status_code == 403
    mat_client = signed_in(mat)
    resolve = reverse("compliance:resolve_excursion", args=[excursion.pk])
    assert mat_client.post(resolve, {}).status_code == 403
    assert mat_client.post(reverse("compliance:add_device"), {}).status_code == 403
    assert mat_client.get(reverse("compliance:excursion", args=[excursion.pk])).status_code == 200
    manager_client = signed_in(manager)
    assert manager_client.post(reverse("compliance:new_cycle"), {}).status_code == 403
    services.record_reading(
        actor=actor_for(mat), storage_unit=clinic.fridge, current_c=Decimal("5")
    )
    held = {f"resolve-lot_{e.lot_id}": "release" for e in excursion.held_lots.all()}
    response = manager_client.post(
        resolve,
        {
            "resolve-contacted": "vfc",
            "resolve-answer": "Use the doses; report on the excursion form",
            "resolve-action": "Door seal replaced",
            **held,
        },
    )
    assert response.status_code == 302
    assert Excursion.objects.get().status == "resolved"


def test_devices_pages(manager_client, manager):
    response = manager_client.post(
        reverse("compliance:add_device"),
        {
            "device-facility": manager.organization.facilities.first().pk,
            "device-kind": "centrifuge",
            "device-name": "Centrifuge lab",
            "device-serial_number": "cf-77",
        },
    )
    device = Device.objects.get()
    assert response.status_code == 302 and device.serial_number == "CF-77"
    url = reverse("compliance:add_plan", args=[device.pk])
    due = clock.today() - timedelta(days=3)
    assert manager_client.post(url, {"plan-kind": "preventive"}).status_code == 422
    manager_client.post(
        url,
        {"plan-kind": "preventive", "plan-interval_days": "365", "plan-next_due": due.isoformat()},
    )
    page = manager_client.get(reverse("compliance:device", args=[device.pk])).content.decode()
    assert "is overdue for preventive maintenance since" in page
    assert "Centrifuge lab" in manager_client.get(reverse("compliance:home")).content.decode()


def test_a_mat_logs_a_cycle_and_the_recall_page_lists_the_patients(mat, mat_client, manager):
    autoclave = make_autoclave(manager)
    kit = make_set(manager)
    response = mat_client.post(
        reverse("compliance:new_cycle"),
        {
            "autoclave": autoclave.pk,
            "cycle_number": "55",
            "run_at": (clock.now() - timedelta(hours=5))
            .astimezone(ZoneInfo(mat.organization.facilities.first().time_zone))
            .strftime("%Y-%m-%dT%H:%M"),
            "instrument_sets": [kit.pk],
            "duration_minutes": "30",
            "temperature_c": "121",
            "pressure_psi": "15",
            "chemical_indicator": "pass",
            "biological_indicator": "none",
        },
    )
    assert response.status_code == 302
    cycle = SterilizerCycle.objects.get()
    assert cycle.status == "released"
    patient = make_patient(mat, given_name="Rosa", family_name="Quintero")
    services.record_set_use(actor=actor_for(mat), instrument_set=kit, patient=patient)
    response = mat_client.post(
        reverse("compliance:recall_cycle", args=[cycle.pk]), {"recall-reason": "torn wrap"}
    )
    assert response.status_code == 302
    page = mat_client.get(reverse("compliance:cycle", args=[cycle.pk])).content.decode()
    assert "Recall list" in page and "Quintero" in page and patient.mrn in page


def test_another_organizations_rows_are_not_found(manager, other_mat):
    device = make_device(manager)
    cycle = make_cycle(manager, make_autoclave(manager), [make_set(manager)])
    client = signed_in(other_mat)
    assert client.get(reverse("compliance:device", args=[device.pk])).status_code == 404
    assert client.get(reverse("compliance:cycle", args=[cycle.pk])).status_code == 404
