"""`ingest_many`: a batch of ORU^R01 in one transaction gives each message the ACK and log row
`ingest` would, stores only what it would, and costs a fixed number of queries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from carebench.audit.models import AuditEvent
from carebench.audit.verify import verify_chain
from carebench.encounters.models import Alert
from carebench.labs import hl7_services, services
from carebench.labs.models import Hl7Message, LabOrder, LabResult

from .conftest import order_for
from .hl7_helpers import assert_strictly_valid, for_order

pytestmark = pytest.mark.django_db


def _system(lab):
    return hl7_services.Actor.system(lab.org)


def _code(ack: str) -> str:
    return ack.split("\r")[1].split("|")[1]


def _cbc(order, control_id: str, accession: str = "S999999", filler: str = "") -> str:
    raw = for_order("oru_cbc.hl7", order, accession).replace("|Q2025031400001|", f"|{control_id}|")
    return raw.replace("Q7001234", filler) if filler else raw


def test_a_mixed_batch_gets_the_right_ack_for_each_and_stores_only_the_good(lab):
    good = order_for(lab, "CBC")
    specimen = services.create_specimens(actor=lab.mat, order=good)[0]
    bad_value = order_for(lab, "CBC")
    other = order_for(lab, "CBC")
    Hl7Message.objects.create(
        organization=lab.org,
        direction="in",
        message_type="ORU^R01",
        control_id="ALREADY1",
        raw="MSH|...",
        status="accepted",
    )
    raws = [
        _cbc(good, "C1", specimen.accession),  # matched: stored
        for_order("malformed_wrong_type.hl7", other),  # AR
        for_order("malformed_nm_value.hl7", bad_value),  # AE (parse)
        for_order("oru_unknown_placer.hl7", other),  # unmatched, held
        _cbc(good, "C1", specimen.accession),  # the same control id again: a resend
        _cbc(other, "ALREADY1"),  # a control id we already have: a resend
        _cbc(bad_value, "C3").replace("||245|", "||1e12|"),  # AE: store_results refuses it
    ]
    out = hl7_services.ingest_many(actor=_system(lab), raws=raws)
    assert [_code(ack) for ack, _ in out] == ["AA", "AR", "AE", "AA", "AA", "AA", "AE"]
    for ack, _ in out:
        assert_strictly_valid(ack)
    rows = [row for _, row in out]
    assert [row.status for row in rows] == [
        "accepted",
        "rejected",
        "error",
        "unmatched",
        "accepted",
        "accepted",
        "error",
    ]
    assert rows[4] == rows[0]  # the resend is acknowledged with the first copy's row
    assert rows[5].control_id == "ALREADY1"
    assert "ERR||OBX^5^5|" in out[6][0]
    assert rows[3].patient == other.patient
    # Only the good message's results, once, with its specimen and message.
    results = list(LabResult.objects.order_by("order_id", "sequence"))
    assert {r.order_id for r in results} == {good.pk}
    assert len(results) == 5
    assert all(r.specimen == specimen and r.message == rows[0] for r in results)
    good.refresh_from_db()
    other.refresh_from_db()
    bad_value.refresh_from_db()
    assert good.status == LabOrder.Status.COMPLETED
    assert good.filler_number == "Q7001234"
    assert other.status == bad_value.status == LabOrder.Status.ACTIVE
    assert other.filler_number == bad_value.filler_number == ""
    # Each message's own row; the refused ones keep the control id with a unique suffix.
    assert Hl7Message.objects.filter(direction="in").count() == 6
    assert rows[2].control_id.startswith("Q2025031400100!")
    # Audit: the results, the unmatched and the three refusals, and the chain holds.
    chain = f"org-{lab.org.pk}"
    assert AuditEvent.objects.filter(chain=chain, resource_type="LabResult").count() >= 1
    assert (
        AuditEvent.objects.filter(
            chain=chain, resource_type="Hl7Message", outcome="failure"
        ).count()
        == 3
    )
    assert not verify_chain(chain).problems


def test_a_batch_gives_the_same_as_one_by_one(lab):
    """Within a batch a later message sees what an earlier one stored: a correction replaces the
    result stored moments before, and a message with only a filler number matches the order an
    earlier message gave that number."""
    cmp = order_for(lab, "CMP")
    cbc = order_for(lab, "CBC")
    by_filler = _cbc(cbc, "F2", filler="FILL77").replace(f"{cbc.number}^CAREBENCH", "")
    raws = [
        for_order("oru_cmp_critical.hl7", cmp),
        for_order("oru_corrected.hl7", cmp),
        _cbc(cbc, "F1", filler="FILL77"),
        by_filler,
    ]
    out = hl7_services.ingest_many(actor=_system(lab), raws=raws)
    assert [_code(ack) for ack, _ in out] == ["AA"] * 4
    assert [row.status for _, row in out] == ["accepted"] * 4
    potassium = LabResult.objects.filter(order=cmp, code="2823-3").order_by("pk")
    first, current = list(potassium)
    assert first.voided_at is not None
    assert current.replaces == first and current.status == "corrected"
    assert current.value_numeric == Decimal("4.1")
    assert Alert.objects.filter(patient=cmp.patient).count() == 1
    assert out[3][1].order == cbc
    assert LabResult.objects.filter(order=cbc, voided_at__isnull=True).count() == 5
    assert LabResult.objects.filter(order=cbc, voided_at__isnull=False).count() == 5
    cbc.refresh_from_db()
    assert cbc.filler_number == "FILL77"
    assert not verify_chain(f"org-{lab.org.pk}").problems


def test_a_refused_message_leaves_the_others_stored(lab):
    orders = [order_for(lab, "CBC") for _ in range(3)]
    raws = [_cbc(order, f"V{i}") for i, order in enumerate(orders)]
    raws[1] = raws[1].replace("||245|", "||1e12|")
    out = hl7_services.ingest_many(actor=_system(lab), raws=raws)
    assert [_code(ack) for ack, _ in out] == ["AA", "AE", "AA"]
    assert out[1][1].status == "error"
    assert not LabResult.objects.filter(order=orders[1]).exists()
    assert LabResult.objects.filter(order=orders[0]).count() == 5
    assert LabResult.objects.filter(order=orders[2]).count() == 5
    assert LabResult.objects.filter(message=out[2][1]).count() == 5


@pytest.mark.parametrize("size", [10, 50])
def test_queries_for_a_batch_do_not_grow_with_its_size(lab, size, django_assert_max_num_queries):
    orders = [order_for(lab, "CBC") for _ in range(size)]
    accessions = [services.create_specimens(actor=lab.mat, order=o)[0].accession for o in orders]
    raws = [
        _cbc(order, f"B{i}", accession, filler=f"FB{i}")
        for i, (order, accession) in enumerate(zip(orders, accessions, strict=True))
    ]
    actor = _system(lab)
    zone = hl7_services.zone_for(lab.org)
    # Reads: duplicates, orders, items, specimens; writes: the log rows, the results (SQLite
    # takes 999 parameters a statement: 24 results each), the completions, the filler numbers
    # and the audit append (lock, insert, head). 50 messages of 5 results: 11 results INSERTs.
    with django_assert_max_num_queries(30):
        out = hl7_services.ingest_many(actor=actor, raws=raws, zone=zone)
    assert [_code(ack) for ack, _ in out] == ["AA"] * size
    assert LabResult.objects.count() == 5 * size
    assert LabOrder.objects.filter(status="completed").count() == size
    assert set(LabOrder.objects.values_list("filler_number", flat=True)) == {
        f"FB{i}" for i in range(size)
    }


def test_ingest_is_a_batch_of_one(lab):
    order = order_for(lab, "CBC")
    ack, row = hl7_services.ingest(actor=_system(lab), raw=_cbc(order, "ONE"))
    assert _code(ack) == "AA" and row.pk is not None and row.status == "accepted"
    assert hl7_services.ingest_many(actor=_system(lab), raws=[]) == []
