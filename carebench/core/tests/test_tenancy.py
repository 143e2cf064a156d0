"""Tenancy, route by route: a user never reaches another organization's rows.

Every page route that takes an id is listed in ROUTES with how to fill it from a world of rows.
A new route with an id must be added here, or `test_every_id_route_is_covered` fails. The FHIR
API has its own tenancy tests in carebench/fhir/tests.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from carebench.conftest import signed_in
from carebench.ekg import services as ekg
from carebench.ekg.tests.helpers import synthetic_csv
from carebench.encounters import services as enc
from carebench.encounters.vitals import VitalsEntry
from carebench.labs import services as labs
from carebench.labs.models import LabTest
from carebench.patients import services as ps
from carebench.scheduling import services as sched
from carebench.scheduling.models import Status
from carebench.testing import UserFactory, actor_for, make_patient, make_schedule, next_weekday_at

ROLES = ["admin", "mat", "frontdesk", "provider", "manager"]


def _world(org: Any, npi: str) -> SimpleNamespace:
    user = UserFactory(organization=org, username=f"all-{org.slug}", roles=ROLES)
    actor = actor_for(user)
    patient = make_patient(user)
    setup = make_schedule(user, npi=npi)
    appt = sched.book_appointment(
        actor=actor,
        request=sched.BookingRequest(
            patient=patient,
            provider=setup.provider,
            appointment_type=setup.visit,
            start=next_weekday_at(9),
            facility=setup.facility,
        ),
    )
    sched.advance_flow(actor=actor, appointment=appt, to=Status.ARRIVED)
    encounter = appt.encounter
    enc.record_vitals(
        actor=actor,
        patient=patient,
        encounter=encounter,
        entry=VitalsEntry(systolic=Decimal(190), diastolic=Decimal(125)),
    )
    entries = {
        "allergies": ps.add_allergy(actor=actor, patient=patient, substance="Latex"),
        "medications": ps.add_medication(actor=actor, patient=patient, medication="Aspirin"),
        "problems": ps.add_problem(actor=actor, patient=patient, icd10_code="I10"),
        "history": ps.add_history(
            actor=actor, patient=patient, kind="surgical", description="Appendectomy"
        ),
        "coverage": ps.add_coverage(
            actor=actor,
            patient=patient,
            member_id="W123",
            payer=ps.get_or_create_payer(actor=actor, name="Aetna"),
        ),
    }
    ekg_row = ekg.attach_ekg(
        actor=actor,
        patient=patient,
        encounter=encounter,
        filename="ekg.csv",
        data=synthetic_csv(seed=patient.pk),
    )
    lab = _lab_world(actor, patient, setup.provider, encounter)
    return SimpleNamespace(
        user=user,
        patient=patient,
        lab=lab,
        ekg=ekg_row,
        appt=appt,
        encounter=encounter,
        alert=encounter.alerts.get(),
        room=setup.room,
        provider=setup.provider,
        entries=entries,
    )


def _lab_world(actor: Any, patient: Any, provider: Any, encounter: Any) -> SimpleNamespace:
    labs.load_catalog_csv(
        actor=actor,
        text="code,name,loinc,specimen_type,container,min_volume_ml,fasting,performed\n"
        "CBC,CBC,58410-2,whole blood,lavender,1,no,Reference lab\n",
    )
    order = labs.place_order(
        actor=actor,
        patient=patient,
        provider=provider,
        tests=list(LabTest.objects.for_org(actor.organization)),
        basis="standing",
        diagnosis_codes=["I10"],
        encounter=encounter,
    )
    specimen = labs.create_specimens(actor=actor, order=order)[0]
    labs.collect_specimen(actor=actor, specimen=specimen, site="left antecubital")
    manifest = labs.create_manifest(actor=actor, courier="Courier", specimens=[specimen])
    return SimpleNamespace(order=order, specimen=specimen, manifest=manifest)


def _kit_lot(w: SimpleNamespace) -> Any:
    """A point-of-care kit lot, made the first time a route needs one."""
    if not hasattr(w, "kit_lot"):
        from datetime import timedelta

        from carebench.core import clock
        from carebench.labs import poc_services

        actor = actor_for(w.user)
        labs.load_catalog_csv(
            actor=actor,
            text="code,name,loinc,specimen_type,container,min_volume_ml,fasting,performed\n"
            "RSTREP,Rapid strep,78012-2,throat swab,swab,0,no,In-house (POC)\n",
        )
        w.kit_lot = poc_services.add_kit_lot(
            actor=actor,
            test=LabTest.objects.for_org(actor.organization).get(code="RSTREP"),
            kit_name="Strep A",
            lot_number="L1",
            expires_on=clock.today() + timedelta(days=30),
        )
    return w.kit_lot


def _meds(w: SimpleNamespace) -> SimpleNamespace:
    """A flu vaccine, a lot, a standing order, an order and a dose given, made on first use."""
    if not hasattr(w, "meds"):
        from datetime import timedelta

        from carebench.core import clock
        from carebench.meds import services as meds
        from carebench.terminology.models import Manufacturer, VaccineCode
        from carebench.testing import load_vaccine_codes

        load_vaccine_codes()
        actor = actor_for(w.user)
        unit = meds.add_storage_unit(
            actor=actor, facility=w.encounter.facility, name="Fridge", kind="refrigerator"
        )
        flu = meds.add_product(
            actor=actor,
            kind="vaccine",
            name="Flu",
            ndc="58160-0919-52",
            dose_amount=Decimal("0.5"),
            dose_unit="mL",
            route="C28161",
            vaccine_code=VaccineCode.objects.get(cvx="140"),
            manufacturer=Manufacturer.objects.get(mvx="SKB"),
        )
        lot = meds.receive_stock(
            actor=actor,
            product=flu,
            lot_number="L1",
            expires_on=clock.today() + timedelta(days=90),
            ndc="58160-0919-52",
            funding="private",
            storage_unit=unit,
            doses=5,
        )
        protocol = meds.add_standing_order(
            actor=actor,
            name="Flu",
            products=[flu],
            signed_by=w.provider,
            valid_from=clock.today() - timedelta(days=1),
            valid_until=clock.today() + timedelta(days=90),
        )
        order = meds.start_standing_order(
            actor=actor, protocol=protocol, patient=w.patient, product=flu, answers={}
        )
        dose = meds.administer(
            actor=actor,
            order=order,
            patient_check=meds.PatientCheck(scanned=w.patient.mrn),
            lot=lot,
            dose_amount=Decimal("0.5"),
            dose_unit="mL",
            route="C28161",
            site="LD",
            eligibility="V01",
            vis_given_on=clock.today(),
        )
        open_order = meds.start_standing_order(
            actor=actor, protocol=protocol, patient=w.patient, product=flu, answers={}
        )
        w.meds = SimpleNamespace(lot=lot, protocol=protocol, order=open_order, dose=dose)
    return w.meds


def _emar(w: SimpleNamespace) -> SimpleNamespace:
    """A home with a resident, orders, a documented dose, an absence and a shift count."""
    if not hasattr(w, "emar"):
        from datetime import datetime, time, timedelta
        from zoneinfo import ZoneInfo

        from carebench.core import clock
        from carebench.meds import emar_services as emar
        from carebench.meds.emar_models import CountSheet
        from carebench.testing import make_home

        org = w.user.organization
        nurse = UserFactory(organization=org, username=f"nurse-{org.slug}", roles=["nurse"])
        medtech = UserFactory(organization=org, username=f"medtech-{org.slug}", roles=["medtech"])
        home = make_home(nurse, medtech, residents=2)
        yesterday = clock.today(home.home.time_zone) - timedelta(days=1)
        at = datetime.combine(yesterday, time(8), tzinfo=ZoneInfo(home.home.time_zone))
        with clock.frozen(at):
            dose = emar.record_dose(
                actor=home.medtech, order=home.lisinopril, outcome="given", scheduled_at=at
            )
        with clock.frozen(at + timedelta(hours=2)):
            prn = emar.record_dose(
                actor=home.medtech, order=home.tylenol, outcome="given", prn_reason="pain"
            )
        absence = emar.start_absence(
            actor=home.medtech, residency=home.residents[1], kind="leave", starts_at=clock.now()
        )
        sheet = CountSheet.objects.get(order=home.lorazepam)
        count = emar.count_shift(
            actor=home.medtech, facility=home.home, incoming=nurse, counts={sheet.pk: 3}
        )
        w.emar = SimpleNamespace(
            home=home.home,
            resident=home.resident,
            order=home.metoprolol,
            dose=dose,
            prn=prn,
            absence=absence,
            count=count,
        )
    return w.emar


def _billing(w: SimpleNamespace) -> SimpleNamespace:
    """The organization set up to bill, with a claim and an 837P batch, made on first use."""
    if not hasattr(w, "billing"):
        from carebench.billing.models import ClaimBatch
        from carebench.core import clock
        from carebench.testing import make_billing_clinic, make_claim

        clinic = make_billing_clinic(w.user, npi=w.provider.npi)
        claim = make_claim(clinic, status="draft")
        batch = ClaimBatch.objects.create(
            organization=clinic.org,
            interchange_control=1,
            group_control=1,
            created_at=clock.now(),
            content="ISA*...",
            file_name="837P_000000001.x12",
        )
        from carebench.billing import auth_services

        rule = auth_services.add_rule(actor=clinic.actor, code_from="72148")
        auth = auth_services.request_prior_auth(
            actor=clinic.actor, coverage=clinic.coverage, codes=["72148"], diagnosis_codes=["I10"]
        )
        w.billing = SimpleNamespace(clinic=clinic, claim=claim, batch=batch, rule=rule, auth=auth)
    return w.billing


def _inbox(w: SimpleNamespace) -> Any:
    """A refill request about the patient, assigned to the MAT team, made on first use."""
    if not hasattr(w, "inbox_item"):
        from carebench.inbox import services as inbox

        w.inbox_item = inbox.create_item(
            actor=actor_for(w.user),
            kind="refill",
            subject="Refill",
            patient=w.patient,
            medication=w.entries["medications"],
            assignee=inbox.Assignee(role="mat"),
        )
    return w.inbox_item


def _compliance(w: SimpleNamespace) -> SimpleNamespace:
    """A device with a plan, a fridge with an excursion, an autoclave cycle, made on first use."""
    if not hasattr(w, "compliance"):
        from carebench.compliance import services as compliance
        from carebench.core import clock
        from carebench.meds import services as meds

        actor = actor_for(w.user)
        facility = w.encounter.facility
        device = compliance.add_device(
            actor=actor, facility=facility, kind="scale", name="Scale", serial_number="S-1"
        )
        compliance.add_plan(
            actor=actor, device=device, kind="inspection", interval_days=30, next_due=clock.today()
        )
        unit = meds.add_storage_unit(
            actor=actor, facility=facility, name="Compliance fridge", kind="refrigerator"
        )
        compliance.record_reading(actor=actor, storage_unit=unit, current_c=Decimal("9.5"))
        autoclave = compliance.add_device(
            actor=actor, facility=facility, kind="autoclave", name="Autoclave", serial_number="A-1"
        )
        kit = compliance.add_instrument_set(actor=actor, name="Kit", barcode="K-1")
        cycle = compliance.record_cycle(
            actor=actor,
            autoclave=autoclave,
            cycle_number="1",
            run_at=clock.now(),
            instrument_sets=[kit],
            duration_minutes=30,
            temperature_c=Decimal(121),
            pressure_psi=Decimal(15),
            chemical_indicator="pass",
            biological_indicator="pending",
        )
        w.compliance = SimpleNamespace(
            device=device, unit=unit, excursion=unit.excursions.get(), cycle=cycle
        )
    return w.compliance


def _documents(w: SimpleNamespace) -> SimpleNamespace:
    """A document and an imaging order with its result, made on first use."""
    if not hasattr(w, "documents"):
        from carebench.patients import document_services, referral_services

        actor = actor_for(w.user)
        document = document_services.upload_document(
            actor=actor,
            patient=w.patient,
            data=b"%PDF-1.4\n%tenancy\n%%EOF\n",
            filename="outside.pdf",
            category="outside_records",
        )
        order = referral_services.place_order(
            actor=actor,
            patient=w.patient,
            kind="imaging",
            modality="xray",
            requested="Chest X-ray, 2 views",
            diagnosis_codes=["I10"],
            ordering_provider=w.provider,
        )
        w.documents = SimpleNamespace(document=document, order=order)
    return w.documents


def _staff(w: SimpleNamespace) -> SimpleNamespace:
    """Another worker with a credential (with its proof) and a scope rule, made on first use."""
    if not hasattr(w, "staff"):
        from datetime import date

        from carebench.staff import services as staff

        org = w.user.organization
        worker = UserFactory(organization=org, username=f"staffer-{org.slug}", roles=["mat"])
        kind = next(t for t in staff.ensure_credential_types(org) if t.code == "CCMA")
        credential = staff.add_credential(
            actor=actor_for(worker),
            user=worker,
            credential_type=kind,
            number="NHA-1",
            issued_on=date(2025, 1, 1),
            expires_on=date(2099, 1, 1),
            proof=b"%PDF-1.4 proof",
        )
        rule = staff.add_scope_rule(actor=actor_for(w.user), task="vitals", roles=["mat"])
        from carebench.core import clock
        from carebench.staff.models import CosignRequest

        cosign = CosignRequest.objects.create(
            organization=org,
            task="injection",
            worker=worker,
            facility=w.encounter.facility,
            requested_at=clock.now(),
        )
        w.staff = SimpleNamespace(worker=worker, credential=credential, rule=rule, cosign=cosign)
    return w.staff


def _procedures(w: SimpleNamespace) -> SimpleNamespace:
    """A planned procedure with a signed consent, and a wound with a photo, made on first use."""
    if not hasattr(w, "procedures"):
        from carebench.encounters import procedure_services as proc
        from carebench.encounters.tests.test_procedure_services import jpeg_bytes, signature_png

        actor = actor_for(w.user)
        template = next(
            t for t in proc.install_example_templates(actor=actor) if t.key == "ear-lavage"
        )
        procedure = proc.create_procedure(
            actor=actor, encounter=w.encounter, template=template, site="left ear", side="left"
        )
        consent = proc.record_consent(
            actor=actor,
            procedure=procedure,
            method="drawn",
            signer_name="Pat Doe",
            relationship="self",
            image=signature_png(),
        )
        wound = proc.add_wound(
            actor=actor, patient=w.patient, location="sacrum", kind="pressure", stage="2"
        )
        assessment = proc.record_wound_assessment(
            actor=actor, wound=wound, dressing="foam", photo=jpeg_bytes()
        )
        w.procedures = SimpleNamespace(
            template=template,
            procedure=procedure,
            consent=consent,
            wound=wound,
            assessment=assessment,
        )
    return w.procedures


def _patient(w: SimpleNamespace) -> dict[str, Any]:
    return {"pk": w.patient.pk}


def _entry(key: str) -> Any:
    return lambda w: {"pk": w.patient.pk, "section_key": key, "entry_id": w.entries[key].pk}


ROUTES: dict[str, Any] = {
    "patients:chart": _patient,
    "patients:edit": _patient,
    "patients:voided": _patient,
    "patients:add_coverage": _patient,
    "patients:add_allergy": _patient,
    "patients:no_known_allergies": _patient,
    "patients:add_medication": _patient,
    "patients:reconcile_medications": _patient,
    "patients:add_problem": _patient,
    "patients:add_history": _patient,
    "patients:correct_entry": [
        _entry(k) for k in ("allergies", "medications", "problems", "history", "coverage")
    ],
    "patients:void_entry": [
        _entry(k) for k in ("allergies", "medications", "problems", "history", "coverage")
    ],
    "scheduling:appointment": lambda w: {"pk": w.appt.pk},
    "scheduling:reschedule": lambda w: {"pk": w.appt.pk},
    "scheduling:cancel": lambda w: {"pk": w.appt.pk},
    "scheduling:no_show": lambda w: {"pk": w.appt.pk},
    "scheduling:advance": lambda w: {"pk": w.appt.pk},
    "scheduling:room_status": lambda w: {"pk": w.room.pk},
    "scheduling:provider": lambda w: {"pk": w.provider.pk},
    "encounters:encounter": lambda w: {"pk": w.encounter.pk},
    "encounters:chief_complaint": lambda w: {"pk": w.encounter.pk},
    "encounters:rooming_item": lambda w: {"pk": w.encounter.pk, "item": "phq2"},
    "encounters:record_vitals": lambda w: {"pk": w.encounter.pk},
    "encounters:ready": lambda w: {"pk": w.encounter.pk},
    "encounters:acknowledge": lambda w: {"pk": w.alert.pk},
    "encounters:walk_in": lambda w: {"patient_id": w.patient.pk},
    "encounters:vitals_history": lambda w: {"patient_id": w.patient.pk},
    "ekg:patient": lambda w: {"patient_id": w.patient.pk},
    "ekg:upload": lambda w: {"patient_id": w.patient.pk},
    "ekg:ekg": lambda w: {"pk": w.ekg.pk},
    "ekg:report": [lambda w, f=fmt: {"pk": w.ekg.pk, "fmt": f} for fmt in ("svg", "pdf", "png")],
    "ekg:original": lambda w: {"pk": w.ekg.pk},
    "ekg:sign": lambda w: {"pk": w.ekg.pk},
    "ekg:void": lambda w: {"pk": w.ekg.pk},
    "labs:new_order": lambda w: {"patient_id": w.patient.pk},
    "labs:new_order_for_encounter": lambda w: {"encounter_id": w.encounter.pk},
    "labs:order": lambda w: {"pk": w.lab.order.pk},
    "labs:requisition": lambda w: {"pk": w.lab.order.pk},
    "labs:cosign": lambda w: {"pk": w.lab.order.pk},
    "labs:draw": lambda w: {"pk": w.lab.order.pk},
    "labs:order_labels": lambda w: {"pk": w.lab.order.pk, "fmt": "pdf"},
    "labs:specimen": lambda w: {"pk": w.lab.specimen.pk},
    "labs:specimen_label": lambda w: {"pk": w.lab.specimen.pk, "fmt": "zpl"},
    "labs:specimen_action": lambda w: {"pk": w.lab.specimen.pk, "action": "process"},
    "labs:manifest": lambda w: {"pk": w.lab.manifest.pk},
    "labs:manifest_pickup": lambda w: {"pk": w.lab.manifest.pk},
    "labs:hl7_message": lambda w: {"pk": w.lab.order.hl7_messages.get().pk},
    "labs:hl7_resolve": lambda w: {"pk": w.lab.order.hl7_messages.get().pk},
    "labs:hl7_resend": lambda w: {"pk": w.lab.order.hl7_messages.get().pk},
    "labs:poc_entry": lambda w: {"pk": w.lab.order.items.first().pk},
    "labs:review": lambda w: {"pk": w.lab.order.pk},
    "labs:cancel_order": lambda w: {"pk": w.lab.order.pk},
    "labs:results": lambda w: {"patient_id": w.patient.pk},
    "labs:recent_results": lambda w: {"patient_id": w.patient.pk},
    "labs:retire_kit_lot": lambda w: {"pk": _kit_lot(w).pk},
    "meds:patient": lambda w: {"patient_id": w.patient.pk},
    "meds:provider_order": lambda w: {"patient_id": w.patient.pk},
    "meds:record_history": lambda w: {"patient_id": w.patient.pk},
    "meds:run_standing_order": lambda w: {
        "patient_id": w.patient.pk,
        "protocol_id": _meds(w).protocol.pk,
    },
    "meds:give": lambda w: {"pk": _meds(w).order.pk},
    "meds:refuse": lambda w: {"pk": _meds(w).order.pk},
    "meds:cosign": lambda w: {"pk": _meds(w).order.pk},
    "meds:cancel": lambda w: {"pk": _meds(w).order.pk},
    "meds:administration": lambda w: {"pk": _meds(w).dose.pk},
    "meds:add_reaction": lambda w: {"pk": _meds(w).dose.pk},
    "meds:void": lambda w: {"pk": _meds(w).dose.pk},
    "meds:handout": lambda w: {"pk": _meds(w).dose.pk},
    "meds:lot": lambda w: {"pk": _meds(w).lot.pk},
    "meds:lot_status": lambda w: {"pk": _meds(w).lot.pk},
    "meds:lot_adjust": lambda w: {"pk": _meds(w).lot.pk},
    "meds:pass": lambda w: {"facility_id": _emar(w).home.pk},
    "meds:admit": lambda w: {"facility_id": _emar(w).home.pk},
    "meds:supervisor": lambda w: {"facility_id": _emar(w).home.pk},
    "meds:count": lambda w: {"facility_id": _emar(w).home.pk},
    "meds:resolve": lambda w: {"pk": _emar(w).count.pk},
    "meds:resident": lambda w: {"pk": _emar(w).resident.pk},
    "meds:resident_photo": lambda w: {"pk": _emar(w).resident.pk},
    "meds:upload_photo": lambda w: {"pk": _emar(w).resident.pk},
    "meds:add_order": lambda w: {"pk": _emar(w).resident.pk},
    "meds:start_absence": lambda w: {"pk": _emar(w).resident.pk},
    "meds:discharge": lambda w: {"pk": _emar(w).resident.pk},
    "meds:mar": lambda w: {"pk": _emar(w).resident.pk},
    "meds:end_absence": lambda w: {"pk": _emar(w).absence.pk},
    "meds:record": lambda w: {"pk": _emar(w).order.pk},
    "meds:discontinue": lambda w: {"pk": _emar(w).order.pk},
    "meds:refill": lambda w: {"pk": _emar(w).order.pk},
    "meds:effectiveness": lambda w: {"pk": _emar(w).prn.pk},
    "meds:void_dose": lambda w: {"pk": _emar(w).prn.pk},
    "billing:claim": lambda w: {"pk": _billing(w).claim.pk},
    "billing:edit": lambda w: {"pk": _billing(w).claim.pk},
    "billing:check": lambda w: {"pk": _billing(w).claim.pk},
    "billing:move": lambda w: {"pk": _billing(w).claim.pk},
    "billing:cms1500": lambda w: {"pk": _billing(w).claim.pk},
    "billing:superbill": lambda w: {"encounter_id": w.encounter.pk},
    "billing:batch_file": lambda w: {"pk": _billing(w).batch.pk},
    "billing:patient_eligibility": lambda w: {"patient_id": w.patient.pk},
    "billing:new_prior_auth": lambda w: {"patient_id": w.patient.pk},
    "billing:prior_auth": lambda w: {"pk": _billing(w).auth.pk},
    "billing:retire_rule": lambda w: {"pk": _billing(w).rule.pk},
    # staff routes
    "staff:worker": lambda w: {"pk": _staff(w).worker.pk},
    "staff:proof": lambda w: {"pk": _staff(w).credential.pk},
    "staff:verify": lambda w: {"pk": _staff(w).credential.pk},
    "staff:void": lambda w: {"pk": _staff(w).credential.pk},
    "staff:retire_rule": lambda w: {"pk": _staff(w).rule.pk},
    "staff:cosign": lambda w: {"pk": _staff(w).cosign.pk},
    # compliance routes
    "compliance:device": lambda w: {"pk": _compliance(w).device.pk},
    "compliance:add_plan": lambda w: {"pk": _compliance(w).device.pk},
    "compliance:record_service": lambda w: {"pk": _compliance(w).device.pk},
    "compliance:device_status": lambda w: {"pk": _compliance(w).device.pk},
    "compliance:storage_unit": lambda w: {"pk": _compliance(w).unit.pk},
    "compliance:add_reading": lambda w: {"pk": _compliance(w).unit.pk},
    "compliance:upload_readings": lambda w: {"pk": _compliance(w).unit.pk},
    "compliance:excursion": lambda w: {"pk": _compliance(w).excursion.pk},
    "compliance:resolve_excursion": lambda w: {"pk": _compliance(w).excursion.pk},
    "compliance:cycle": lambda w: {"pk": _compliance(w).cycle.pk},
    "compliance:read_bi": lambda w: {"pk": _compliance(w).cycle.pk},
    "compliance:recall_cycle": lambda w: {"pk": _compliance(w).cycle.pk},
    # inbox routes
    "inbox:item": lambda w: {"pk": _inbox(w).pk},
    "inbox:assign": lambda w: {"pk": _inbox(w).pk},
    "inbox:comment": lambda w: {"pk": _inbox(w).pk},
    "inbox:start": lambda w: {"pk": _inbox(w).pk},
    "inbox:complete": lambda w: {"pk": _inbox(w).pk},
    "inbox:cancel": lambda w: {"pk": _inbox(w).pk},
    "inbox:reopen": lambda w: {"pk": _inbox(w).pk},
    "inbox:patient": lambda w: {"patient_id": w.patient.pk},
    # procedure routes
    "encounters:procedure_template": lambda w: {"pk": _procedures(w).template.pk},
    "encounters:procedures": lambda w: {"pk": w.encounter.pk},
    "encounters:procedure": lambda w: {"pk": _procedures(w).procedure.pk},
    "encounters:procedure_handout": lambda w: {"pk": _procedures(w).procedure.pk},
    "encounters:procedure_step": lambda w: {"pk": _procedures(w).procedure.pk, "step": "supply"},
    "encounters:consent_image": lambda w: {
        "pk": _procedures(w).procedure.pk,
        "consent_id": _procedures(w).consent.pk,
    },
    "encounters:wounds": lambda w: {"patient_id": w.patient.pk},
    "encounters:wound": lambda w: {"pk": _procedures(w).wound.pk},
    "encounters:assess_wound": lambda w: {"pk": _procedures(w).wound.pk},
    "encounters:wound_status": lambda w: {"pk": _procedures(w).wound.pk},
    "encounters:wound_photo": lambda w: {"pk": _procedures(w).assessment.pk},
    # document routes
    "patients:documents": lambda w: {"patient_id": w.patient.pk},
    "patients:upload_document": lambda w: {"patient_id": w.patient.pk},
    "patients:recent_documents": lambda w: {"patient_id": w.patient.pk},
    "patients:document": lambda w: {"pk": _documents(w).document.pk},
    "patients:document_file": lambda w: {"pk": _documents(w).document.pk},
    "patients:void_document": lambda w: {"pk": _documents(w).document.pk},
    "patients:outside_orders": lambda w: {"patient_id": w.patient.pk},
    "patients:new_outside_order": lambda w: {"patient_id": w.patient.pk},
    "patients:outside_order": lambda w: {"pk": _documents(w).order.pk},
    "patients:send_outside_order": lambda w: {"pk": _documents(w).order.pk},
    "patients:schedule_outside_order": lambda w: {"pk": _documents(w).order.pk},
    "patients:outside_order_result": lambda w: {"pk": _documents(w).order.pk},
    "patients:review_outside_order": lambda w: {"pk": _documents(w).order.pk},
    "patients:cancel_outside_order": lambda w: {"pk": _documents(w).order.pk},
}
# Reached with a signed token instead of a session; tested in scheduling/tests/test_views.py.
TOKEN_ROUTES = {"scheduling:calendar"}


def _id_routes() -> list[str]:
    found = []

    def walk(patterns: list[Any], namespace: str = "", prefix: str = "") -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith("fhir/"):
                continue  # the FHIR API has its own tenancy tests
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace, route)
            elif isinstance(pattern, URLPattern) and "<" in route:
                found.append(f"{namespace}:{pattern.name}")

    walk(get_resolver().url_patterns)
    return found


def test_every_id_route_is_covered():
    missing = sorted(set(_id_routes()) - set(ROUTES) - TOKEN_ROUTES)
    assert not missing, f"add these routes to ROUTES in {__name__}: {missing}"


@pytest.fixture
def worlds(org, other_org, icd10):
    return _world(org, "1234567893"), _world(other_org, "1245319599")


def _cases() -> list[tuple[str, int]]:
    cases = []
    for name, fill in ROUTES.items():
        count = len(fill) if isinstance(fill, list) else 1
        cases += [(name, i) for i in range(count)]
    return cases


@pytest.mark.parametrize("name,index", _cases())
def test_another_organizations_rows_are_not_found(worlds, name, index):
    mine, theirs = worlds
    fill = ROUTES[name]
    fill = fill[index] if isinstance(fill, list) else fill
    client = signed_in(mine.user)
    own_url = reverse(name, kwargs=fill(mine))
    other_url = reverse(name, kwargs=fill(theirs))
    own = [client.get(own_url).status_code, client.post(own_url, {}).status_code]
    assert 404 not in own or own.count(404) < 2, f"{name}: own row not found, check the filler"
    for response in (client.get(other_url), client.post(other_url, {})):
        assert response.status_code in (404, 405), (name, response.status_code)
    assert 404 in (client.get(other_url).status_code, client.post(other_url, {}).status_code)
