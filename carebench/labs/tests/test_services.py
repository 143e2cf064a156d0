"""Orders, co-signature, specimens and their life, manifests."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from carebench.audit.models import AuditEvent
from carebench.core import clock
from carebench.labs import services
from carebench.labs.models import LabOrder, Specimen, SpecimenEvent
from carebench.scheduling import services as sched
from carebench.testing import actor_for, make_patient

from .conftest import order_for

# --- orders -------------------------------------------------------------------------------------


def test_mat_enters_a_standing_order_that_waits_for_cosign(lab):
    order = order_for(lab, "CBC", "CMP", basis="standing")
    assert order.number == "L000001"
    assert order.needs_cosign
    assert [i.code for i in order.items.all()] == ["CBC", "CMP"]
    item = order.items.get(code="CBC")
    assert item.loinc == "58410-2" and item.container == "lavender"
    assert AuditEvent.objects.filter(resource_type="LabOrder", action="create").count() == 1


def test_mat_cannot_enter_a_provider_order(lab):
    with pytest.raises(ValidationError) as caught:
        order_for(lab, "CBC", basis="provider")
    assert "standing order or verbal order" in caught.value.message_dict["basis"][0]
    assert not LabOrder.objects.exists()


def test_provider_orders_for_themself_without_cosign(lab):
    order = order_for(lab, "TSH", actor=lab.doc, basis="provider", priority="stat")
    assert not order.needs_cosign
    assert order.priority == "stat"


def test_only_the_ordering_provider_cosigns(lab, org):
    order = order_for(lab, "CBC", basis="verbal")
    with pytest.raises(ValidationError, match="only the ordering provider"):
        services.cosign_order(actor=lab.mat, order=order)
    signed = services.cosign_order(actor=lab.doc, order=order)
    assert signed.cosigned_by == lab.doc.user and signed.cosigned_at is not None
    assert not signed.needs_cosign
    with pytest.raises(ValidationError, match="already co-signed"):
        services.cosign_order(actor=lab.doc, order=signed)


def test_diagnoses_must_be_billable_icd10(lab):
    with pytest.raises(ValidationError) as caught:
        order_for(lab, "CBC", diagnosis_codes=["E11", "Q99.999", "i10"])
    messages = caught.value.message_dict["diagnosis_codes"]
    assert any("E11 is a category" in m for m in messages)
    assert any("Q99.999 is not an ICD-10-CM code" in m for m in messages)
    order = order_for(lab, "CBC", diagnosis_codes=["i10", "E119", "I10"])
    assert order.diagnosis_codes == ["I10", "E11.9"]
    with pytest.raises(ValidationError, match="at least one reason"):
        order_for(lab, "CBC", diagnosis_codes=[])


def test_provider_of_another_organization_is_refused(lab, other_mat):
    other = sched.create_provider(
        actor=actor_for(other_mat),
        family_name="Elsewhere",
        given_name="Ed",
        npi="1245319599",
        facilities=[other_mat.organization.facilities.first()],
    )
    with pytest.raises(ValidationError) as caught:
        order_for(lab, "CBC", provider=other)
    assert "ordering_provider" in caught.value.message_dict


def test_patient_of_another_organization_is_refused(lab, other_mat):
    stranger = make_patient(other_mat)
    with pytest.raises(PermissionError):
        order_for(lab, "CBC", patient=stranger)


def test_no_tests_is_refused(lab):
    with pytest.raises(ValidationError, match="choose at least one test"):
        order_for(lab)


# --- specimens ----------------------------------------------------------------------------------


def test_specimens_follow_the_draw_plan(lab):
    order = order_for(lab, "CBC", "A1C", "CMP", "LIPID", "PTINR", "UA")
    made = services.create_specimens(actor=lab.mat, order=order)
    assert [s.container for s in made] == ["light_blue", "gold_sst", "lavender", "urine_cup"]
    assert [s.accession for s in made] == ["S000001", "S000002", "S000003", "S000004"]
    lavender = made[2]
    assert sorted(i.code for i in lavender.items.all()) == ["A1C", "CBC"]
    assert made[0].volume_ml == Decimal("2.7")  # the citrate tube is filled to the line
    assert all(s.status == Specimen.Status.PENDING for s in made)
    assert SpecimenEvent.objects.filter(kind="labeled").count() == 4
    with pytest.raises(ValidationError, match="already labelled"):
        services.create_specimens(actor=lab.mat, order=order)


def test_accessions_are_unique_per_organization(lab, other_mat):
    from django.db import IntegrityError, transaction

    from carebench.labs.models import LabTest

    order = order_for(lab, "CBC")
    mine = services.create_specimens(actor=lab.mat, order=order)[0]
    theirs_actor = actor_for(other_mat)
    services.load_shipped_catalog(actor=theirs_actor)
    theirs_provider = sched.create_provider(
        actor=theirs_actor,
        family_name="Elsewhere",
        given_name="Ed",
        npi="1245319599",
        facilities=[other_mat.organization.facilities.first()],
    )
    theirs_order = services.place_order(
        actor=theirs_actor,
        patient=make_patient(other_mat),
        provider=theirs_provider,
        tests=[LabTest.objects.for_org(other_mat.organization).get(code="CBC")],
        basis="standing",
        diagnosis_codes=["I10"],
    )
    theirs = services.create_specimens(actor=theirs_actor, order=theirs_order)[0]
    assert mine.accession == theirs.accession == "S000001"  # each organization's own sequence
    with pytest.raises(IntegrityError), transaction.atomic():
        Specimen.objects.create(
            organization=lab.org,
            accession=mine.accession,
            order=order,
            patient=lab.patient,
            container="lavender",
        )


def _collected(lab, *codes):
    order = order_for(lab, *(codes or ("CBC",)))
    specimen = services.create_specimens(actor=lab.mat, order=order)[0]
    return services.collect_specimen(
        actor=lab.mat, specimen=specimen, site="left antecubital", attempts=1
    )


def test_specimen_life_from_collection_to_the_lab(lab):
    specimen = _collected(lab, "CMP")
    assert specimen.status == "collected" and specimen.collected_by == lab.mat.user
    specimen = services.process_specimen(
        actor=lab.mat, specimen=specimen, centrifuged=True, aliquoted=False
    )
    specimen = services.store_specimen(actor=lab.mat, specimen=specimen, temperature="refrigerated")
    manifest = services.create_manifest(actor=lab.mat, courier="LabCourier", specimens=[specimen])
    specimen.refresh_from_db()
    assert specimen.status == "packed" and specimen.manifest == manifest
    with pytest.raises(ValidationError, match="not picked up yet"):
        services.receive_specimen(actor=lab.mat, specimen=specimen)
    services.pick_up_manifest(actor=lab.mat, manifest=manifest)
    specimen.refresh_from_db()
    assert specimen.status == "in_transit"
    specimen = services.receive_specimen(actor=lab.mat, specimen=specimen)
    assert specimen.status == "received" and specimen.received_at is not None
    kinds = list(specimen.events.values_list("kind", flat=True))
    assert kinds == [
        "labeled",
        "collected",
        "processed",
        "stored",
        "packed",
        "picked_up",
        "received",
    ]


def test_receiving_a_specimen_never_collected_is_refused(lab):
    order = order_for(lab, "CBC")
    specimen = services.create_specimens(actor=lab.mat, order=order)[0]
    with pytest.raises(ValidationError) as caught:
        services.receive_specimen(actor=lab.mat, specimen=specimen)
    assert "never collected" in caught.value.message_dict["status"][0]
    for action in ("process", "store", "reject"):
        assert "never collected" in services.transition_error(specimen, action)


def test_collecting_twice_is_refused(lab):
    specimen = _collected(lab)
    with pytest.raises(ValidationError, match="cannot collect"):
        services.collect_specimen(actor=lab.mat, specimen=specimen, site="right hand")


def test_collection_checks_its_fields(lab):
    order = order_for(lab, "CBC")
    specimen = services.create_specimens(actor=lab.mat, order=order)[0]
    with pytest.raises(ValidationError) as caught:
        services.collect_specimen(
            actor=lab.mat,
            specimen=specimen,
            site=" ",
            attempts=0,
            collected_at=clock.now() + timedelta(hours=1),
        )
    assert set(caught.value.message_dict) == {"site", "attempts", "collected_at"}
    specimen.refresh_from_db()
    assert specimen.status == "pending"


def test_rejection_creates_a_recollection_for_the_same_tests(lab):
    specimen = _collected(lab, "CBC", "A1C")
    again = services.reject_specimen(actor=lab.mat, specimen=specimen, reason="clotted")
    specimen.refresh_from_db()
    assert specimen.status == "rejected" and specimen.rejection_reason == "clotted"
    assert again.status == "pending" and again.recollect_of == specimen
    assert again.is_recollection and again.accession != specimen.accession
    assert sorted(i.code for i in again.items.all()) == ["A1C", "CBC"]
    assert list(specimen.events.values_list("kind", flat=True))[-2:] == ["rejected", "recollect"]
    with pytest.raises(ValidationError, match="rejected"):
        services.receive_specimen(actor=lab.mat, specimen=specimen)
    # the order may be drawn again only through the re-collection
    assert services.collect_specimen(actor=lab.mat, specimen=again, site="right hand").collected_at


def test_rejection_other_needs_a_note(lab):
    specimen = _collected(lab)
    with pytest.raises(ValidationError) as caught:
        services.reject_specimen(actor=lab.mat, specimen=specimen, reason="other")
    assert "note" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.reject_specimen(actor=lab.mat, specimen=specimen, reason="melted")


def test_manifest_refuses_pending_specimens_and_needs_a_courier(lab):
    order = order_for(lab, "CBC")
    specimen = services.create_specimens(actor=lab.mat, order=order)[0]
    with pytest.raises(ValidationError) as caught:
        services.create_manifest(actor=lab.mat, courier="", specimens=[specimen])
    assert {"courier", "specimens"} <= set(caught.value.message_dict)


def test_another_organizations_specimen_is_refused(lab, other_mat):
    specimen = _collected(lab)
    with pytest.raises(PermissionError):
        services.process_specimen(
            actor=actor_for(other_mat), specimen=specimen, centrifuged=True, aliquoted=False
        )


def test_find_specimen_by_scanned_code_stays_in_the_organization(lab, other_org):
    from carebench.labs import selectors

    specimen = _collected(lab)
    assert selectors.find_specimen(lab.org, f"  {specimen.accession.lower()} ") == specimen
    assert selectors.find_specimen(other_org, specimen.accession) is None
    assert selectors.find_specimen(lab.org, "S999999") is None
    assert selectors.find_specimen(lab.org, "") is None
