"""Writes for the procedure room and wound care.

A procedure walks planned → prepared (room, tray, who) → timed-out (consent signed first) →
in progress → completed, or is abandoned with a reason from any open step. Nothing is deleted.

Every function is keyword-only with the `Actor` first, checks everything before writing (a
`ValidationError` naming the field and the rule), writes in one transaction and one audit event
with the patient. A row of another organization raises `PermissionError`. Three steps call
another app's service inside their transaction, which writes its own audit event too: the tray
(`compliance.services.record_set_use`, so a recalled load finds the patient), the vitals
(`encounters.services.record_vitals`) and the pathology specimen (`labs.services`).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction

from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.errors import FieldErrors
from carebench.patients.models import Patient

from . import services as encounter_services
from . import vitals as rules
from .models import Encounter
from .procedure_models import (
    Procedure,
    ProcedureConsent,
    ProcedureSpecimen,
    ProcedureSupply,
    ProcedureTemplate,
    Wound,
    WoundAssessment,
)

if TYPE_CHECKING:
    from carebench.accounts.models import User
    from carebench.compliance.models import InstrumentSet
    from carebench.scheduling.models import Provider, Resource

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
PDF_MAGIC = b"%PDF-"
MAX_SIGNATURE_BYTES = 300 * 1024
MAX_SCAN_BYTES = 10 * 1024 * 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_WOUND_CM = Decimal(100)
MAX_SUPPLY_QUANTITY = 500
FUTURE_SLACK = timedelta(minutes=5)
PATHOLOGY_CODE = "SURGPATH"
PATHOLOGY_CATALOG_ROW = (
    "code,name,loinc,specimen_type,container,min_volume_ml,fasting,performed,cpt_hint,notes\n"
    f"{PATHOLOGY_CODE},Surgical pathology,,tissue in formalin,swab,0,no,Reference lab,88305,"
    "Tissue in a labelled formalin jar\n"
)
OPEN_STATUSES = (
    Procedure.Status.PLANNED,
    Procedure.Status.PREPARED,
    Procedure.Status.TIMED_OUT,
    Procedure.Status.IN_PROGRESS,
)
TIMEOUT_CHECKS = {
    "patient": "Right patient: two identifiers checked",
    "site": "Right site and side, marked",
    "procedure": "Right procedure, agreed by the team",
    "allergies": "Allergies confirmed",
}


def _user(actor: Actor) -> User:
    assert actor.user is not None, "procedures are documented by a user"
    return actor.user


def _audit(
    actor: Actor, action: str, row: Any, patient_id: int | None, detail: dict[str, Any]
) -> None:
    audit.record_for_actor(
        actor,
        action=action,
        patient_id=patient_id,
        resource_type=type(row).__name__,
        resource_id=row.pk,
        detail=detail,
    )


def _text(value: str, limit: int) -> str:
    return " ".join((value or "").split())[:limit]


# --- templates -----------------------------------------------------------------------------------

_COMMON_WOUND_EN = (
    "Keep the dressing clean and dry for 24 hours, then wash gently with soap and water.\n"
    "- Pat dry and put on a clean bandage each day until the skin is closed.\n"
    "- For pain, acetaminophen (Tylenol) or ibuprofen as the label says, unless your "
    "provider told you not to.\n"
    "- Do not soak the area (bath, pool, hot tub) until it has healed."
)
_COMMON_WOUND_ES = (
    "Mantenga el vendaje limpio y seco por 24 horas; después lave con cuidado con agua y jabón.\n"
    "- Seque con toques suaves y ponga una venda limpia cada día hasta que la piel se cierre.\n"
    "- Para el dolor, acetaminofén (Tylenol) o ibuprofeno según la etiqueta, salvo que su "
    "proveedor le haya dicho que no.\n"
    "- No remoje la zona (baño de tina, piscina, jacuzzi) hasta que sane."
)
_DEFAULT_CONSENT = (
    "I agree to the procedure named above. My provider explained what will be done, why, the "
    "usual risks (pain, bleeding, infection, a scar, the problem coming back), other choices "
    "including doing nothing, and answered my questions. I may withdraw before it starts."
)

EXAMPLE_TEMPLATES: list[dict[str, Any]] = [
    {
        "key": "laceration-repair",
        "name": "Laceration repair",
        "tray": "Laceration tray",
        "sterile_tray": True,
        "supplies": [
            "Lidocaine 1% vial",
            "10 mL syringe",
            "25 G needle",
            "Nylon suture 4-0",
            "Sterile saline for irrigation",
            "Sterile gloves",
            "Gauze 4x4",
            "Non-stick dressing",
        ],
        "consent_text": _DEFAULT_CONSENT,
        "timeout_items": ["Tetanus status checked", "Wound irrigated and explored"],
        "codes": [
            {"code": "12001", "label": "Simple repair, up to 2.5 cm"},
            {"code": "12002", "label": "Simple repair, 2.6 to 7.5 cm"},
            {"code": "12011", "label": "Simple repair of face, up to 2.5 cm"},
        ],
        "vitals_before_after": False,
        "specimen_usual": False,
        "aftercare_en": _COMMON_WOUND_EN
        + "\n- Stitches come out in 5 to 14 days depending on the place: we will tell you when.",
        "aftercare_es": _COMMON_WOUND_ES
        + "\n- Los puntos se quitan en 5 a 14 días según el lugar: le diremos cuándo.",
    },
    {
        "key": "skin-biopsy",
        "name": "Skin biopsy",
        "tray": "Biopsy tray",
        "sterile_tray": True,
        "supplies": [
            "Lidocaine 1% with epinephrine",
            "Punch biopsy 4 mm",
            "Formalin specimen jar",
            "Sterile gloves",
            "Adhesive bandage",
        ],
        "consent_text": _DEFAULT_CONSENT,
        "timeout_items": ["Specimen jar labelled with two identifiers"],
        "codes": [
            {"code": "11102", "label": "Tangential (shave) biopsy, first lesion"},
            {"code": "11104", "label": "Punch biopsy, first lesion"},
            {"code": "11106", "label": "Incisional biopsy, first lesion"},
        ],
        "vitals_before_after": False,
        "specimen_usual": True,
        "aftercare_en": _COMMON_WOUND_EN + "\n- Put a thin layer of petroleum jelly on the site.",
        "aftercare_es": _COMMON_WOUND_ES + "\n- Ponga una capa fina de vaselina en la herida.",
    },
    {
        "key": "excision",
        "name": "Excision of a skin lesion",
        "tray": "Minor surgery tray",
        "sterile_tray": True,
        "supplies": [
            "Lidocaine 1% with epinephrine",
            "Scalpel no. 15",
            "Nylon suture 4-0",
            "Absorbable suture 4-0",
            "Formalin specimen jar",
            "Sterile gloves",
            "Gauze 4x4",
        ],
        "consent_text": _DEFAULT_CONSENT,
        "timeout_items": ["Margins marked", "Specimen jar labelled with two identifiers"],
        "codes": [
            {"code": "11402", "label": "Excision benign lesion, trunk/arms/legs, 1.1-2.0 cm"},
            {"code": "11602", "label": "Excision malignant lesion, trunk/arms/legs, 1.1-2.0 cm"},
        ],
        "vitals_before_after": False,
        "specimen_usual": True,
        "aftercare_en": _COMMON_WOUND_EN + "\n- No heavy lifting or stretching of the area for "
        "2 weeks.",
        "aftercare_es": _COMMON_WOUND_ES + "\n- No levante peso ni estire la zona por 2 semanas.",
    },
    {
        "key": "incision-drainage",
        "name": "Incision and drainage",
        "tray": "I&D tray",
        "sterile_tray": True,
        "supplies": [
            "Lidocaine 1%",
            "Scalpel no. 11",
            "Packing strip 1/4 in",
            "Culture swab",
            "Gauze 4x4",
            "Absorbent dressing",
        ],
        "consent_text": _DEFAULT_CONSENT,
        "timeout_items": [],
        "codes": [
            {"code": "10060", "label": "I&D of abscess, simple or single"},
            {"code": "10061", "label": "I&D of abscess, complicated or multiple"},
        ],
        "vitals_before_after": False,
        "specimen_usual": False,
        "aftercare_en": "Leave the packing in place until your return visit unless told "
        "otherwise.\n- Change the outer dressing when it is soaked.\n- Warm, moist compresses "
        "15 minutes 3 times a day help the drainage.\n- Take every dose of any antibiotic "
        "prescribed.",
        "aftercare_es": "Deje el relleno (gasa) en la herida hasta su próxima cita salvo otra "
        "indicación.\n- Cambie el vendaje de afuera cuando esté mojado.\n- Compresas tibias y "
        "húmedas por 15 minutos 3 veces al día ayudan al drenaje.\n- Tome todas las dosis del "
        "antibiótico recetado.",
    },
    {
        "key": "joint-injection",
        "name": "Joint injection",
        "tray": "",
        "sterile_tray": False,
        "supplies": [
            "Corticosteroid (e.g. triamcinolone 40 mg/mL)",
            "Lidocaine 1%",
            "5 mL syringe",
            "22 G 1.5 in needle",
            "Chlorhexidine prep",
            "Adhesive bandage",
        ],
        "consent_text": _DEFAULT_CONSENT,
        "timeout_items": ["Medication and dose read back"],
        "codes": [
            {"code": "20610", "label": "Injection/aspiration, major joint"},
            {"code": "20605", "label": "Injection/aspiration, intermediate joint"},
            {"code": "J3301", "label": "Triamcinolone acetonide, per 10 mg"},
        ],
        "vitals_before_after": False,
        "specimen_usual": False,
        "aftercare_en": "Rest the joint for 24 to 48 hours; normal daily activity is fine.\n- "
        "Ice for 15 minutes at a time helps soreness.\n- A flare of pain in the first 1 to 2 days "
        "is common.\n- If you have diabetes, check your blood sugar more often for 3 days: it "
        "can run high.",
        "aftercare_es": "Descanse la articulación por 24 a 48 horas; la actividad diaria normal "
        "está bien.\n- Hielo por 15 minutos a la vez ayuda con el dolor.\n- Es común un aumento "
        "del dolor en los primeros 1 a 2 días.\n- Si tiene diabetes, mida su azúcar más seguido "
        "por 3 días: puede subir.",
    },
    {
        "key": "wart-destruction",
        "name": "Wart destruction (cryotherapy)",
        "tray": "",
        "sterile_tray": False,
        "supplies": ["Liquid nitrogen", "Cotton-tipped applicators", "Adhesive bandage"],
        "consent_text": _DEFAULT_CONSENT,
        "timeout_items": ["Number of lesions counted"],
        "codes": [
            {"code": "17110", "label": "Destruction of benign lesions, up to 14"},
            {"code": "17111", "label": "Destruction of benign lesions, 15 or more"},
        ],
        "vitals_before_after": False,
        "specimen_usual": False,
        "aftercare_en": "A blister may form in a day or two: leave it alone and cover it with a "
        "bandage if it rubs.\n- The treated skin darkens and falls off in 1 to 2 weeks.\n- More "
        "than one treatment is often needed, 2 to 3 weeks apart.",
        "aftercare_es": "Puede salir una ampolla en uno o dos días: no la reviente y cúbrala con "
        "una venda si roza.\n- La piel tratada se oscurece y se cae en 1 a 2 semanas.\n- A menudo "
        "se necesita más de un tratamiento, cada 2 a 3 semanas.",
    },
    {
        "key": "iud-insertion",
        "name": "IUD insertion",
        "tray": "IUD insertion tray",
        "sterile_tray": True,
        "supplies": [
            "IUD (device and lot)",
            "Speculum",
            "Povidone-iodine swabs",
            "Sterile gloves",
            "Panty liner",
        ],
        "consent_text": _DEFAULT_CONSENT,
        "timeout_items": ["Pregnancy test negative", "Device, lot and expiry checked"],
        "codes": [
            {"code": "58300", "label": "IUD insertion"},
            {"code": "81025", "label": "Urine pregnancy test"},
        ],
        "vitals_before_after": True,
        "specimen_usual": False,
        "aftercare_en": "Cramping and spotting for a few days are common; ibuprofen helps.\n- "
        "Check for the strings after each period for the first few months.\n- Use a back-up "
        "method (condoms) for 7 days unless your provider says otherwise.",
        "aftercare_es": "Es común tener cólicos y manchado por unos días; el ibuprofeno ayuda.\n"
        "- Revise los hilos después de cada regla durante los primeros meses.\n- Use otro método "
        "(condón) por 7 días salvo otra indicación de su proveedor.",
    },
    {
        "key": "ear-lavage",
        "name": "Ear lavage (cerumen removal)",
        "tray": "",
        "sterile_tray": False,
        "supplies": ["Irrigation syringe or system", "Warm water", "Basin", "Towel"],
        "consent_text": "I agree to having wax washed out of my ear. Dizziness, discomfort or, "
        "rarely, an ear drum injury can happen.",
        "timeout_items": ["No ear drum perforation or ear surgery history"],
        "codes": [
            {"code": "69209", "label": "Cerumen removal by irrigation, one ear"},
            {"code": "69210", "label": "Impacted cerumen removal with instruments, one ear"},
        ],
        "vitals_before_after": False,
        "specimen_usual": False,
        "aftercare_en": "Mild dizziness or a full feeling should pass within an hour.\n- Do not "
        "put cotton swabs in the ear canal.\n- Call if you have ear pain, discharge or "
        "hearing loss.",
        "aftercare_es": "El mareo leve o la sensación de oído tapado deben pasar en una hora.\n"
        "- No meta hisopos de algodón en el oído.\n- Llame si tiene dolor de oído, secreción o "
        "pérdida de audición.",
    },
    {
        "key": "nebulizer",
        "name": "Nebulizer treatment",
        "tray": "",
        "sterile_tray": False,
        "supplies": ["Nebulizer kit with mask or mouthpiece", "Albuterol 2.5 mg/3 mL vial"],
        "consent_text": "I agree to a breathing treatment. A fast heartbeat or shakiness can "
        "happen for a short time.",
        "timeout_items": ["Medication and dose read back"],
        "codes": [
            {"code": "94640", "label": "Inhalation treatment (nebulizer)"},
            {"code": "J7613", "label": "Albuterol inhalation solution, per 1 mg"},
        ],
        "vitals_before_after": True,
        "specimen_usual": False,
        "aftercare_en": "Use your inhaler or nebulizer at home as your provider directed.\n- "
        "Shakiness or a fast heartbeat after the treatment passes within an hour.\n- Go to the "
        "emergency room if breathing gets hard, lips turn blue, or the medicine does not help.",
        "aftercare_es": "Use su inhalador o nebulizador en casa como le indicó su proveedor.\n- "
        "Los temblores o el corazón acelerado después del tratamiento pasan en una hora.\n- Vaya "
        "a emergencias si le cuesta respirar, los labios se ponen azules o el medicamento no "
        "ayuda.",
    },
    {
        "key": "suture-removal",
        "name": "Suture or staple removal",
        "tray": "Suture removal kit",
        "sterile_tray": True,
        "supplies": ["Adhesive skin strips", "Gauze 2x2", "Alcohol prep pads"],
        "consent_text": "I agree to having my stitches or staples removed.",
        "timeout_items": ["Number of sutures or staples counted out"],
        "codes": [
            {"code": "15853", "label": "Suture or staple removal (add-on to a visit)"},
        ],
        "vitals_before_after": False,
        "specimen_usual": False,
        "aftercare_en": "Leave the skin strips on until they fall off, about a week.\n- Protect "
        "the scar from the sun for a year (clothing or sunscreen).\n- The scar fades over "
        "months.",
        "aftercare_es": "Deje las tiras adhesivas hasta que se caigan solas, más o menos una "
        "semana.\n- Proteja la cicatriz del sol por un año (ropa o protector solar).\n- La "
        "cicatriz se aclara con los meses.",
    },
]
_TEMPLATE_FIELDS = (
    "name",
    "tray",
    "sterile_tray",
    "supplies",
    "consent_text",
    "timeout_items",
    "codes",
    "vitals_before_after",
    "specimen_usual",
    "aftercare_en",
    "aftercare_es",
)
_CODE = re.compile(r"^(\d{4}[0-9AFTU]|[A-V]\d{4})$")


def install_example_templates(*, actor: Actor) -> list[ProcedureTemplate]:
    """Add the ten example templates the organization does not have yet (by key); a template
    the clinic already has, edited or not, is left alone. Returns the ones added."""
    have = set(ProcedureTemplate.objects.for_org(actor.organization).values_list("key", flat=True))
    missing = [spec for spec in EXAMPLE_TEMPLATES if spec["key"] not in have]
    if not missing:
        return []
    with transaction.atomic():
        added = ProcedureTemplate.objects.bulk_create(
            [
                ProcedureTemplate(organization=actor.organization, created_by=actor.user, **spec)
                for spec in missing
            ]
        )
        audit.record_for_actor(
            actor,
            action=Action.CREATE,
            resource_type="ProcedureTemplate",
            detail={"installed": [spec["key"] for spec in missing]},
        )
    return added


def _lines(value: list[str] | str) -> list[str]:
    items = value.splitlines() if isinstance(value, str) else value
    return [_text(item, 200) for item in items if item and item.strip()]


def parse_codes(text: str) -> list[dict[str, str]]:
    """Lines of "CODE label" -> [{"code", "label"}]; raises ValueError naming a bad line."""
    codes = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        code, _, label = line.strip().partition(" ")
        code = code.upper().rstrip(":")
        if not _CODE.match(code):
            raise ValueError(
                f"line {number}: {code} is not a CPT (5 digits) or HCPCS (a letter, 4 digits) code"
            )
        codes.append({"code": code, "label": _text(label.lstrip("-: "), 80)})
    return codes


def update_template(
    *, actor: Actor, template: ProcedureTemplate, changes: dict[str, Any]
) -> ProcedureTemplate:
    """The clinic edits a template: any of the fields in `_TEMPLATE_FIELDS` and `is_active`.
    Lists may be given as lists or as text, one item per line."""
    actor.check_owns(template, "procedure template")
    errors = FieldErrors()
    values: dict[str, Any] = {}
    for field, value in changes.items():
        if field not in (*_TEMPLATE_FIELDS, "is_active"):
            errors.add(field, "cannot be changed here")
        elif field in ("supplies", "timeout_items"):
            values[field] = _lines(value)
        elif field == "codes":
            if isinstance(value, str):
                try:
                    value = parse_codes(value)
                except ValueError as exc:
                    errors.add("codes", str(exc))
                    continue
            values[field] = value
        elif field in ("sterile_tray", "vitals_before_after", "specimen_usual", "is_active"):
            values[field] = bool(value)
        elif field in ("consent_text", "aftercare_en", "aftercare_es"):
            values[field] = (value or "").strip()
        else:
            values[field] = _text(value, 100)
    if "name" in values and not values["name"]:
        errors.add("name", "name the procedure")
    if values.get("sterile_tray", template.sterile_tray) and not values.get("tray", template.tray):
        errors.add("tray", "name the instrument set to open (or untick 'sterile tray')")
    if "consent_text" in values and not values["consent_text"]:
        errors.add("consent_text", "the consent text is what the patient signs: write it")
    errors.raise_if_any()
    changed = {k: v for k, v in values.items() if getattr(template, k) != v}
    if not changed:
        return template
    with transaction.atomic():
        for key, value in changed.items():
            setattr(template, key, value)
        template.save(update_fields=[*changed, "updated_at"])
        _audit(actor, Action.UPDATE, template, None, {"changed": sorted(changed)})
    return template


# --- a procedure ---------------------------------------------------------------------------------


def _check_open(procedure: Procedure, errors: FieldErrors, *allowed: str) -> None:
    if procedure.status not in (allowed or OPEN_STATUSES):
        errors.add(
            "status",
            f"this procedure is {procedure.get_status_display().lower()}: "
            "that step is not possible now",
        )


def _save(procedure: Procedure, **fields: Any) -> None:
    now = clock.now()
    for key, value in fields.items():
        setattr(procedure, key, value)
    procedure.updated_at = now
    Procedure.objects.filter(pk=procedure.pk).update(**fields, updated_at=now)


def create_procedure(
    *,
    actor: Actor,
    encounter: Encounter,
    template: ProcedureTemplate,
    site: str,
    side: str,
    performed_by: Provider | None = None,
) -> Procedure:
    """Plan a procedure for the visit from one of the clinic's templates."""
    actor.check_owns(encounter, "encounter")
    actor.check_owns(template, "procedure template")
    if performed_by is not None:
        actor.check_owns(performed_by, "provider")
    errors = FieldErrors()
    if encounter.status != Encounter.Status.IN_PROGRESS:
        errors.add("encounter", "this visit is closed")
    if not template.is_active:
        errors.add("template", f"{template.name} is no longer used by the clinic")
    site = _text(site, 100)
    if not site:
        errors.add("site", "say where on the body (e.g. left forearm, volar)")
    if side not in Procedure.Side.values:
        errors.add("side", f"choose one of {', '.join(Procedure.Side.labels)}")
    if performed_by is not None and not performed_by.is_active:
        errors.add("performed_by", f"{performed_by.display_name} is no longer active")
    errors.raise_if_any()
    with transaction.atomic():
        procedure = Procedure.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            patient_id=encounter.patient_id,
            encounter=encounter,
            template=template,
            name=template.name,
            site=site,
            side=side,
            performed_by=performed_by or encounter.provider,
        )
        _audit(
            actor,
            Action.CREATE,
            procedure,
            encounter.patient_id,
            {"template": template.key, "site": site, "side": side},
        )
    return procedure


def set_up(
    *,
    actor: Actor,
    procedure: Procedure,
    performed_by: Provider,
    room: Resource | None = None,
    instrument_set: InstrumentSet | None = None,
    assistants: list[User] | None = None,
) -> Procedure:
    """Room and tray ready: the provider, the assistants, and the sterilized instrument set
    opened for this patient (refused when its load is recalled, quarantined or already used)."""
    from carebench.compliance import services as compliance

    actor.check_owns(procedure, "procedure")
    actor.check_owns(performed_by, "provider")
    if room is not None:
        actor.check_owns(room, "room")
    assistants = assistants or []
    for person in assistants:
        if person.organization_id != actor.organization.pk:
            raise PermissionError("assistant belongs to another organization")
    errors = FieldErrors()
    _check_open(procedure, errors, Procedure.Status.PLANNED)
    if not performed_by.is_active:
        errors.add("performed_by", f"{performed_by.display_name} is no longer active")
    template = procedure.template
    if instrument_set is None and template.sterile_tray:
        errors.add("instrument_set", f"scan the {template.tray or 'instrument set'} to open")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        tray: dict[str, Any] = {}
        if instrument_set is not None:
            use = compliance.record_set_use(
                actor=actor,
                instrument_set=instrument_set,
                patient=procedure.patient,
                encounter=procedure.encounter,
                used_at=now,
            )
            cycle = use.cycle
            tray = {
                "tray_use_id": use.pk,
                "tray_label": f"{instrument_set.name} ({instrument_set.barcode})"[:160],
                "tray_load": f"{cycle.autoclave.name}, cycle {cycle.cycle_number}"[:160],
            }
        _save(
            procedure,
            status=Procedure.Status.PREPARED,
            performed_by=performed_by,
            room=room,
            prepared_at=now,
            prepared_by=_user(actor),
            **tray,
        )
        procedure.assistants.set(assistants)
        _audit(
            actor,
            Action.UPDATE,
            procedure,
            procedure.patient_id,
            {
                "step": "prepared",
                "tray": tray.get("tray_label"),
                "load": tray.get("tray_load"),
                "room": room.name if room is not None else None,
                "assistants": [a.pk for a in assistants],
            },
        )
    return procedure


# --- consent --------------------------------------------------------------------------------------


def decode_data_url(value: str) -> bytes:
    """The bytes of a `data:image/png;base64,...` URL (what a canvas's toDataURL gives);
    ValueError in words when it is not one."""
    prefix = "data:image/png;base64,"
    if not value.startswith(prefix):
        raise ValueError("the signature did not come through as a PNG image: sign again")
    body = value[len(prefix) :]
    if len(body) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
        raise ValueError("the signature image is too large")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the signature image is damaged: sign again") from None


def _image(data: bytes, kinds: tuple[str, ...]) -> tuple[str, Any] | None:
    """(content type, opened image) when `data` is really one of `kinds` (png, jpeg)."""
    from PIL import Image, UnidentifiedImageError

    magic = {"png": PNG_MAGIC, "jpeg": JPEG_MAGIC}
    kind = next((k for k in kinds if data.startswith(magic[k])), None)
    if kind is None:
        return None
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        if (image.format or "").lower() != kind:
            return None
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return f"image/{kind}", image


def check_signature_png(data: bytes) -> list[str]:
    """What is wrong with a drawn signature (empty list: it is a real, non-blank PNG)."""
    if not data:
        return ["sign in the box"]
    if len(data) > MAX_SIGNATURE_BYTES:
        return [f"the signature image is over {MAX_SIGNATURE_BYTES // 1024} KB"]
    opened = _image(data, ("png",))
    if opened is None:
        return ["the signature must be a PNG image"]
    image = opened[1]
    if not (50 <= image.width <= 4000 and 20 <= image.height <= 2000):
        return ["the signature image has an impossible size"]
    if "A" in image.getbands():
        ink = image.getchannel("A").getbbox()
    else:
        ink = image.convert("L").point(lambda v: 255 if v < 200 else 0).getbbox()
    if ink is None:
        return ["the signature box is empty: ask the signer to sign"]
    return []


def _scan_type(data: bytes) -> str | None:
    if data.startswith(PDF_MAGIC):
        return "application/pdf" if b"%%EOF" in data[-2048:] else None
    opened = _image(data, ("png", "jpeg"))
    return opened[0] if opened is not None else None


def record_consent(
    *,
    actor: Actor,
    procedure: Procedure,
    method: str,
    signer_name: str,
    relationship: str,
    image: bytes,
    signed_at: datetime | None = None,
) -> ProcedureConsent:
    """The consent signed: drawn on screen (`image` is the PNG) or on paper (`image` is the
    scan: PDF, PNG or JPEG, checked by content). The signed-in user is the witness; the text
    signed is kept as it was."""
    user = _user(actor)
    actor.check_owns(procedure, "procedure")
    errors = FieldErrors()
    _check_open(procedure, errors, Procedure.Status.PLANNED, Procedure.Status.PREPARED)
    signer_name = _text(signer_name, 120)
    if not signer_name:
        errors.add("signer_name", "who signed? (full name)")
    if relationship not in ProcedureConsent.Relationship.values:
        errors.add("relationship", "choose the signer's relationship to the patient")
    content_type = ""
    if method == ProcedureConsent.Method.DRAWN:
        for message in check_signature_png(image):
            errors.add("signature", message)
        content_type = "image/png"
    elif method == ProcedureConsent.Method.PAPER:
        if not image:
            errors.add("scan", "attach the scanned consent (PDF, PNG or JPEG)")
        elif len(image) > MAX_SCAN_BYTES:
            errors.add("scan", f"the scan is over {MAX_SCAN_BYTES // (1024 * 1024)} MB")
        else:
            content_type = _scan_type(image) or ""
            if not content_type:
                errors.add("scan", "the file is not a PDF, PNG or JPEG (checked by its content)")
    else:
        errors.add("method", "signed on screen or on paper?")
    now = clock.now()
    signed_at = signed_at or now
    if signed_at > now + FUTURE_SLACK:
        errors.add("signed_at", "cannot be in the future")
    consent_text = procedure.template.consent_text.strip()
    if not consent_text:
        errors.add("consent_text", "the template has no consent text: a manager must add it")
    errors.raise_if_any()
    with transaction.atomic():
        consent = ProcedureConsent.objects.create(
            organization=actor.organization,
            created_by=user,
            procedure=procedure,
            method=method,
            signer_name=signer_name,
            relationship=relationship,
            signed_at=signed_at,
            witness=user,
            consent_text=consent_text,
            image=image,
            image_type=content_type,
        )
        _audit(
            actor,
            Action.CREATE,
            consent,
            procedure.patient_id,
            {
                "procedure": procedure.pk,
                "method": method,
                "relationship": relationship,
                "bytes": len(image),
            },
        )
    return consent


# --- time-out, start ------------------------------------------------------------------------------


def timeout_checklist(procedure: Procedure) -> list[tuple[str, str]]:
    """(key, label) of every check the time-out must confirm: the four universal ones, then
    the template's own (keyed extra-1, extra-2, ...)."""
    items = list(TIMEOUT_CHECKS.items())
    items += [(f"extra-{n}", label) for n, label in enumerate(procedure.template.timeout_items, 1)]
    return items


def complete_timeout(*, actor: Actor, procedure: Procedure, confirmed: list[str]) -> Procedure:
    """The team stops and confirms patient, site and side, procedure, allergies and the
    template's own checks. Needs the room set up and the consent signed."""
    user = _user(actor)
    actor.check_owns(procedure, "procedure")
    errors = FieldErrors()
    if procedure.status == Procedure.Status.PLANNED:
        errors.add("status", "set up the room and tray first")
    else:
        _check_open(procedure, errors, Procedure.Status.PREPARED)
    if not procedure.consents.exists():
        errors.add("consent", "the consent must be signed before the time-out")
    items = timeout_checklist(procedure)
    missing = [label for key, label in items if key not in confirmed]
    if missing:
        errors.add("confirmed", f"not confirmed: {'; '.join(missing)}")
    errors.raise_if_any()
    now = clock.now()
    with transaction.atomic():
        _save(
            procedure,
            status=Procedure.Status.TIMED_OUT,
            timeout_at=now,
            timeout_by=user,
            timeout_checks=[label for _, label in items],
        )
        _audit(
            actor,
            Action.UPDATE,
            procedure,
            procedure.patient_id,
            {"step": "timed_out", "checks": len(items)},
        )
    return procedure


def start_procedure(*, actor: Actor, procedure: Procedure) -> Procedure:
    """The procedure starts: only after the consent and the time-out."""
    actor.check_owns(procedure, "procedure")
    errors = FieldErrors()
    if not procedure.consents.exists():
        errors.add("consent", "the consent must be signed before the procedure starts")
    if procedure.timeout_at is None:
        errors.add("timeout", "do the time-out before the procedure starts")
    if procedure.status != Procedure.Status.TIMED_OUT and "timeout" not in errors.errors:
        _check_open(procedure, errors, Procedure.Status.TIMED_OUT)
    errors.raise_if_any()
    with transaction.atomic():
        _save(procedure, status=Procedure.Status.IN_PROGRESS, started_at=clock.now())
        _audit(actor, Action.UPDATE, procedure, procedure.patient_id, {"step": "in_progress"})
    return procedure


# --- during ---------------------------------------------------------------------------------------


def record_anaesthetic(
    *,
    actor: Actor,
    procedure: Procedure,
    name: str,
    lot_number: str,
    expires_on: date | None,
    amount: str,
) -> Procedure:
    """The local anaesthetic drawn up: name, lot, expiry and amount. An expired lot is refused."""
    actor.check_owns(procedure, "procedure")
    errors = FieldErrors()
    _check_open(
        procedure,
        errors,
        Procedure.Status.PREPARED,
        Procedure.Status.TIMED_OUT,
        Procedure.Status.IN_PROGRESS,
    )
    name, lot_number, amount = _text(name, 100), _text(lot_number, 40), _text(amount, 40)
    if not name:
        errors.add("anaesthetic_name", "name the anaesthetic (e.g. lidocaine 1%)")
    if not lot_number:
        errors.add("anaesthetic_lot", "give the lot number on the vial")
    if expires_on is None:
        errors.add("anaesthetic_expires_on", "give the expiry date on the vial")
    elif expires_on < clock.today():
        errors.add(
            "anaesthetic_expires_on",
            f"lot {lot_number} expired on {expires_on:%m/%d/%Y}: do not use it; take another vial",
        )
    if not amount:
        errors.add("anaesthetic_amount", "how much was drawn up? (e.g. 3 mL)")
    errors.raise_if_any()
    with transaction.atomic():
        _save(
            procedure,
            anaesthetic_name=name,
            anaesthetic_lot=lot_number,
            anaesthetic_expires_on=expires_on,
            anaesthetic_amount=amount,
        )
        _audit(
            actor,
            Action.UPDATE,
            procedure,
            procedure.patient_id,
            {"anaesthetic": name, "lot": lot_number, "amount": amount},
        )
    return procedure


def add_supply(*, actor: Actor, procedure: Procedure, name: str, quantity: int) -> ProcedureSupply:
    """A supply used and counted."""
    user = _user(actor)
    actor.check_owns(procedure, "procedure")
    errors = FieldErrors()
    _check_open(procedure, errors)
    name = _text(name, 100)
    if not name:
        errors.add("supply_name", "name the supply")
    if quantity is None or not 1 <= quantity <= MAX_SUPPLY_QUANTITY:
        errors.add("quantity", f"the count is 1 to {MAX_SUPPLY_QUANTITY}")
    errors.raise_if_any()
    with transaction.atomic():
        row = ProcedureSupply.objects.create(
            organization=actor.organization,
            created_by=user,
            procedure=procedure,
            name=name,
            quantity=quantity,
            recorded_by=user,
        )
        _audit(
            actor,
            Action.CREATE,
            row,
            procedure.patient_id,
            {"procedure": procedure.pk, "supply": name, "quantity": quantity},
        )
    return row


def _pathology_test(actor: Actor) -> Any:
    """The organization's surgical pathology test, added to its catalog if missing."""
    from carebench.labs import services as labs
    from carebench.labs.models import LabTest

    test = LabTest.objects.for_org(actor.organization).filter(code=PATHOLOGY_CODE).first()
    if test is None or not test.is_active:
        labs.load_catalog_csv(actor=actor, text=PATHOLOGY_CATALOG_ROW)
        test = LabTest.objects.for_org(actor.organization).get(code=PATHOLOGY_CODE)
    return test


def send_specimen(
    *,
    actor: Actor,
    procedure: Procedure,
    description: str,
    diagnosis_codes: list[str],
) -> ProcedureSpecimen:
    """Tissue to pathology: a surgical pathology order by the performing provider (entered by
    the MAT as a verbal order the provider co-signs), its specimen labelled and collected at the
    procedure's site, so it joins the lab's specimen tracking and the courier manifest."""
    from carebench.labs import services as labs
    from carebench.labs.models import LabOrder

    user = _user(actor)
    actor.check_owns(procedure, "procedure")
    errors = FieldErrors()
    _check_open(procedure, errors, Procedure.Status.IN_PROGRESS, Procedure.Status.COMPLETED)
    description = _text(description, 200)
    if not description:
        errors.add("description", "describe the specimen (e.g. punch biopsy, 4 mm)")
    provider = procedure.performed_by
    if provider is None:
        errors.add("performed_by", "say who performed the procedure first")
    errors.raise_if_any()
    assert provider is not None
    basis = LabOrder.Basis.PROVIDER if provider.user_id == user.pk else LabOrder.Basis.VERBAL
    site = f"{procedure.site} ({procedure.get_side_display().lower()})"
    with transaction.atomic():
        test = _pathology_test(actor)
        order = labs.place_order(
            actor=actor,
            patient=procedure.patient,
            provider=provider,
            tests=[test],
            basis=basis,
            diagnosis_codes=diagnosis_codes,
            encounter=procedure.encounter,
            note=f"{procedure.name}: {description}; site {site}"[:300],
        )
        specimen = labs.create_specimens(actor=actor, order=order)[0]
        specimen = labs.collect_specimen(actor=actor, specimen=specimen, site=site[:60])
        row = ProcedureSpecimen.objects.create(
            organization=actor.organization,
            created_by=user,
            procedure=procedure,
            description=description,
            lab_order=order,
            specimen=specimen,
        )
        _audit(
            actor,
            Action.CREATE,
            row,
            procedure.patient_id,
            {"procedure": procedure.pk, "order": order.number, "accession": specimen.accession},
        )
    return row


def record_procedure_vitals(
    *, actor: Actor, procedure: Procedure, phase: str, entry: rules.VitalsEntry
) -> Procedure:
    """Vital signs before (until it starts) or after (once it is under way) the procedure,
    stored as the visit's vital signs and linked here."""
    actor.check_owns(procedure, "procedure")
    errors = FieldErrors()
    _check_open(procedure, errors)
    if phase not in ("before", "after"):
        errors.add("phase", "before or after the procedure?")
    elif phase == "after" and procedure.status != Procedure.Status.IN_PROGRESS:
        errors.add("phase", "vital signs after the procedure are taken once it has started")
    elif phase == "before" and procedure.status == Procedure.Status.IN_PROGRESS:
        errors.add("phase", "the procedure has started: these are vital signs after it")
    errors.raise_if_any()
    with transaction.atomic():
        vital_set = encounter_services.record_vitals(
            actor=actor,
            patient=procedure.patient,
            entry=entry,
            encounter=procedure.encounter,
            note=f"{phase} {procedure.name.lower()}",
        )
        _save(procedure, **{f"vitals_{phase}": vital_set})
        _audit(
            actor,
            Action.UPDATE,
            procedure,
            procedure.patient_id,
            {f"vitals_{phase}": vital_set.pk},
        )
    return procedure


def complete_procedure(
    *, actor: Actor, procedure: Procedure, complications: str, note: str = ""
) -> Procedure:
    """Done: complications said ("none" or what happened); vitals before and after when the
    template asks for them."""
    user = _user(actor)
    actor.check_owns(procedure, "procedure")
    errors = FieldErrors()
    if procedure.status in (Procedure.Status.PLANNED, Procedure.Status.PREPARED):
        errors.add("status", "the procedure has not started (consent and time-out first)")
    else:
        _check_open(procedure, errors, Procedure.Status.IN_PROGRESS)
    complications = _text(complications, 500)
    if not complications:
        errors.add("complications", "say 'none' or describe what happened")
    if procedure.template.vitals_before_after:
        if procedure.vitals_before_id is None:
            errors.add("vitals_before", "this procedure needs vital signs taken before it")
        if procedure.vitals_after_id is None:
            errors.add("vitals_after", "this procedure needs vital signs taken after it")
    errors.raise_if_any()
    with transaction.atomic():
        _save(
            procedure,
            status=Procedure.Status.COMPLETED,
            completed_at=clock.now(),
            completed_by=user,
            complications=complications,
            note=note.strip(),
        )
        _audit(
            actor,
            Action.UPDATE,
            procedure,
            procedure.patient_id,
            {"step": "completed", "complications": complications},
        )
    return procedure


def abandon_procedure(*, actor: Actor, procedure: Procedure, reason: str) -> Procedure:
    """Stopped before it was done (patient declined, felt faint, wrong tray ...), with why."""
    actor.check_owns(procedure, "procedure")
    errors = FieldErrors()
    _check_open(procedure, errors)
    reason = _text(reason, 300)
    if not reason:
        errors.add("reason", "say why the procedure was stopped")
    errors.raise_if_any()
    with transaction.atomic():
        before = procedure.status
        _save(
            procedure,
            status=Procedure.Status.ABANDONED,
            abandoned_at=clock.now(),
            abandon_reason=reason,
        )
        _audit(
            actor,
            Action.UPDATE,
            procedure,
            procedure.patient_id,
            {"step": "abandoned", "from": before, "reason": reason},
        )
    return procedure


# --- wound care -----------------------------------------------------------------------------------


def add_wound(
    *,
    actor: Actor,
    patient: Patient,
    location: str,
    kind: str,
    stage: str = "",
    onset_on: date | None = None,
) -> Wound:
    actor.check_owns(patient, "patient")
    errors = FieldErrors()
    location = _text(location, 120)
    if not location:
        errors.add("location", "where is the wound? (e.g. sacrum, left heel)")
    if kind not in Wound.Kind.values:
        errors.add("kind", f"choose one of {', '.join(Wound.Kind.labels)}")
    if kind == Wound.Kind.PRESSURE:
        if stage not in Wound.Stage.values:
            errors.add("stage", "a pressure injury needs its stage (1-4, unstageable or DTI)")
    elif stage:
        errors.add("stage", "only pressure injuries are staged")
    if onset_on is not None and onset_on > clock.today():
        errors.add("onset_on", "cannot be in the future")
    errors.raise_if_any()
    with transaction.atomic():
        wound = Wound.objects.create(
            organization=actor.organization,
            created_by=actor.user,
            patient=patient,
            location=location,
            kind=kind,
            stage=stage,
            onset_on=onset_on,
        )
        _audit(actor, Action.CREATE, wound, patient.pk, {"kind": kind, "stage": stage or None})
    return wound


def wound_area(length: Decimal | None, width: Decimal | None) -> Decimal | None:
    """Length × width in cm² (the usual bedside estimate), 2 decimals."""
    if length is None or width is None:
        return None
    return (length * width).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def photo_type(data: bytes) -> str | None:
    """image/jpeg or image/png when the bytes really are one (checked by content)."""
    opened = _image(data, ("jpeg", "png"))
    return opened[0] if opened is not None else None


def record_wound_assessment(
    *,
    actor: Actor,
    wound: Wound,
    length_cm: Decimal | None = None,
    width_cm: Decimal | None = None,
    depth_cm: Decimal | None = None,
    exudate: str = "",
    tissue: str = "",
    dressing: str = "",
    note: str = "",
    photo: bytes | None = None,
    encounter: Encounter | None = None,
    assessed_at: datetime | None = None,
) -> WoundAssessment:
    """Measurements (cm), what the wound looks like, the dressing applied, and a photograph.
    Impossible values are refused (negative, over 100 cm, a depth without length and width);
    a large or deep wound is accepted."""
    user = _user(actor)
    actor.check_owns(wound, "wound")
    if encounter is not None:
        actor.check_owns(encounter, "encounter")
    errors = FieldErrors()
    if wound.is_voided:
        errors.add("wound", "this wound was entered in error")
    elif wound.status == Wound.Status.HEALED:
        errors.add("wound", "this wound is healed: reopen it or add a new one")
    if encounter is not None and encounter.patient_id != wound.patient_id:
        errors.add("encounter", "that visit is another patient's")
    for field, value in (("length_cm", length_cm), ("width_cm", width_cm), ("depth_cm", depth_cm)):
        if value is None:
            continue
        if not value.is_finite() or value < 0:
            errors.add(field, "cannot be negative")
        elif value > MAX_WOUND_CM:
            errors.add(field, f"over {MAX_WOUND_CM} cm is not possible: check the units")
    if (length_cm is None) != (width_cm is None):
        errors.add("width_cm" if width_cm is None else "length_cm", "give both length and width")
    if depth_cm is not None and (length_cm is None or width_cm is None):
        errors.add("depth_cm", "a depth needs the length and width too")
    if exudate and exudate not in WoundAssessment.Exudate.values:
        errors.add("exudate", f"choose one of {', '.join(WoundAssessment.Exudate.labels)}")
    kind = ""
    if photo:
        if len(photo) > MAX_PHOTO_BYTES:
            errors.add("photo", f"the photo is over {MAX_PHOTO_BYTES // (1024 * 1024)} MB")
        else:
            kind = photo_type(photo) or ""
            if not kind:
                errors.add("photo", "the photo must be a JPEG or PNG image (checked by content)")
    if length_cm is None and not (tissue.strip() or dressing.strip() or photo or note.strip()):
        errors.add("__all__", "enter measurements, the wound bed, the dressing or a photo")
    now = clock.now()
    assessed_at = assessed_at or now
    if assessed_at > now + FUTURE_SLACK:
        errors.add("assessed_at", "cannot be in the future")
    errors.raise_if_any()
    with transaction.atomic():
        row = WoundAssessment.objects.create(
            organization=actor.organization,
            created_by=user,
            wound=wound,
            patient_id=wound.patient_id,
            encounter=encounter,
            assessed_at=assessed_at,
            assessed_by=user,
            length_cm=length_cm,
            width_cm=width_cm,
            depth_cm=depth_cm,
            area_cm2=wound_area(length_cm, width_cm),
            exudate=exudate,
            tissue=_text(tissue, 200),
            dressing=_text(dressing, 200),
            note=_text(note, 500),
            photo=photo or None,
            photo_type=kind,
        )
        _audit(
            actor,
            Action.CREATE,
            row,
            wound.patient_id,
            {
                "wound": wound.pk,
                "area_cm2": str(row.area_cm2) if row.area_cm2 is not None else None,
                "photo": kind or None,
            },
        )
    return row


def set_wound_status(*, actor: Actor, wound: Wound, status: str, on: date | None = None) -> Wound:
    """Healed (on a date) or open again."""
    actor.check_owns(wound, "wound")
    errors = FieldErrors()
    if status not in Wound.Status.values:
        errors.add("status", "open or healed?")
    on = on or clock.today()
    if on > clock.today():
        errors.add("healed_on", "cannot be in the future")
    errors.raise_if_any()
    healed_on = on if status == Wound.Status.HEALED else None
    with transaction.atomic():
        Wound.objects.filter(pk=wound.pk).update(
            status=status, healed_on=healed_on, updated_at=clock.now()
        )
        wound.status, wound.healed_on = status, healed_on
        _audit(actor, Action.UPDATE, wound, wound.patient_id, {"status": status})
    return wound
