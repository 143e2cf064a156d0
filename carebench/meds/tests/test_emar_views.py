"""The eMAR pages: the pass, documenting from it, the resident's page, photo, admitting, the
MAR PDF, the supervisor, the shift count and its resolution, assignments, and who may see
them."""

from __future__ import annotations

import struct
import zlib
from datetime import datetime, time, timedelta
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from pypdf import PdfReader

from carebench.conftest import signed_in
from carebench.core import clock
from carebench.core.models import Facility
from carebench.meds.emar_models import Assignment, CountSheet, DoseRecord, Residency, ShiftCount
from carebench.testing import FacilityFactory, UserFactory, make_home, make_patient

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def home(nurse: Any, medtech: Any) -> Any:
    setup = make_home(nurse, medtech, residents=2)
    setup.client = signed_in(medtech)
    setup.yesterday = clock.today(setup.home.time_zone) - timedelta(days=1)
    setup.eight = datetime.combine(setup.yesterday, time(8), tzinfo=ZoneInfo(setup.home.time_zone))
    return setup


def _pass_url(home: Any, resident: Any = None) -> str:
    url = reverse("meds:pass", args=[home.home.pk]) + f"?day={home.yesterday:%Y-%m-%d}&at=08:00"
    return url + (f"&resident={resident.pk}" if resident is not None else "")


def test_a_med_tech_with_one_home_goes_straight_to_its_pass(home: Any) -> None:
    response = home.client.get(reverse("meds:homes"))
    assert response.status_code == 302
    assert response["Location"] == reverse("meds:pass", args=[home.home.pk])


def test_the_pass_lists_the_residents_with_their_counts(home: Any) -> None:
    page = home.client.get(_pass_url(home)).content.decode()
    assert f'data-residency="{home.resident.pk}"' in page
    assert f'data-order="{home.lisinopril.pk}"' not in page  # nobody open yet


def test_the_residents_rows_mark_the_open_one_and_escape_names(home: Any) -> None:
    patient = home.resident.patient
    patient.family_name = "O'Brien <b>"
    patient.save(update_fields=["family_name"])
    page = home.client.get(_pass_url(home, home.resident)).content.decode()
    assert f'<tr data-residency="{home.resident.pk}" aria-current="true">' in page
    assert "O&#x27;Brien &lt;b&gt;" in page and "O'Brien <b>" not in page
    assert f"&amp;resident={home.resident.pk}" in page


def test_the_open_resident_shows_the_doses_in_the_window(home: Any) -> None:
    page = home.client.get(_pass_url(home, home.resident)).content.decode()
    assert f'data-order="{home.metoprolol.pk}"' in page
    assert f'data-order="{home.lisinopril.pk}"' in page
    assert "hold if pulse &lt; 60" in page


def test_the_pass_page_runs_a_fixed_number_of_queries(
    home: Any, nurse: Any, medtech: Any, django_assert_max_num_queries: Any
) -> None:
    home.client.get(_pass_url(home, home.resident))
    with django_assert_max_num_queries(25):
        assert home.client.get(_pass_url(home, home.resident)).status_code == 200


def test_scanning_a_wristband_opens_that_resident(home: Any) -> None:
    page = home.client.get(_pass_url(home) + f"&scan={home.resident.patient.mrn}").content.decode()
    assert f'data-order="{home.lisinopril.pk}"' in page


def test_a_scan_that_matches_nobody_says_so(home: Any) -> None:
    page = home.client.get(_pass_url(home) + "&scan=ZZ999").content.decode()
    assert "no card matches" in page


def test_documenting_from_the_pass_records_the_dose(home: Any) -> None:
    response = home.client.post(
        reverse("meds:record", args=[home.lisinopril.pk]),
        {"outcome": "given", "scheduled_at": home.eight.isoformat(), "back": _pass_url(home)},
    )
    assert response.status_code == 302
    dose = DoseRecord.objects.get(order=home.lisinopril)
    assert (dose.outcome, dose.late) == ("given", True)


def test_a_refusal_without_a_reason_comes_back_as_a_message(home: Any) -> None:
    response = home.client.post(
        reverse("meds:record", args=[home.lisinopril.pk]),
        {"outcome": "refused", "scheduled_at": home.eight.isoformat(), "back": _pass_url(home)},
        follow=True,
    )
    assert "say what happened" in response.content.decode()
    assert not DoseRecord.objects.exists()


def test_front_desk_cannot_open_the_pass(home: Any, frontdesk: Any) -> None:
    assert signed_in(frontdesk).get(_pass_url(home)).status_code == 403


def test_the_photo_is_stored_and_served_to_staff_only(
    home: Any, nurse: Any, frontdesk: Any
) -> None:
    client = signed_in(nurse)
    upload = BytesIO(_png())
    upload.name = "face.png"
    client.post(reverse("meds:upload_photo", args=[home.resident.pk]), {"photo": upload})
    response = client.get(reverse("meds:resident_photo", args=[home.resident.pk]))
    assert response["Content-Type"] == "image/png"
    assert response.content == _png()
    assert (
        signed_in(frontdesk)
        .get(reverse("meds:resident_photo", args=[home.resident.pk]))
        .status_code
        == 403
    )


def test_a_photo_that_is_not_an_image_is_refused(home: Any, nurse: Any) -> None:
    upload = BytesIO(b"%PDF-1.7 not a photo")
    upload.name = "face.png"
    response = signed_in(nurse).post(
        reverse("meds:upload_photo", args=[home.resident.pk]), {"photo": upload}, follow=True
    )
    assert "JPEG or PNG" in response.content.decode()
    assert not Residency.objects.get(pk=home.resident.pk).photo_type


def test_the_nurse_admits_a_resident_by_mrn(home: Any, nurse: Any) -> None:
    patient = make_patient(nurse, given_name="Iris", family_name="Stone")
    response = signed_in(nurse).post(
        reverse("meds:admit", args=[home.home.pk]),
        {
            "admit-mrn": patient.mrn,
            "admit-room": "120",
            "admit-admitted_on": clock.today().isoformat(),
            "admit-prescriber_name": "Samuel Chen, MD",
        },
    )
    assert response.status_code == 302
    assert Residency.objects.get(patient=patient).room == "120"


def test_an_order_with_an_unknown_frequency_comes_back_on_the_form(home: Any, nurse: Any) -> None:
    response = signed_in(nurse).post(
        reverse("meds:add_order", args=[home.resident.pk]),
        {
            "order-drug_name": "Aspirin",
            "order-dose": "1 tablet",
            "order-route": "oral",
            "order-frequency": "SOMETIMES",
            "order-start_date": clock.today().isoformat(),
            "order-prescriber": "Dr A",
            "order-quantity_on_hand": "30",
            "order-reorder_at": "7",
        },
    )
    assert response.status_code == 422
    assert "SOMETIMES" in response.content.decode()


def test_the_mar_pdf_lists_the_month(home: Any) -> None:
    response = home.client.get(
        reverse("meds:mar", args=[home.resident.pk]) + f"?month={home.yesterday:%Y-%m}"
    )
    assert response["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(response.content)).pages)
    assert "Metoprolol tartrate" in text and "Lisinopril" in text


def test_a_mismatched_count_blocks_the_hand_off_until_resolved(
    home: Any, nurse: Any, org: Any
) -> None:
    sheet = CountSheet.objects.get(order=home.lorazepam)
    home.client.post(
        reverse("meds:count", args=[home.home.pk]), {"incoming": nurse.pk, f"count-{sheet.pk}": "8"}
    )
    count = ShiftCount.objects.get()
    assert count.status == ShiftCount.Status.DISCREPANCY
    page = signed_in(nurse).get(reverse("meds:supervisor", args=[home.home.pk])).content.decode()
    assert "hand-off blocked" in page
    supervisor = UserFactory(organization=org, roles=["nurse"])
    signed_in(supervisor).post(
        reverse("meds:resolve", args=[count.pk]),
        {
            "resolve-resolution": "two tablets found in the cart drawer; returned to the card",
            "resolve-correct_counts": "",
        },
    )
    count.refresh_from_db()
    assert count.status == ShiftCount.Status.RESOLVED


def test_a_med_tech_cannot_be_assigned_to_a_nursing_home_on_the_page(
    home: Any, manager: Any, medtech: Any
) -> None:
    nursing_home = FacilityFactory(
        organization=manager.organization, name="Oak Nursing", kind=Facility.Kind.LONG_TERM_CARE
    )
    response = signed_in(manager).post(
        reverse("meds:assignments"), {"user": medtech.pk, "facility": nursing_home.pk}
    )
    assert response.status_code == 422
    assert "may not work in a long-term-care (nursing) facility" in response.content.decode()
    assert not Assignment.objects.filter(facility=nursing_home).exists()
