"""The procedure room's services: templates, the steps in order, the tray's load, consent
images, the anaesthetic lot, vitals, the pathology specimen, audit."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from PIL import Image, ImageDraw

from carebench.audit.models import AuditEvent
from carebench.compliance import services as compliance
from carebench.compliance.models import InstrumentSetUse
from carebench.core import clock
from carebench.encounters import procedure_services as services
from carebench.encounters import services as enc
from carebench.encounters.procedure_models import Procedure, ProcedureTemplate
from carebench.encounters.vitals import VitalsEntry
from carebench.labs.models import Specimen
from carebench.terminology.models import Icd10CmCode
from carebench.terminology.services import save_icd10_codes
from carebench.testing import actor_for, make_patient, make_schedule

# --- helpers (the browser test uses them too) ----------------------------------------------------


def signature_png(*, blank: bool = False, size: tuple[int, int] = (400, 120)) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    if not blank:
        ImageDraw.Draw(image).line(
            [(20, 80), (120, 30), (220, 90), (360, 40)], fill="black", width=3
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (180, 60, 60)).save(out, format="JPEG")
    return out.getvalue()


def add_biopsy_code() -> None:
    save_icd10_codes(
        [
            Icd10CmCode(
                code="D48.5",
                description="Neoplasm of uncertain behavior of skin",
                search_text="d48.5 neoplasm of uncertain behavior of skin",
                billable=True,
                version="test",
            )
        ],
        ignore_conflicts=True,
    )


def make_tray(user: Any, *, barcode: str = "LAC-01", cycle: str = "101", bi: str = "pass") -> Any:
    """An autoclave, a laceration tray, and a load it was in (BI as given)."""
    actor = actor_for(user)
    autoclave = compliance.add_device(
        actor=actor,
        facility=actor.organization.facilities.first(),
        kind="autoclave",
        name="Autoclave",
        serial_number=f"AC-{barcode}",
    )
    tray = compliance.add_instrument_set(
        actor=actor, name="Laceration tray 1", barcode=barcode, contents="needle driver, forceps"
    )
    load = compliance.record_cycle(
        actor=actor,
        autoclave=autoclave,
        cycle_number=cycle,
        run_at=clock.now() - timedelta(hours=3),
        instrument_sets=[tray],
        duration_minutes=30,
        temperature_c=Decimal("121.0"),
        pressure_psi=Decimal("15.0"),
        chemical_indicator="pass",
        biological_indicator=bi,
    )
    return SimpleNamespace(autoclave=autoclave, tray=tray, load=load)


def make_procedure_clinic(mat: Any, doctor: Any) -> SimpleNamespace:
    """Templates installed, a provider (the doctor), a walk-in visit, and a tray from a load
    that passed."""
    setup = make_schedule(mat)
    setup.provider.user = doctor
    setup.provider.save(update_fields=["user"])
    actor = actor_for(mat)
    services.install_example_templates(actor=actor)
    patient = make_patient(mat, family_name="Okonkwo", given_name="Ada")
    encounter = enc.open_walk_in(actor=actor, patient=patient, chief_complaint="cut on forearm")
    templates = {t.key: t for t in ProcedureTemplate.objects.for_org(actor.organization)}
    return SimpleNamespace(
        actor=actor,
        setup=setup,
        provider=setup.provider,
        patient=patient,
        encounter=encounter,
        templates=templates,
        tray=make_tray(mat),
    )


def planned(clinic: SimpleNamespace, key: str = "laceration-repair") -> Procedure:
    return services.create_procedure(
        actor=clinic.actor,
        encounter=clinic.encounter,
        template=clinic.templates[key],
        site="left forearm, volar",
        side="left",
    )


def prepared(clinic: SimpleNamespace, key: str = "laceration-repair") -> Procedure:
    procedure = planned(clinic, key)
    template = clinic.templates[key]
    return services.set_up(
        actor=clinic.actor,
        procedure=procedure,
        performed_by=clinic.provider,
        room=clinic.setup.room,
        instrument_set=clinic.tray.tray if template.sterile_tray else None,
        assistants=[clinic.actor.user],
    )


def consented(procedure: Procedure, actor: Any) -> Procedure:
    services.record_consent(
        actor=actor,
        procedure=procedure,
        method="drawn",
        signer_name="Ada Okonkwo",
        relationship="self",
        image=signature_png(),
    )
    return procedure


def all_checks(procedure: Procedure) -> list[str]:
    return [key for key, _ in services.timeout_checklist(procedure)]


def started(clinic: SimpleNamespace, key: str = "laceration-repair") -> Procedure:
    procedure = consented(prepared(clinic, key), clinic.actor)
    services.complete_timeout(
        actor=clinic.actor, procedure=procedure, confirmed=all_checks(procedure)
    )
    return services.start_procedure(actor=clinic.actor, procedure=procedure)


@pytest.fixture
def clinic(mat: Any, provider: Any) -> SimpleNamespace:
    return make_procedure_clinic(mat, provider)


def _fields(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


# --- templates -----------------------------------------------------------------------------------


def test_installing_the_examples_twice_adds_them_once(clinic: SimpleNamespace) -> None:
    assert len(clinic.templates) == 10
    again = services.install_example_templates(actor=clinic.actor)
    assert again == []
    assert ProcedureTemplate.objects.for_org(clinic.actor.organization).count() == 10


def test_install_keeps_the_clinics_edits(clinic: SimpleNamespace) -> None:
    template = clinic.templates["ear-lavage"]
    services.update_template(
        actor=clinic.actor, template=template, changes={"supplies": "Bulb syringe\nBasin"}
    )
    services.install_example_templates(actor=clinic.actor)
    template.refresh_from_db()
    assert template.supplies == ["Bulb syringe", "Basin"]


def test_a_template_code_must_look_like_cpt_or_hcpcs(clinic: SimpleNamespace) -> None:
    with pytest.raises(ValidationError) as exc:
        services.update_template(
            actor=clinic.actor,
            template=clinic.templates["nebulizer"],
            changes={"codes": "94640 Nebulizer\nABC Not a code"},
        )
    assert "line 2" in _fields(exc)["codes"][0]


# --- the order of the steps ----------------------------------------------------------------------


def test_the_time_out_needs_the_consent_first(clinic: SimpleNamespace) -> None:
    procedure = prepared(clinic)
    with pytest.raises(ValidationError) as exc:
        services.complete_timeout(
            actor=clinic.actor, procedure=procedure, confirmed=all_checks(procedure)
        )
    assert "consent" in _fields(exc)


def test_the_time_out_needs_every_check(clinic: SimpleNamespace) -> None:
    procedure = consented(prepared(clinic), clinic.actor)
    with pytest.raises(ValidationError) as exc:
        services.complete_timeout(
            actor=clinic.actor, procedure=procedure, confirmed=["patient", "site", "procedure"]
        )
    assert "Allergies confirmed" in _fields(exc)["confirmed"][0]


def test_the_procedure_cannot_start_before_the_time_out(clinic: SimpleNamespace) -> None:
    procedure = consented(prepared(clinic), clinic.actor)
    with pytest.raises(ValidationError) as exc:
        services.start_procedure(actor=clinic.actor, procedure=procedure)
    assert "timeout" in _fields(exc)
    assert Procedure.objects.get(pk=procedure.pk).started_at is None


def test_the_steps_in_order_reach_completed(clinic: SimpleNamespace) -> None:
    procedure = started(clinic)
    services.add_supply(actor=clinic.actor, procedure=procedure, name="Nylon 4-0", quantity=2)
    done = services.complete_procedure(
        actor=clinic.actor, procedure=procedure, complications="none"
    )
    assert done.status == Procedure.Status.COMPLETED
    assert done.supplies.get().quantity == 2


def test_abandoning_needs_a_reason_and_keeps_the_row(clinic: SimpleNamespace) -> None:
    procedure = prepared(clinic)
    with pytest.raises(ValidationError):
        services.abandon_procedure(actor=clinic.actor, procedure=procedure, reason=" ")
    services.abandon_procedure(actor=clinic.actor, procedure=procedure, reason="patient declined")
    row = Procedure.objects.get(pk=procedure.pk)
    assert row.status == "abandoned" and row.abandon_reason == "patient declined"
    with pytest.raises(PermissionError):
        row.delete()


# --- the tray ------------------------------------------------------------------------------------


def test_the_tray_links_the_patient_to_its_load(clinic: SimpleNamespace) -> None:
    procedure = prepared(clinic)
    use = InstrumentSetUse.objects.get(pk=procedure.tray_use_id)
    assert use.patient_id == clinic.patient.pk and use.cycle_id == clinic.tray.load.pk
    assert "cycle 101" in procedure.tray_load


def test_a_tray_from_a_recalled_load_is_refused(clinic: SimpleNamespace) -> None:
    compliance.recall_cycle(actor=clinic.actor, cycle=clinic.tray.load, reason="wet pack")
    procedure = planned(clinic)
    with pytest.raises(ValidationError) as exc:
        services.set_up(
            actor=clinic.actor,
            procedure=procedure,
            performed_by=clinic.provider,
            instrument_set=clinic.tray.tray,
        )
    assert "recalled" in _fields(exc)["instrument_set"][0]
    assert Procedure.objects.get(pk=procedure.pk).status == "planned"


def test_a_sterile_tray_procedure_needs_its_tray(clinic: SimpleNamespace) -> None:
    with pytest.raises(ValidationError) as exc:
        services.set_up(actor=clinic.actor, procedure=planned(clinic), performed_by=clinic.provider)
    assert "instrument_set" in _fields(exc)


# --- consent -------------------------------------------------------------------------------------


def test_a_drawn_signature_is_kept_with_signer_witness_and_text(clinic: SimpleNamespace) -> None:
    procedure = consented(prepared(clinic), clinic.actor)
    consent = procedure.consents.get()
    assert bytes(consent.image).startswith(services.PNG_MAGIC)
    assert consent.witness == clinic.actor.user and consent.signer_name == "Ada Okonkwo"
    assert consent.consent_text == clinic.templates["laceration-repair"].consent_text


@pytest.mark.parametrize(
    "image,message",
    [
        (b"GIF89a" + b"\x00" * 100, "must be a PNG"),
        (services.PNG_MAGIC + b"\x00" * 100, "must be a PNG"),
        (signature_png(blank=True), "empty"),
        (signature_png(size=(10, 10)), "impossible size"),
        (b"\x89PNG" + b"\x00" * (services.MAX_SIGNATURE_BYTES + 1), "over"),
    ],
)
def test_a_bad_signature_image_is_refused(
    clinic: SimpleNamespace, image: bytes, message: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        services.record_consent(
            actor=clinic.actor,
            procedure=planned(clinic),
            method="drawn",
            signer_name="Ada Okonkwo",
            relationship="self",
            image=image,
        )
    assert message in _fields(exc)["signature"][0]


def test_a_data_url_that_is_not_png_is_refused() -> None:
    with pytest.raises(ValueError, match="PNG"):
        services.decode_data_url("data:image/jpeg;base64,/9j/4AAQ")
    with pytest.raises(ValueError, match="damaged"):
        services.decode_data_url("data:image/png;base64,***")


def test_a_paper_consent_scan_is_checked_by_content(clinic: SimpleNamespace) -> None:
    procedure = planned(clinic)
    with pytest.raises(ValidationError) as exc:
        services.record_consent(
            actor=clinic.actor,
            procedure=procedure,
            method="paper",
            signer_name="Ada Okonkwo",
            relationship="self",
            image=b"MZ\x90\x00 not a scan",
        )
    assert "not a PDF, PNG or JPEG" in _fields(exc)["scan"][0]
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    consent = services.record_consent(
        actor=clinic.actor,
        procedure=procedure,
        method="paper",
        signer_name="Ada Okonkwo",
        relationship="self",
        image=pdf,
    )
    assert consent.image_type == "application/pdf"


# --- anaesthetic, vitals, specimen ---------------------------------------------------------------


def test_an_expired_anaesthetic_lot_is_refused(clinic: SimpleNamespace) -> None:
    procedure = prepared(clinic)
    with pytest.raises(ValidationError) as exc:
        services.record_anaesthetic(
            actor=clinic.actor,
            procedure=procedure,
            name="Lidocaine 1%",
            lot_number="LD2291",
            expires_on=clock.today() - timedelta(days=1),
            amount="3 mL",
        )
    assert "expired" in _fields(exc)["anaesthetic_expires_on"][0]
    services.record_anaesthetic(
        actor=clinic.actor,
        procedure=procedure,
        name="Lidocaine 1%",
        lot_number="LD2292",
        expires_on=clock.today() + timedelta(days=200),
        amount="3 mL",
    )
    assert Procedure.objects.get(pk=procedure.pk).anaesthetic_lot == "LD2292"


def test_completing_needs_vitals_when_the_template_asks(clinic: SimpleNamespace) -> None:
    procedure = started(clinic, "nebulizer")
    with pytest.raises(ValidationError) as exc:
        services.complete_procedure(actor=clinic.actor, procedure=procedure, complications="none")
    assert {"vitals_before", "vitals_after"} <= set(_fields(exc))


def test_completing_with_vitals_before_and_after(clinic: SimpleNamespace) -> None:
    procedure = consented(prepared(clinic, "nebulizer"), clinic.actor)
    entry = VitalsEntry(heart_rate=Decimal(88), spo2=Decimal(92), respiratory_rate=Decimal(24))
    services.record_procedure_vitals(
        actor=clinic.actor, procedure=procedure, phase="before", entry=entry
    )
    services.complete_timeout(
        actor=clinic.actor, procedure=procedure, confirmed=all_checks(procedure)
    )
    services.start_procedure(actor=clinic.actor, procedure=procedure)
    after = VitalsEntry(heart_rate=Decimal(104), spo2=Decimal(97), respiratory_rate=Decimal(18))
    services.record_procedure_vitals(
        actor=clinic.actor, procedure=procedure, phase="after", entry=after
    )
    done = services.complete_procedure(
        actor=clinic.actor, procedure=procedure, complications="none"
    )
    assert done.vitals_before is not None and done.vitals_after is not None
    assert done.vitals_after.encounter_id == clinic.encounter.pk


def test_a_complication_must_be_stated(clinic: SimpleNamespace) -> None:
    procedure = started(clinic)
    with pytest.raises(ValidationError) as exc:
        services.complete_procedure(actor=clinic.actor, procedure=procedure, complications="")
    assert "complications" in _fields(exc)


def test_a_biopsy_specimen_joins_lab_specimen_tracking(clinic: SimpleNamespace) -> None:
    add_biopsy_code()
    procedure = started(clinic, "skin-biopsy")
    row = services.send_specimen(
        actor=clinic.actor,
        procedure=procedure,
        description="Punch biopsy 4 mm",
        diagnosis_codes=["D48.5"],
    )
    specimen = Specimen.objects.get(pk=row.specimen_id)
    assert specimen.status == Specimen.Status.COLLECTED
    assert specimen.patient_id == clinic.patient.pk
    assert specimen.items.get().code == services.PATHOLOGY_CODE
    assert row.lab_order.basis == "verbal"  # the MAT entered it; the provider co-signs
    assert specimen.collection_site.startswith("left forearm")


# --- audit and tenancy ---------------------------------------------------------------------------


def test_each_step_writes_an_audit_event_with_the_patient(clinic: SimpleNamespace) -> None:
    procedure = started(clinic)
    events = AuditEvent.objects.filter(resource_type="Procedure", resource_id=str(procedure.pk))
    steps = [json.loads(e.detail or "{}").get("step") for e in events.order_by("pk")]
    assert steps == [None, "prepared", "timed_out", "in_progress"]
    assert {e.patient_id for e in events} == {clinic.patient.pk}
    assert AuditEvent.objects.filter(
        resource_type="ProcedureConsent", patient_id=clinic.patient.pk
    ).exists()


def test_another_organizations_procedure_is_refused(
    clinic: SimpleNamespace, other_mat: Any
) -> None:
    procedure = planned(clinic)
    with pytest.raises(PermissionError):
        services.add_supply(
            actor=actor_for(other_mat), procedure=procedure, name="Gauze", quantity=1
        )
