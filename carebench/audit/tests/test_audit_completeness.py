"""Audit completeness, route by route: every route that shows or changes patient data writes an
audit event naming the patient (or the row), and every other route says why it holds none.

The URL map is walked (the pages and the FHIR API), so a new route must be classified here:
in READS (a GET shows patient data), in CHANGES (a POST or PUT changes it, with a body that
does), or in NO_PATIENT_DATA with a one-line reason. Rows come from the tenancy test's world
(`carebench.core.tests.worlds`); ids in paths come from its ROUTES fillers. The user holds every
role, so each request is one an authorised member of the owning organization makes.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from carebench.audit.models import Action, AuditEvent
from carebench.conftest import signed_in
from carebench.core import clock
from carebench.core.tests import worlds
from carebench.fhir.tests.conftest import FhirClient, token_for
from carebench.patients.models import Patient
from carebench.testing import actor_for, next_weekday_at

Filler = Callable[[SimpleNamespace], dict[str, Any]]
Named = Callable[[SimpleNamespace], Any]

# What an event must name: the patient (an id), the row in the path (OBJECT), or, for lists and
# searches, nothing in particular (LIST: any event of the organization's chain).
OBJECT = "object"
LIST = "list"
READ_ACTIONS = {Action.VIEW, Action.SEARCH, Action.EXPORT}


def _no_params(w: SimpleNamespace) -> dict[str, Any]:
    return {}


def _the_patient(w: SimpleNamespace) -> int:
    return int(w.patient.pk)


def _newest_patient(w: SimpleNamespace) -> int:
    return int(Patient.objects.filter(organization=w.user.organization).latest("pk").pk)


def _resident_patient(w: SimpleNamespace) -> int:
    return int(worlds.part(w, "emar").resident.patient_id)


def _claim_patient(w: SimpleNamespace) -> int:
    return int(worlds.part(w, "billing").claim.patient_id)


def _everyone(w: SimpleNamespace) -> Any:
    return w.everyone


def _medtech(w: SimpleNamespace) -> Any:
    from carebench.accounts.models import User

    worlds.part(w, "emar")  # the home, its nurse and med tech
    return User.objects.get(username=f"medtech-{w.user.organization.slug}")


def _nurse(w: SimpleNamespace) -> Any:
    from carebench.accounts.models import User

    worlds.part(w, "emar")
    return User.objects.get(username=f"nurse-{w.user.organization.slug}")


@dataclass(frozen=True)
class Read:
    """A GET that shows patient data: it must write a view, search or export event."""

    query: Filler = _no_params
    names: Named = _the_patient
    before: Callable[[SimpleNamespace], Any] | None = None
    user: Callable[[SimpleNamespace], Any] = _everyone


@dataclass(frozen=True)
class Change:
    """A POST (PUT on the API) that changes patient data: it must write a change event."""

    body: Filler
    names: Named = _the_patient
    before: Callable[[SimpleNamespace], Any] | None = None
    user: Callable[[SimpleNamespace], Any] = _everyone
    method: str = "post"
    path: Filler | None = None  # the ids in the path, when not the tenancy test's filler


# --- set-ups some changes need ---------------------------------------------------------------


def _booked_visit(w: SimpleNamespace, hour: int = 11, start: Any = None) -> Any:
    """A second visit, still booked, for the routes that act on one (it replaces `w.appt`)."""
    from carebench.scheduling import services as sched

    w.appt = sched.book_appointment(
        actor=actor_for(w.user),
        request=sched.BookingRequest(
            patient=w.patient,
            provider=w.provider,
            appointment_type=w.appt.appointment_type,
            start=start or next_weekday_at(hour),
            facility=w.appt.facility,
        ),
    )
    return w.appt


def _missed_visit(w: SimpleNamespace) -> None:
    """A visit booked for a time that has passed, for the no-show."""
    day_start, start = next_weekday_at(8), next_weekday_at(10)
    with clock.frozen(day_start):
        _booked_visit(w, start=start)
    w.frozen_after = next_weekday_at(12)


def _roomed(w: SimpleNamespace) -> None:
    from carebench.scheduling import services as sched
    from carebench.scheduling.models import Status

    sched.advance_flow(actor=actor_for(w.user), appointment=w.appt, to=Status.ROOMED, room=w.room)


def _allergy_voided(w: SimpleNamespace) -> None:
    from carebench.patients import services as ps

    ps.void_entry(actor=actor_for(w.user), entry=w.entries["allergies"], reason="entered in error")


def _fresh_lab_order(w: SimpleNamespace) -> None:
    """A second lab order, not drawn yet (it replaces `w.lab.order`)."""
    from carebench.labs import services as labs
    from carebench.labs.models import LabTest

    w.lab.order = labs.place_order(
        actor=actor_for(w.user),
        patient=w.patient,
        provider=w.provider,
        tests=list(LabTest.objects.for_org(w.user.organization).filter(code="CBC")),
        basis="standing",
        diagnosis_codes=["I10"],
    )


def _collected_specimen(w: SimpleNamespace) -> None:
    """A second order's specimen, collected and on no manifest (it replaces `w.lab.specimen`)."""
    from carebench.labs import services as labs

    _fresh_lab_order(w)
    actor = actor_for(w.user)
    specimen = labs.create_specimens(actor=actor, order=w.lab.order)[0]
    w.lab.specimen = labs.collect_specimen(actor=actor, specimen=specimen, site="right hand")


def _lab_resulted(w: SimpleNamespace) -> None:
    w.lab_result = worlds._lab_result(w)


def _outside_result(w: SimpleNamespace) -> None:
    from carebench.patients import referral_services

    order = worlds.part(w, "documents").order
    referral_services.receive_result(
        actor=actor_for(w.user),
        order=order,
        data=b"%PDF-1.4\n%result\n%%EOF\n",
        filename="result.pdf",
    )


def _resident_photo(w: SimpleNamespace) -> None:
    from carebench.meds import emar_services

    resident = worlds.part(w, "emar").resident
    emar_services.set_photo(actor=actor_for(_nurse(w)), residency=resident, data=_png().read())


def _reviewable_result(w: SimpleNamespace) -> None:
    _outside_result(w)
    _linked_provider(w)


def _order_closed(w: SimpleNamespace) -> None:
    """The flu order cancelled and the dose given today voided: a new flu order is allowed."""
    from carebench.meds import services as meds
    from carebench.meds.models import MedicationOrder

    actor = actor_for(w.user)
    _dose_voided(w)  # (which reopens the order it was given under)
    for order in MedicationOrder.objects.filter(patient=w.patient, status="active"):
        meds.cancel_order(actor=actor, order=order, reason="not wanted")


def _dose_voided(w: SimpleNamespace) -> None:
    from carebench.meds import services as meds

    dose = worlds.part(w, "meds").dose
    meds.void_administration(actor=actor_for(w.user), administration=dose, reason="wrong day")


def _ekg_voided(w: SimpleNamespace) -> None:
    """No EKG on the visit (its code has no fee in the test schedules)."""
    from carebench.ekg import services as ekg

    ekg.void_ekg(actor=actor_for(w.user), recording=w.ekg, reason="wrong patient")


def _claim_numbers_ahead(w: SimpleNamespace) -> None:
    """The billing profile's next claim number past the world's claims (made by a factory)."""
    from carebench.billing.models import BillingProfile

    worlds.part(w, "billing")
    BillingProfile.objects.filter(organization=w.user.organization).update(next_claim_number=9000)


def _payer_with_id(w: SimpleNamespace) -> None:
    """The world's payer with a payer ID, and a clearinghouse drop folder to write to."""
    import tempfile

    from carebench.billing.models import BillingProfile
    from carebench.patients.models import Payer

    worlds.part(w, "billing")
    Payer.objects.filter(pk=w.entries["coverage"].payer_id).update(payer_code="60054")
    BillingProfile.objects.filter(organization=w.user.organization).update(
        clearinghouse_outbox=tempfile.mkdtemp(), clearinghouse_inbox=tempfile.mkdtemp()
    )


def _discrepancy_resolved(w: SimpleNamespace) -> None:
    """The world's mismatched shift count resolved by a supervisor (so counting goes on)."""
    from carebench.meds import emar_services

    emar_services.resolve_discrepancy(
        actor=actor_for(_third_worker(w)),
        shift_count=worlds.part(w, "emar").count,
        resolution="found in the drawer",
        correct_counts=False,
    )


def _third_worker(w: SimpleNamespace) -> Any:
    """A nurse who took part in no count (the one who resolves a discrepancy)."""
    from carebench.accounts.models import User
    from carebench.testing import UserFactory

    org = w.user.organization
    username = f"supervisor-{org.slug}"
    found = User.objects.filter(username=username).first()
    return found or UserFactory(organization=org, username=username, roles=["nurse"])


def _pass_time(w: SimpleNamespace) -> str:
    """Yesterday 08:00 at the home: a scheduled time of the world's orders."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    zone = worlds.part(w, "emar").home.time_zone
    yesterday = clock.today(zone) - timedelta(days=1)
    return datetime.combine(yesterday, time(8), tzinfo=ZoneInfo(zone)).isoformat()


def _clinic_now(w: SimpleNamespace) -> Any:
    from zoneinfo import ZoneInfo

    from carebench.meds import services as meds

    return clock.now().astimezone(ZoneInfo(meds.zone_for(actor_for(w.everyone))))


def _held_results(w: SimpleNamespace) -> None:
    """An ORU for the world's order that names an order number we do not know: held."""
    from carebench.core.actor import Actor
    from carebench.labs import hl7_services
    from carebench.labs.tests.hl7_helpers import for_order

    raw = for_order("oru_unknown_placer.hl7", w.lab.order)
    _, w.held = hl7_services.ingest(actor=Actor.system(w.user.organization), raw=raw)


def _refused_by_the_lab(w: SimpleNamespace) -> None:
    """The world's outbound order message answered with an AE (so it may be sent again)."""
    from carebench.labs import hl7_services
    from carebench.labs.tests.test_hl7_send import ERR_CVX, ack

    message = w.lab.order.hl7_messages.get()
    hl7_services.record_ack(
        actor=actor_for(w.user), message=message, ack_text=ack("AE", message.control_id, ERR_CVX)
    )


def _strep_test_ordered(w: SimpleNamespace) -> None:
    """A rapid strep test ordered, on a kit lot that passed today's QC."""
    from carebench.labs import poc_services
    from carebench.labs import services as labs
    from carebench.labs.tests.test_result_views import PASS

    actor = actor_for(w.user)
    lot = worlds.part(w, "kit_lot")
    poc_services.record_qc_run(actor=actor, test=lot.test, kit_lot=lot, levels=PASS)
    order = labs.place_order(
        actor=actor,
        patient=w.patient,
        provider=w.provider,
        tests=[lot.test],
        basis="standing",
        diagnosis_codes=["I10"],
    )
    w.poc_item = order.items.get()


def _linked_provider(w: SimpleNamespace) -> None:
    """Make the everyone user the world's provider (co-signing is the ordering provider's)."""
    from carebench.scheduling.models import Provider

    Provider.objects.filter(pk=w.provider.pk).update(user=w.everyone)


def _recalled_cycle(w: SimpleNamespace) -> None:
    from carebench.compliance import services as compliance

    cycle = worlds.part(w, "compliance").cycle
    compliance.recall_cycle(actor=actor_for(w.user), cycle=cycle, reason="wet pack")


def _pdf(name: str = "scan.pdf") -> io.BytesIO:
    upload = io.BytesIO(b"%PDF-1.4\n%audit\n%%EOF\n")
    upload.name = name
    return upload


def _ekg_file(w: SimpleNamespace) -> io.BytesIO:
    from carebench.ekg.tests.helpers import synthetic_csv

    upload = io.BytesIO(synthetic_csv(seed=7))
    upload.name = "ekg.csv"
    return upload


def _coverage(w: SimpleNamespace) -> int:
    return int(w.entries["coverage"].pk)


def _claim_edit(w: SimpleNamespace) -> dict[str, Any]:
    line = worlds.part(w, "billing").claim.lines.order_by("number").first()
    return {
        "diagnoses": "I10",
        "prior_auth_number": "",
        "code_1": line.code,
        "units_1": "1",
        "pointers_1": "1",
        "charge_1": str(line.charge),
    }


def _slot(w: SimpleNamespace, hour: int) -> str:
    return f"{w.provider.pk}|{next_weekday_at(hour).isoformat()}"


def _demographics(w: SimpleNamespace) -> dict[str, Any]:
    from carebench.patients import services as ps

    data = {name: getattr(w.patient, name) or "" for name in ps.DEMOGRAPHIC_FIELDS}
    return data | {"family_name": "Renamed", "birth_date": w.patient.birth_date.isoformat()}


# --- the pages -------------------------------------------------------------------------------

PAGE_READS: dict[str, Read] = {
    "patients:search": Read(query=lambda w: {"q": w.patient.family_name}, names=LIST),
    "patients:chart": Read(),
    "patients:edit": Read(),
    "patients:voided": Read(),
    "patients:add_coverage": Read(),
    "patients:add_allergy": Read(),
    "patients:add_medication": Read(),
    "patients:add_problem": Read(),
    "patients:add_history": Read(),
    "patients:correct_entry": Read(),
    "patients:void_entry": Read(),
    "patients:documents": Read(),
    "patients:recent_documents": Read(),
    "patients:document": Read(),
    "patients:document_file": Read(),
    "patients:referral_worklist": Read(names=LIST),
    "patients:outside_orders": Read(),
    "patients:outside_order": Read(),
    "scheduling:day": Read(
        query=lambda w: {"date": next_weekday_at(9).date().isoformat()}, names=LIST
    ),
    "scheduling:week": Read(
        query=lambda w: {"date": next_weekday_at(9).date().isoformat()}, names=LIST
    ),
    "scheduling:book": Read(query=lambda w: {"patient_q": w.patient.family_name}, names=LIST),
    "scheduling:patient_options": Read(
        query=lambda w: {"patient_q": w.patient.family_name}, names=LIST
    ),
    "scheduling:appointment": Read(),
    "scheduling:board": Read(names=LIST),
    "encounters:encounter": Read(),
    "encounters:vitals_history": Read(),
    "encounters:procedures": Read(),
    "encounters:procedure": Read(),
    "encounters:procedure_handout": Read(),
    "encounters:consent_image": Read(),
    "encounters:wounds": Read(),
    "encounters:wound": Read(),
    "encounters:wound_photo": Read(),
    "labs:worklist": Read(names=LIST),
    "labs:cosign_queue": Read(),
    "labs:new_order": Read(),
    "labs:new_order_for_encounter": Read(),
    "labs:order": Read(),
    "labs:requisition": Read(),
    "labs:draw": Read(),
    "labs:order_labels": Read(),
    "labs:specimen": Read(),
    "labs:specimen_label": Read(),
    "labs:manifests": Read(names=LIST),
    "labs:manifest": Read(names=OBJECT),
    "labs:hl7_interface": Read(names=LIST),
    "labs:hl7_message": Read(),
    "labs:results": Read(),
    "labs:recent_results": Read(),
    "meds:patient": Read(),
    "meds:give": Read(),
    "meds:cosign_queue": Read(names=LIST),
    "meds:administration": Read(),
    "meds:handout": Read(),
    "meds:registry": Read(names=LIST),
    "meds:pass": Read(names=LIST, user=_medtech),
    "meds:supervisor": Read(names=LIST, user=_nurse),
    "meds:count": Read(names=LIST, user=_medtech),
    "meds:resident": Read(names=_resident_patient, user=_nurse),
    "meds:resident_photo": Read(names=_resident_patient, user=_nurse, before=_resident_photo),
    "meds:mar": Read(names=_resident_patient, user=_nurse),
    "ekg:review": Read(names=LIST),
    "ekg:patient": Read(),
    "ekg:ekg": Read(),
    "ekg:report": Read(),
    "ekg:original": Read(),
    "billing:worklist": Read(names=LIST),
    "billing:claim": Read(names=_claim_patient),
    "billing:edit": Read(names=_claim_patient),
    "billing:cms1500": Read(names=_claim_patient),
    "billing:superbill": Read(),
    "billing:batch_file": Read(names=OBJECT),
    "billing:denials": Read(names=LIST),
    "billing:eligibility": Read(names=LIST),
    "billing:patient_eligibility": Read(),
    "billing:prior_auths": Read(names=LIST),
    "billing:prior_auth": Read(names=_claim_patient),
    "billing:new_prior_auth": Read(),
    "inbox:home": Read(names=LIST),
    "inbox:new": Read(query=lambda w: {"patient": w.patient.pk}),
    "inbox:item": Read(),
    "inbox:patient": Read(),
    "compliance:cycle": Read(names=LIST, before=_recalled_cycle),
    "staff:cosign_queue": Read(names=LIST),
    "dashboard:dashboard": Read(names=LIST),
}

PAGE_CHANGES: dict[str, Change] = {
    "patients:register": Change(
        lambda w: {
            "family_name": "Newcomer",
            "given_name": "Nell",
            "birth_date": "1984-03-09",
            "sex": "female",
            "preferred_language": "en",
        },
        names=_newest_patient,
    ),
    "patients:edit": Change(_demographics),
    "patients:add_coverage": Change(
        lambda w: {
            "payer_name": "Blue Shield",
            "member_id": "XY123",
            "priority": "2",
            "relationship": "self",
        }
    ),
    "patients:add_allergy": Change(
        lambda w: {"substance": "Sulfa", "kind": "allergy", "status": "active"}
    ),
    "patients:no_known_allergies": Change(_no_params, before=_allergy_voided),
    "patients:add_medication": Change(
        lambda w: {"medication": "Lisinopril 10 mg tablet", "status": "active"}
    ),
    "patients:reconcile_medications": Change(_no_params),
    "patients:add_problem": Change(lambda w: {"icd10_code": "E11.9", "status": "active"}),
    "patients:add_history": Change(lambda w: {"kind": "tobacco", "tobacco_status": "266919005"}),
    "patients:correct_entry": Change(
        lambda w: {
            f"c{w.entries['allergies'].pk}-{key}": value
            for key, value in {
                "substance": "Latex rubber",
                "kind": "allergy",
                "status": "active",
                "reason": "spelling",
            }.items()
        }
    ),
    "patients:void_entry": Change(
        lambda w: {f"v{w.entries['allergies'].pk}-reason": "wrong patient"}
    ),
    "patients:upload_document": Change(lambda w: {"file": _pdf(), "category": "outside_records"}),
    "patients:void_document": Change(lambda w: {"reason": "wrong patient"}),
    "patients:new_outside_order": Change(
        lambda w: {
            "kind": "imaging",
            "modality": "ct",
            "requested": "CT head",
            "diagnosis_codes": "I10",
            "priority": "routine",
            "ordering_provider": w.provider.pk,
        }
    ),
    "patients:send_outside_order": Change(_no_params),
    "patients:schedule_outside_order": Change(
        lambda w: {"scheduled_on": next_weekday_at(10).date().isoformat()}
    ),
    "patients:outside_order_result": Change(lambda w: {"file": _pdf("result.pdf")}),
    "patients:review_outside_order": Change(
        lambda w: {"note": "normal"}, before=_reviewable_result
    ),
    "patients:cancel_outside_order": Change(lambda w: {"reason": "not needed"}),
    "scheduling:book": Change(
        lambda w: {
            "patient": w.patient.pk,
            "appointment_type": w.appt.appointment_type_id,
            "facility": w.appt.facility_id,
            "provider": "",
            "date": next_weekday_at(11).date().isoformat(),
            "slot": _slot(w, 11),
            "reason": "cough",
            "every_weeks": 1,
            "count": 4,
        }
    ),
    "scheduling:reschedule": Change(
        lambda w: {"date": next_weekday_at(14).date().isoformat(), "slot": _slot(w, 14)},
        before=_booked_visit,
    ),
    "scheduling:cancel": Change(lambda w: {"cancel_reason": "patient asked"}),
    "scheduling:no_show": Change(_no_params, before=_missed_visit),
    "scheduling:advance": Change(lambda w: {"to": "roomed", "room": w.room.pk}),
    "encounters:chief_complaint": Change(lambda w: {"chief_complaint": "Headache"}),
    "encounters:rooming_item": Change(lambda w: {"phq2-interest": "0", "phq2-down": "0"}),
    "encounters:record_vitals": Change(lambda w: {"systolic": "122", "diastolic": "78"}),
    "encounters:ready": Change(_no_params, before=_roomed),
    "encounters:acknowledge": Change(_no_params),
    "encounters:walk_in": Change(lambda w: {"chief_complaint": "Cough"}),
    "encounters:procedures": Change(
        lambda w: {
            "template": worlds.part(w, "procedures").template.pk,
            "site": "right ear",
            "side": "right",
        }
    ),
    "encounters:procedure_step": Change(lambda w: {"supply_name": "Gauze", "quantity": "2"}),
    "encounters:wounds": Change(lambda w: {"location": "heel", "kind": "pressure", "stage": "2"}),
    "encounters:assess_wound": Change(
        lambda w: {"dressing": "foam", "length_cm": "2.0", "width_cm": "1.5"}
    ),
    "encounters:wound_status": Change(lambda w: {"status": "healed"}),
    "labs:new_order": Change(
        lambda w: {
            "tests": [w.lab.order.items.get().test_id],
            "ordering_provider": w.provider.pk,
            "basis": "standing",
            "diagnosis_codes": "I10",
            "priority": "routine",
            "fasting_confirmed": "",
        }
    ),
    "labs:new_order_for_encounter": Change(
        lambda w: {
            "tests": [w.lab.order.items.get().test_id],
            "ordering_provider": w.provider.pk,
            "basis": "standing",
            "diagnosis_codes": "I10",
            "priority": "routine",
            "fasting_confirmed": "",
        }
    ),
    "labs:cosign": Change(_no_params, before=_linked_provider),
    "labs:draw": Change(_no_params, before=_fresh_lab_order),
    "labs:specimen_action": Change(
        lambda w: {"centrifuged": "on", "note": "spun"}, before=_collected_specimen
    ),
    "labs:manifests": Change(
        lambda w: {
            "courier": "Courier",
            "destination": "Reference lab",
            "specimens": [w.lab.specimen.pk],
        },
        before=_collected_specimen,
        names=LIST,
    ),
    "labs:manifest_pickup": Change(_no_params, names=OBJECT),
    "labs:review": Change(lambda w: {"comment": "seen"}, before=_lab_resulted),
    "labs:hl7_resolve": Change(
        lambda w: {"order": w.lab.order.number},
        before=_held_results,
        path=lambda w: {"pk": w.held.pk},
    ),
    "labs:hl7_resend": Change(_no_params, before=_refused_by_the_lab),
    "labs:poc_entry": Change(
        lambda w: {"kit_lot": w.kit_lot.pk, "78012-2": "Negative"},
        before=_strep_test_ordered,
        path=lambda w: {"pk": w.poc_item.pk},
    ),
    "labs:cancel_order": Change(lambda w: {"reason": "duplicate"}, before=_fresh_lab_order),
    "meds:run_standing_order": Change(
        lambda w: {
            f"so{worlds.part(w, 'meds').protocol.pk}-product": worlds.part(
                w, "meds"
            ).order.product_id,
            **{
                f"so{worlds.part(w, 'meds').protocol.pk}-q{i}": "no"
                for i in range(len(_screening()))
            },
        },
        before=_order_closed,
    ),
    "meds:provider_order": Change(
        lambda w: {
            "order-product": worlds.part(w, "meds").order.product_id,
            "order-instructions": "watch",
        },
        before=lambda w: (_linked_provider(w), _order_closed(w)),
    ),
    "meds:record_history": Change(
        lambda w: {
            "history-vaccine_code": "140",
            "history-given_on": "2020-10-01",
            "history-source": "01",
        },
        before=lambda w: worlds.part(w, "meds"),
    ),
    "meds:give": Change(
        lambda w: {
            "give-patient_scan": w.patient.mrn,
            "give-lot": worlds.part(w, "meds").lot.pk,
            "give-dose_amount": "0.5",
            "give-dose_unit": "mL",
            "give-route": "C28161",
            "give-site": "LD",
            "give-eligibility": "V01",
            "give-vis_given_on": clock.today().isoformat(),
            "give-observation_minutes": "15",
        },
        before=_dose_voided,
    ),
    "meds:refuse": Change(lambda w: {"refuse-reason": "03"}),
    "meds:cosign": Change(_no_params, before=_linked_provider),
    "meds:cancel": Change(lambda w: {"reason": "not wanted"}),
    "meds:add_reaction": Change(
        lambda w: {
            "reaction-onset_at": _clinic_now(w).strftime("%Y-%m-%dT%H:%M"),
            "reaction-code": "",
            "reaction-description": "Sore arm",
            "reaction-severity": "mild",
        }
    ),
    "meds:void": Change(lambda w: {"void-reason": "wrong patient"}),
    "meds:admit": Change(
        lambda w: {
            "admit-mrn": w.patient.mrn,
            "admit-room": "120",
            "admit-admitted_on": clock.today().isoformat(),
            "admit-prescriber_name": "Samuel Chen, MD",
        },
        user=_nurse,
    ),
    "meds:count": Change(
        lambda w: {
            "incoming": _nurse(w).pk,
            **{f"count-{sheet.pk}": "3" for sheet in _open_sheets(w)},
        },
        names=LIST,
        before=_discrepancy_resolved,
        user=_medtech,
    ),
    "meds:resolve": Change(
        lambda w: {"resolve-resolution": "found in the drawer", "resolve-correct_counts": ""},
        names=OBJECT,
        user=_third_worker,
    ),
    "meds:upload_photo": Change(lambda w: {"photo": _png()}, names=_resident_patient, user=_nurse),
    "meds:add_order": Change(
        lambda w: {
            "order-drug_name": "Aspirin",
            "order-dose": "1 tablet",
            "order-route": "oral",
            "order-frequency": "QD",
            "order-start_date": clock.today().isoformat(),
            "order-prescriber": "Dr A",
            "order-quantity_on_hand": "30",
            "order-reorder_at": "7",
        },
        names=_resident_patient,
        user=_nurse,
    ),
    "meds:start_absence": Change(
        lambda w: {
            "absence-kind": "hospital",
            "absence-starts_at": clock.now().strftime("%Y-%m-%dT%H:%M"),
        },
        names=_resident_patient,
        user=_nurse,
    ),
    "meds:discharge": Change(lambda w: {"reason": "moved"}, names=_resident_patient, user=_nurse),
    "meds:end_absence": Change(_no_params, names=OBJECT, user=_nurse),
    "meds:record": Change(
        lambda w: {"outcome": "refused", "reason": "asleep", "scheduled_at": _pass_time(w)},
        names=_resident_patient,
        user=_medtech,
    ),
    "meds:discontinue": Change(
        lambda w: {"reason": "stopped"}, names=_resident_patient, user=_nurse
    ),
    "meds:refill": Change(
        lambda w: {"refill-quantity": "30"}, names=_resident_patient, user=_nurse
    ),
    "meds:effectiveness": Change(
        lambda w: {"result": "effective"}, names=_resident_patient, user=_medtech
    ),
    "meds:void_dose": Change(
        lambda w: {"reason": "wrong time"}, names=_resident_patient, user=_nurse
    ),
    "ekg:upload": Change(lambda w: {"file": _ekg_file(w)}),
    "ekg:sign": Change(
        lambda w: {"interpretation": "Sinus rhythm", "billing_code": "93000"},
        before=_linked_provider,
    ),
    "ekg:void": Change(lambda w: {"reason": "wrong patient"}),
    "billing:edit": Change(_claim_edit, names=_claim_patient),
    "billing:check": Change(_no_params, names=_claim_patient),
    "billing:move": Change(
        lambda w: {"to_status": "void", "note": "duplicate"}, names=_claim_patient
    ),
    "billing:superbill": Change(
        lambda w: {"em_code": "99213", "diagnoses": "I10", "coverage": _coverage(w)},
        before=lambda w: (_claim_numbers_ahead(w), _ekg_voided(w)),
    ),
    "billing:patient_eligibility": Change(
        lambda w: {"coverage": _coverage(w), "service_date": clock.today().isoformat()},
        before=_payer_with_id,
    ),
    "billing:prior_auth": Change(
        lambda w: {
            "status": "approved",
            "number": "A1",
            "units_approved": "1",
            "start_date": clock.today().isoformat(),
        },
        names=_claim_patient,
    ),
    "billing:new_prior_auth": Change(
        lambda w: {"coverage": _coverage(w), "codes": "72148", "diagnosis_codes": "I10"},
        before=lambda w: worlds.part(w, "billing"),
    ),
    "inbox:new": Change(
        lambda w: {
            "kind": "phone",
            "patient": w.patient.pk,
            "subject": "Call back",
            "assignee": "role:mat",
            "priority": "routine",
            "callback_number": "5125550142",
        }
    ),
    "inbox:assign": Change(lambda w: {"assignee": "role:provider"}),
    "inbox:comment": Change(lambda w: {"note": "called, no answer"}),
    "inbox:start": Change(_no_params),
    "inbox:complete": Change(lambda w: {"note": "done"}),
    "inbox:cancel": Change(lambda w: {"reason": "duplicate"}),
    "inbox:reopen": Change(lambda w: {"note": "again"}, before=lambda w: _inbox_done(w)),
    "staff:cosign": Change(_no_params, names=OBJECT),
    "compliance:recall_cycle": Change(lambda w: {"recall-reason": "wet pack"}, names=OBJECT),
}


def _screening() -> list[str]:
    from carebench.meds.tests.test_views import QUESTIONS

    return QUESTIONS


def _open_sheets(w: SimpleNamespace) -> list[Any]:
    from carebench.meds import emar_services

    return list(emar_services.open_sheets(worlds.part(w, "emar").home))


def _png() -> io.BytesIO:
    from carebench.meds.tests.test_emar_views import _png as png_bytes

    upload = io.BytesIO(png_bytes())
    upload.name = "face.png"
    return upload


def _inbox_done(w: SimpleNamespace) -> None:
    from carebench.inbox import services as inbox

    inbox.complete_item(actor=actor_for(w.user), item=worlds.part(w, "inbox_item"))


# --- the FHIR API ----------------------------------------------------------------------------


def _dose_patient(w: SimpleNamespace) -> int:
    return int(worlds.part(w, "emar").dose.residency.patient_id)


def _api_read(name: str) -> Read:
    if name == "fhir:read_medication_administration":
        return Read(names=_dose_patient)
    return Read(names=_claim_patient if "claim" in name or "benefit" in name else _the_patient)


def _search(**params: Filler) -> Read:
    return Read(query=lambda w: {key: fill(w) for key, fill in params.items()}, names=LIST)


def _patient_ref(w: SimpleNamespace) -> str:
    return f"Patient/{w.patient.pk}"


def _claim_patient_ref(w: SimpleNamespace) -> str:
    return f"Patient/{worlds.part(w, 'billing').claim.patient_id}"


def _api_body(builder: str) -> Filler:
    """A create body from the FHIR tests' builders, for the world's patient."""

    def fill(w: SimpleNamespace) -> dict[str, Any]:
        from carebench.fhir.tests import test_entries, test_immunization, test_observation_api

        builders: dict[str, Any] = {
            "allergy": test_entries.allergy_json,
            "condition": test_entries.condition_json,
            "medication": test_entries.medication_json,
            "coverage": lambda p: test_entries.coverage_json(p, subscriberId="ZZ9", order=2),
            "observation": lambda p: test_observation_api.blood_pressure(p),
            "immunization": test_immunization.history_json,
        }
        return dict(builders[builder](w.patient))

    return fill


def _api_current(path: Callable[[SimpleNamespace], str], **changes: Any) -> Filler:
    """An update body: the resource as the API shows it now, with `changes`."""

    def fill(w: SimpleNamespace) -> dict[str, Any]:
        resource = FhirClient(token_for(w.everyone)).get(path(w)).json()
        for key, value in changes.items():
            resource[key] = value
        if "name" in resource:
            resource["name"][0]["family"] = "Renamed"
        return dict(resource)

    return fill


def _appointment_body(w: SimpleNamespace) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "serviceType": [
            {
                "coding": [
                    {
                        "system": "urn:carebench:appointment-type",
                        "code": str(w.appt.appointment_type_id),
                    }
                ]
            }
        ],
        "start": next_weekday_at(11).isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/{w.patient.pk}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{w.provider.pk}"}, "status": "accepted"},
        ],
    }


API_READS: dict[str, Read] = {
    name: _api_read(name)
    for name in worlds.FHIR_ROUTES
    if name.startswith("fhir:read_")
    and name not in {"fhir:read_practitioner", "fhir:read_location", "fhir:read_schedule"}
}
API_READS |= {
    "fhir:search_patients": _search(family=lambda w: w.patient.family_name),
    "fhir:search_allergies": _search(patient=_patient_ref),
    "fhir:search_conditions": _search(patient=_patient_ref),
    "fhir:search_medications": _search(patient=_patient_ref),
    "fhir:search_coverage": _search(patient=_patient_ref),
    "fhir:search_appointments": _search(patient=_patient_ref),
    "fhir:search_encounters": _search(patient=_patient_ref),
    "fhir:search_reports": _search(patient=_patient_ref),
    "fhir:search_observations": _search(patient=_patient_ref),
    "fhir:search_service_requests": _search(patient=_patient_ref),
    "fhir:search_specimens": _search(patient=_patient_ref),
    "fhir:search_immunizations": _search(patient=_patient_ref),
    "fhir:search_medication_administrations": _search(patient=_patient_ref),
    "fhir:search_medication_requests": _search(patient=_patient_ref),
    "fhir:search_claims": _search(patient=_claim_patient_ref),
    "fhir:search_claim_responses": _search(patient=_claim_patient_ref),
    "fhir:search_explanations_of_benefit": _search(patient=_claim_patient_ref),
    "fhir:search_document_references": _search(patient=_patient_ref),
    "fhir:search_procedures": _search(patient=_patient_ref),
    "fhir:search_consents": _search(patient=_patient_ref),
}
API_CHANGES: dict[str, Change] = {
    "fhir:create_patient": Change(
        lambda w: {
            "resourceType": "Patient",
            "gender": "female",
            "birthDate": "1970-01-01",
            "name": [{"family": "Apiperson", "given": ["Eve"]}],
        },
        names=_newest_patient,
    ),
    "fhir:update_patient": Change(
        _api_current(lambda w: f"/fhir/Patient/{w.patient.pk}"), method="put"
    ),
    "fhir:create_allergy": Change(_api_body("allergy")),
    "fhir:create_condition": Change(_api_body("condition")),
    "fhir:create_medication": Change(_api_body("medication")),
    "fhir:create_coverage": Change(_api_body("coverage")),
    "fhir:create_appointment": Change(_appointment_body),
    "fhir:update_appointment": Change(
        _api_current(
            lambda w: f"/fhir/Appointment/{w.appt.pk}",
            status="cancelled",
            cancelationReason={"text": "Patient is travelling"},
        ),
        method="put",
    ),
    "fhir:create_observation": Change(_api_body("observation")),
    "fhir:create_immunization": Change(_api_body("immunization")),
}

READS = PAGE_READS | API_READS
CHANGES = PAGE_CHANGES | API_CHANGES

NO_PATIENT_DATA: dict[str, str] = {
    # sign-in and the shell
    "core:home": "the search box; results come from patients:search, which is audited",
    "core:healthz": "the health check: database reachable, nothing else",
    "accounts:login": "sign-in; successes and failures are audited by the accounts app",
    "accounts:logout": "sign-out; audited by the accounts app",
    "accounts:mfa_verify": "the second factor; failures are audited by the accounts app",
    "accounts:mfa_setup": "enrolling the second factor; audited by the accounts app",
    "patients:icd10_search": "the ICD-10-CM code list (a static code set)",
    "audit:report": "the audit log itself: patient ids only, no names; its CSV export is audited",
    # scheduling set-up
    "scheduling:slots": "open slots of providers: times, no patients",
    "scheduling:room_status": "a room's status (ready, dirty); the board it returns is audited",
    "scheduling:providers": "providers are staff data",
    "scheduling:provider": "a provider's details and availability are staff data",
    "scheduling:rooms": "rooms and equipment",
    "scheduling:types": "appointment types (names, lengths, codes)",
    "scheduling:calendar": "a provider's free/busy feed by signed token: times, no patients",
    # templates, catalogs, stock, QC
    "encounters:procedure_templates": "procedure templates (text, supplies, codes)",
    "encounters:install_procedure_templates": "installs the example procedure templates",
    "encounters:procedure_template": "one procedure template",
    "labs:scan": "a redirect to the scanned specimen's page, which is audited",
    "labs:catalog": "the lab test catalog",
    "labs:qc": "point-of-care kit lots, devices and quality-control runs",
    "labs:qc_run": "a quality-control run on a device (control material, no patient)",
    "labs:add_kit_lot": "a point-of-care kit lot",
    "labs:retire_kit_lot": "a point-of-care kit lot",
    "labs:add_device": "a point-of-care device",
    "meds:stock": "vaccine and drug stock by lot",
    "meds:receive": "receiving stock",
    "meds:lot": "one lot: its ledger of counts (doses given are counted, not named)",
    "meds:lot_status": "a lot's status (quarantine)",
    "meds:lot_adjust": "a lot's count",
    "meds:scan": "what a scanned vial is: product, lot, expiry",
    "meds:setup": "products and storage units",
    "meds:add_product": "a product",
    "meds:add_storage_unit": "a storage unit",
    "meds:homes": "the assisted-living homes (names and counts)",
    "meds:assignments": "which worker works at which home (staff data)",
    # billing set-up and batch files
    "billing:check_all": "runs the claim checks; each claim it changes is audited by the service",
    "billing:send": "writes the 837P batch; the export is audited by the service",
    "billing:batches": "the list of 837P batch files (numbers and counts)",
    "billing:setup": "the billing profile, code sets and fee schedules",
    "billing:files": "payer files (999, 277CA, 835, 271); posting is audited by the service",
    "billing:eligibility_batch": "queues eligibility checks; each is audited by the service",
    "billing:eligibility_poll": "reads clearinghouse answers; each is audited by the service",
    "billing:add_rule": "a prior-authorization rule (codes and payers)",
    "billing:retire_rule": "a prior-authorization rule",
    # staff (staff data, not patient data)
    "staff:credentials": "staff credentials",
    "staff:add_credential": "a staff credential",
    "staff:proof": "a staff credential's proof",
    "staff:verify": "a staff credential",
    "staff:void": "a staff credential",
    "staff:add_ce": "continuing-education hours",
    "staff:worker": "one worker's credentials",
    "staff:rules": "scope-of-practice rules",
    "staff:add_rule": "a scope-of-practice rule",
    "staff:load_examples": "the example scope-of-practice rules",
    "staff:retire_rule": "a scope-of-practice rule",
    # compliance (equipment, not patients)
    "compliance:home": "the compliance overview (equipment, fridges, sterilizers)",
    "compliance:devices": "equipment",
    "compliance:add_device": "equipment",
    "compliance:device": "one device, its plans and service records",
    "compliance:add_plan": "a maintenance plan",
    "compliance:record_service": "a service record",
    "compliance:device_status": "a device's status",
    "compliance:storage_unit": "a fridge's temperatures",
    "compliance:add_reading": "a temperature reading",
    "compliance:upload_readings": "a data-logger file",
    "compliance:excursion": "a temperature excursion and the lots it quarantined",
    "compliance:resolve_excursion": "a temperature excursion",
    "compliance:cycles": "sterilizer cycles",
    "compliance:new_cycle": "a sterilizer cycle",
    "compliance:add_instrument_set": "an instrument set",
    "compliance:read_bi": "a cycle's biological indicator; a recall is audited (recall_cycle)",
    # the FHIR API
    "fhir:openapi-json": "the API's OpenAPI schema",
    "fhir:metadata": "the CapabilityStatement",
    "fhir:api-root": "the API's root",
    "fhir:read_practitioner": "providers are staff data",
    "fhir:search_practitioners": "providers are staff data",
    "fhir:read_location": "facilities and rooms",
    "fhir:search_locations": "facilities and rooms",
    "fhir:read_schedule": "a provider's schedule: no patients",
    "fhir:search_schedules": "providers' schedules: no patients",
    "fhir:search_slots": "open slots: times, no patients",
    ":None": "any other path under /fhir/: a 404 OperationOutcome",
}


# --- walking the URL map ---------------------------------------------------------------------


def route_names() -> list[str]:
    """Every named route of the pages and the FHIR API (`namespace:name`)."""
    found: list[str] = []

    def walk(patterns: list[Any], namespace: str = "") -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern):
                found.append(f"{namespace}:{pattern.name}")

    walk(get_resolver().url_patterns)
    return sorted(set(found))


def test_every_route_is_classified():
    known = set(READS) | set(CHANGES) | set(NO_PATIENT_DATA)
    missing = [name for name in route_names() if name not in known]
    assert not missing, (
        f"classify these routes in {__name__}: READS or CHANGES if they show or change patient "
        f"data (with what to send), else NO_PATIENT_DATA with a one-line reason: {missing}"
    )


def test_no_route_is_both_patient_data_and_not():
    both = (set(READS) | set(CHANGES)) & set(NO_PATIENT_DATA)
    assert not both, f"listed as patient data and as no patient data: {sorted(both)}"


def test_every_listed_route_exists():
    gone = (set(READS) | set(CHANGES) | set(NO_PATIENT_DATA)) - set(route_names())
    assert not gone, f"no such routes any more, remove them from {__name__}: {sorted(gone)}"


# --- requesting them --------------------------------------------------------------------------


@pytest.fixture
def owner_world(org, icd10):
    w = worlds.world(org)
    w.everyone = worlds.everyone(org)
    return w


def _full(w: SimpleNamespace) -> SimpleNamespace:
    for build in worlds.EXTRAS:
        build(w)
    w.lab_result = worlds._lab_result(w)
    w.payment = worlds._payment(w)
    return w


def _url(name: str, w: SimpleNamespace, path: Filler | None = None) -> str:
    if path is not None:
        return reverse(name, kwargs=path(w))
    if name.startswith("fhir:"):
        fill = worlds.FHIR_ROUTES.get(name)
    else:
        fill = worlds.ROUTES.get(name)
        fill = fill[0] if isinstance(fill, list) else fill
    return reverse(name, kwargs=fill(w) if fill else None)


def _path_ids(name: str, w: SimpleNamespace, path: Filler | None = None) -> set[str]:
    fill = path or worlds.FHIR_ROUTES.get(name) or worlds.ROUTES.get(name)
    fill = fill[0] if isinstance(fill, list) else fill
    return {str(value) for value in (fill(w) if fill else {}).values()}


class Writes:
    """The tables a block of requests wrote to (INSERT, UPDATE, DELETE), audit tables aside."""

    # the audit tables themselves, sign-in bookkeeping, and a token's last-used time
    IGNORED = ("audit_", "django_session", "axes_", "otp_", "accounts_apitoken")

    def __init__(self) -> None:
        self.tables: set[str] = set()

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        words = sql.replace('"', " ").split()
        if words and words[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            table = next(
                (w for w in words[1:] if w.upper() not in ("INTO", "FROM", "OR", "IGNORE")), ""
            )
            if not table.lower().startswith(self.IGNORED):
                self.tables.add(table.lower())
        return execute(sql, params, many, context)


def _request(name: str, spec: Read | Change, w: SimpleNamespace) -> tuple[Any, list[Any], Writes]:
    if spec.before is not None:
        spec.before(w)
    user = spec.user(w)
    url = _url(name, w, getattr(spec, "path", None))
    data = spec.query(w) if isinstance(spec, Read) else spec.body(w)
    method = "get" if isinstance(spec, Read) else spec.method
    writes = Writes()
    at = getattr(w, "frozen_after", None)
    frozen = clock.frozen(at) if at is not None else contextlib.nullcontext()
    with frozen:  # sign in at the time the request is made
        client: Any = FhirClient(token_for(user)) if name.startswith("fhir:") else signed_in(user)
        last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        with connection.execute_wrapper(writes):
            response = getattr(client, method)(url, data)
    events = list(AuditEvent.objects.filter(pk__gt=last, organization_id=w.user.organization_id))
    if not writes.tables and response.status_code in (301, 302, 303):
        response.followed = client.get(response.url)  # what it says went wrong, if anything
    return response, events, writes


def _named(name: str, spec: Read | Change, w: SimpleNamespace, event: AuditEvent) -> bool:
    expected = spec.names(w) if callable(spec.names) else spec.names
    if expected == LIST:
        return True
    if expected == OBJECT:
        return event.resource_id in _path_ids(name, w, getattr(spec, "path", None))
    return event.patient_id == expected


@pytest.mark.parametrize("name", sorted(READS))
def test_reading_patient_data_is_audited(owner_world, name):
    spec = READS[name]
    w = _full(owner_world) if spec.names == LIST or name.startswith("fhir:") else owner_world
    response, events, _ = _request(name, spec, w)
    assert response.status_code == 200, (name, response.status_code)
    reads = [e for e in events if e.action in READ_ACTIONS]
    assert any(_named(name, spec, w, e) for e in reads), (
        f"{name}: no view/search/export event naming the patient or row; events: "
        f"{[(e.action, e.patient_id, e.resource_type, e.resource_id) for e in events]}"
    )


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_changing_patient_data_is_audited(owner_world, name):
    spec = CHANGES[name]
    w = _full(owner_world) if name.startswith("fhir:") else owner_world
    response, events, writes = _request(name, spec, w)
    assert response.status_code < 400, (name, response.status_code, _errors(response))
    assert writes.tables, (
        f"{name}: the request changed nothing; check its body ({_errors(response)})"
    )
    changes = [e for e in events if e.action not in READ_ACTIONS]
    assert any(_named(name, spec, w, e) for e in changes), (
        f"{name}: wrote {sorted(writes.tables)} but no change event names the patient or row; "
        f"events: {[(e.action, e.patient_id, e.resource_type, e.resource_id) for e in events]}"
    )


def _errors(response: Any) -> str:
    response = getattr(response, "followed", response)
    text = response.content.decode(errors="replace") if response.content else ""
    if response.get("Content-Type", "").startswith("application/fhir+json"):
        return text[:400]
    found = re.findall(
        r'class="(?:error-summary|messages?|alert)[^"]*"[^>]*>(.*?)</(?:div|ul)>', text, re.S
    )
    return " | ".join(" ".join(re.sub("<[^>]+>", " ", f).split()) for f in found)[:600]


@pytest.mark.parametrize(
    "name",
    sorted(
        n
        for n in NO_PATIENT_DATA
        if not n.startswith("fhir:") and n != ":None" and n != "scheduling:calendar"
    ),
)
def test_a_page_without_patient_data_shows_no_patient(owner_world, name):
    """The NO_PATIENT_DATA list is honest: its pages show no patient's name to a full world."""
    w = _full(owner_world)
    response = signed_in(w.everyone).get(_url(name, w))
    if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/"):
        return  # a POST-only route, a redirect or a file
    page = response.content.decode()
    names = Patient.objects.filter(organization=w.user.organization).values_list(
        "family_name", flat=True
    )
    shown = sorted(n for n in names if n in page)
    assert not shown, f"{name} shows patients {shown}: move it to READS and audit it"


def test_the_write_detector_sees_a_clinical_write(owner_world):
    """The detector the change test relies on does see a write (so 'changed nothing' means it)."""
    writes = Writes()
    with connection.execute_wrapper(writes):
        signed_in(owner_world.everyone).post(_url("encounters:acknowledge", owner_world), {})
    assert "encounters_alert" in writes.tables
