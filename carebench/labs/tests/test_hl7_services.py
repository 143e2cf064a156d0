"""The HL7 interface's writes: the queued ORM, ingesting ORU results (matched by placer or filler
number, unmatched, duplicates, corrections, criticals, malformed), resolving the queue."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from carebench.encounters.models import Alert
from carebench.labs import hl7_services, services
from carebench.labs.hl7.parse import parse_oru
from carebench.labs.models import Hl7Message, LabOrder, LabResult
from carebench.testing import actor_for, make_patient

from .conftest import order_for
from .hl7_helpers import assert_strictly_valid, for_order, sample

pytestmark = pytest.mark.django_db


def _system(lab):
    return hl7_services.Actor.system(lab.org)


def _ack_code(ack: str) -> str:
    return ack.split("\r")[1].split("|")[1]


# --- outbound ---------------------------------------------------------------------------------


def test_placing_an_order_queues_its_orm(lab):
    order = order_for(lab, "CBC", "CMP")
    message = Hl7Message.objects.get(order=order)
    assert message.direction == "out"
    assert message.status == "queued"
    assert message.message_type == "ORM^O01"
    assert message.control_id == order.number
    assert message.placer_number == order.number
    assert f"ORC|NW|{order.number}^CAREBENCH" in message.raw
    assert message.raw.count("\rOBR|") == 2
    assert "DG1|1||E11.9^" in message.raw
    assert_strictly_valid(message.raw)


def test_point_of_care_tests_are_not_sent(lab):
    poc = [code for code, t in lab.tests.items() if t.point_of_care]
    ref = [code for code, t in lab.tests.items() if not t.point_of_care]
    only_poc = order_for(lab, poc[0])
    assert not Hl7Message.objects.filter(order=only_poc).exists()
    mixed = order_for(lab, poc[0], ref[0])
    raw = Hl7Message.objects.get(order=mixed).raw
    assert raw.count("\rOBR|") == 1
    assert f"^{lab.tests[ref[0]].code}^" in raw or lab.tests[ref[0]].code in raw


def test_stat_order_with_delimiters_in_its_note_validates(lab):
    lab.patient.family_name = "O'Brien|Smith^Jr"
    lab.patient.save()
    order = order_for(lab, "CBC", priority="stat", note="fasting~yes & call 555\\0100 | urgent")
    raw = Hl7Message.objects.get(order=order).raw
    assert "O'Brien\\F\\Smith\\S\\Jr" in raw
    assert "fasting\\R\\yes \\T\\ call 555\\E\\0100 \\F\\ urgent" in raw
    assert "|^^^^^S|" in raw
    assert_strictly_valid(raw)


def test_queue_again_returns_the_queued_message(lab):
    order = order_for(lab, "CBC")
    first = Hl7Message.objects.get(order=order)
    assert hl7_services.queue_order_message(actor=lab.mat, order=order) == first


def test_mark_sent(lab):
    order = order_for(lab, "CBC")
    message = Hl7Message.objects.get(order=order)
    assert hl7_services.mark_sent(actor=lab.mat, messages=[message]) == 1
    message.refresh_from_db()
    assert message.status == "sent"
    assert message.processed_at is not None


# --- inbound ----------------------------------------------------------------------------------


def test_oru_matched_by_placer_number_stores_results(lab):
    order = order_for(lab, "CBC")
    specimen = services.create_specimens(actor=lab.mat, order=order)[0]
    ack, message = hl7_services.ingest(
        actor=_system(lab), raw=for_order("oru_cbc.hl7", order, specimen.accession)
    )
    assert _ack_code(ack) == "AA"
    assert_strictly_valid(ack)
    assert message.status == "accepted"
    assert message.order == order
    results = list(LabResult.objects.filter(order=order).order_by("sequence"))
    assert [r.code for r in results] == ["6690-2", "789-8", "718-7", "4544-3", "777-3"]
    assert all(r.specimen == specimen for r in results)
    assert all(r.message == message and r.source == "hl7" for r in results)
    hgb = results[2]
    assert hgb.value_numeric == Decimal("11.2")
    assert hgb.flag == "L"
    assert hgb.reference_low == Decimal("11.7")
    assert hgb.unit == "g/dL"
    assert results[4].note == "Platelet count verified by smear review."
    assert results[0].performing_lab == "Quest Diagnostics"
    order.refresh_from_db()
    assert order.filler_number == "Q7001234"
    assert order.status == LabOrder.Status.COMPLETED


def test_oru_matched_by_filler_number(lab):
    order = order_for(lab, "CMP")
    LabOrder.objects.filter(pk=order.pk).update(filler_number="Q7001235")
    raw = for_order("oru_cmp_critical.hl7", order).replace(f"{order.number}^CAREBENCH", "")
    assert parse_oru(raw).placer_number == ""
    ack, message = hl7_services.ingest(actor=_system(lab), raw=raw)
    assert _ack_code(ack) == "AA"
    assert message.status == "accepted"
    assert message.order == order
    assert LabResult.objects.filter(order=order).count() == 7


def test_critical_potassium_raises_an_alert(lab):
    order = order_for(lab, "CMP")
    hl7_services.ingest(actor=_system(lab), raw=for_order("oru_cmp_critical.hl7", order))
    potassium = LabResult.objects.get(order=order, code="2823-3")
    assert potassium.flag == "HH"
    assert "read back" in potassium.note
    alert = Alert.objects.get(patient=order.patient)
    assert "Potassium" in alert.message
    assert alert.recipient == lab.provider.user
    egfr = LabResult.objects.get(order=order, code="33914-3")
    assert (egfr.comparator, egfr.value_numeric, egfr.reference_low) == (">", 60, 60)
    albumin = LabResult.objects.get(order=order, code="1751-7")
    assert albumin.value_text == "Sample hemolyzed\\ see note"


def test_corrected_result_replaces_the_earlier_one(lab):
    order = order_for(lab, "CMP")
    hl7_services.ingest(actor=_system(lab), raw=for_order("oru_cmp_critical.hl7", order))
    first = LabResult.objects.get(order=order, code="2823-3")
    ack, _ = hl7_services.ingest(actor=_system(lab), raw=for_order("oru_corrected.hl7", order))
    assert _ack_code(ack) == "AA"
    first.refresh_from_db()
    assert first.voided_at is not None
    current = LabResult.objects.get(order=order, code="2823-3", voided_at__isnull=True)
    assert current.status == "corrected"
    assert current.value_numeric == Decimal("4.1")
    assert current.replaces == first


def test_duplicate_control_id_is_acknowledged_but_not_stored_twice(lab):
    order = order_for(lab, "CBC")
    raw = for_order("oru_cbc.hl7", order)
    _, first = hl7_services.ingest(actor=_system(lab), raw=raw)
    ack, again = hl7_services.ingest(actor=_system(lab), raw=raw)
    assert _ack_code(ack) == "AA"
    assert again == first
    assert LabResult.objects.filter(order=order).count() == 5
    assert Hl7Message.objects.filter(direction="in").count() == 1


def test_unknown_placer_number_goes_to_the_queue_and_resolving_stores(lab):
    order = order_for(lab, "A1C") if "A1C" in lab.tests else order_for(lab, "CBC")
    ack, message = hl7_services.ingest(
        actor=_system(lab), raw=for_order("oru_unknown_placer.hl7", order)
    )
    assert _ack_code(ack) == "AA"
    assert message.status == "unmatched"
    assert "L999999" in message.error
    assert message.patient == order.patient
    assert not LabResult.objects.exists()
    resolved = hl7_services.resolve_unmatched(actor=lab.mat, message=message, order=order)
    assert resolved.status == "accepted"
    assert resolved.order == order
    assert resolved.resolved_by == lab.mat.user
    result = LabResult.objects.get(order=order)
    assert (result.code, result.value_numeric, result.flag) == ("4548-4", Decimal("7.9"), "H")
    with pytest.raises(ValidationError):
        hl7_services.resolve_unmatched(actor=lab.mat, message=message, order=order)


def test_another_patients_mrn_is_unmatched(lab):
    order = order_for(lab, "CBC")
    other = make_patient(lab.mat.user, family_name="Other", given_name="Person")
    raw = for_order("oru_cbc.hl7", order).replace(
        f"PID|1||{order.patient.mrn}^", f"PID|1||{other.mrn}^"
    )
    raw = raw.replace(f"|{order.patient.family_name}^", "|Other^")
    _, message = hl7_services.ingest(actor=_system(lab), raw=raw)
    assert message.status == "unmatched"
    assert "PID-3" in message.error
    assert not LabResult.objects.exists()
    with pytest.raises(ValidationError) as caught:
        hl7_services.resolve_unmatched(actor=lab.mat, message=message, order=order)
    assert "another patient" in str(caught.value)


@pytest.mark.parametrize(
    "name,code,where",
    [
        ("malformed_nm_value.hl7", "AE", "OBX^1^5"),
        ("malformed_missing_obr.hl7", "AE", "OBX^1"),
        ("malformed_bad_timestamp.hl7", "AE", "OBR^1^7"),
        ("malformed_wrong_type.hl7", "AR", "MSH^1^9"),
        ("malformed_no_msh.hl7", "AR", "MSH^1"),
    ],
)
def test_malformed_message_gets_an_error_ack_and_writes_no_results(lab, name, code, where):
    order = order_for(lab, "CBC")
    ack, message = hl7_services.ingest(actor=_system(lab), raw=for_order(name, order))
    assert _ack_code(ack) == code
    err = next(line for line in ack.split("\r") if line.startswith("ERR|"))
    assert err.split("|")[2].startswith(where)
    assert_strictly_valid(ack)
    assert message.status == ("error" if code == "AE" else "rejected")
    assert message.error
    assert not LabResult.objects.exists()
    order.refresh_from_db()
    assert order.filler_number == ""


def test_a_corrected_resend_under_the_same_control_id_is_taken(lab):
    order = order_for(lab, "CBC")
    bad = for_order("malformed_nm_value.hl7", order)
    hl7_services.ingest(actor=_system(lab), raw=bad)
    ack, message = hl7_services.ingest(actor=_system(lab), raw=bad.replace("twelve", "12.0"))
    assert _ack_code(ack) == "AA"
    assert message.status == "accepted"
    assert LabResult.objects.get(order=order).value_numeric == Decimal("12.0")


def test_a_value_store_results_refuses_is_an_error_naming_the_obx(lab):
    order = order_for(lab, "CBC")
    raw = for_order("oru_cbc.hl7", order).replace("||245|", "||1e12|")
    ack, message = hl7_services.ingest(actor=_system(lab), raw=raw)
    assert _ack_code(ack) == "AE"
    assert "ERR||OBX^5^5|" in ack
    assert message.status == "error"
    assert not LabResult.objects.exists()


def test_results_for_a_cancelled_order_are_held(lab):
    order = order_for(lab, "CBC")
    from carebench.labs import result_services

    result_services.cancel_order(actor=lab.mat, order=order, reason="duplicate order")
    _, message = hl7_services.ingest(actor=_system(lab), raw=for_order("oru_cbc.hl7", order))
    assert message.status == "unmatched"
    assert "cancelled" in message.error


def test_another_organizations_order_is_not_matched(lab, other_org):
    order = order_for(lab, "CBC")
    _, message = hl7_services.ingest(
        actor=hl7_services.Actor.system(other_org), raw=for_order("oru_cbc.hl7", order)
    )
    assert message.status == "unmatched"
    assert message.organization == other_org
    with pytest.raises(PermissionError):
        hl7_services.resolve_unmatched(actor=actor_for(lab.mat.user), message=message, order=order)


def test_the_samples_parse(lab):
    for name in ("oru_cbc.hl7", "oru_cmp_critical.hl7", "oru_corrected.hl7"):
        parsed = parse_oru(sample(name, placer="L1", mrn="1", family="A", given="B"))
        assert parsed.observations
