"""Roles are groups; this table says which permissions each role carries.

The groups are created (and kept in step with this table) after every migrate.
A medical assistant may correct what they add: they hold `change_*` as well as `add_*`.
"""

from __future__ import annotations

from importlib import import_module

ROLE_LABELS: dict[str, str] = {
    "mat": "Medical assistant (MAT)",
    "frontdesk": "Front desk",
    "provider": "Provider",
    "biller": "Biller",
    "manager": "Clinic manager",
    "medtech": "Medication technician",
    "nurse": "Nurse (RN/LPN): med-pass supervisor",
    "admin": "Administrator",
}

_CLINICAL = ["allergy", "medicationstatement", "problem", "historyentry"]


def _crud(model: str, *verbs: str) -> list[str]:
    return [f"patients.{verb}_{model}" for verb in verbs]


def _clinical(*verbs: str) -> list[str]:
    return [perm for model in _CLINICAL for perm in _crud(model, *verbs)]


PATIENT_READ = _crud("patient", "view") + _crud("coverage", "view") + _clinical("view")


def _app(app: str, model: str, *verbs: str) -> list[str]:
    return [f"{app}.{verb}_{model}" for verb in verbs]


SCHEDULE_READ = (
    _app("scheduling", "appointment", "view")
    + _app("scheduling", "provider", "view")
    + _app("scheduling", "resource", "view")
    + _app("scheduling", "appointmenttype", "view")
    + _app("scheduling", "availabilityrule", "view")
)
SCHEDULE_BOOK = _app("scheduling", "appointment", "add", "change")
SCHEDULE_SETUP = (
    _app("scheduling", "provider", "add", "change")
    + _app("scheduling", "resource", "add", "change")
    + _app("scheduling", "appointmenttype", "add", "change")
    + _app("scheduling", "availabilityrule", "add", "change")
)
ROOM_STATUS = _app("scheduling", "resource", "change")
ENCOUNTER_READ = (
    _app("encounters", "encounter", "view")
    + _app("encounters", "vitalsigns", "view")
    + _app("encounters", "observation", "view")
    + _app("encounters", "roomingitem", "view")
    + _app("encounters", "alert", "view")
)
EKG_READ = _app("ekg", "ekgrecording", "view")
EKG_ATTACH = _app("ekg", "ekgrecording", "add", "void")
EKG_SIGN = _app("ekg", "ekgrecording", "change", "sign")

LAB_READ = (
    _app("labs", "labtest", "view")
    + _app("labs", "laborder", "view")
    + _app("labs", "specimen", "view")
    + _app("labs", "manifest", "view")
)
LAB_ENTER = _app("labs", "laborder", "add")  # under a standing or verbal order
LAB_SIGN = _app("labs", "laborder", "sign")  # order as the provider; co-sign
LAB_COLLECT = _app("labs", "specimen", "add", "change") + _app("labs", "manifest", "add", "change")
LAB_CATALOG = _app("labs", "labtest", "add", "change")
LAB_RESULTS = _app("labs", "labresult", "view") + _app("labs", "resultreview", "view")
LAB_QC_READ = (
    _app("labs", "qcrun", "view")
    + _app("labs", "pockitlot", "view")
    + _app("labs", "pocdevice", "view")
)
LAB_POC = _app("labs", "labresult", "add") + _app("labs", "qcrun", "add")  # test and run QC
LAB_POC_SETUP = _app("labs", "pockitlot", "add", "change") + _app("labs", "pocdevice", "add")

ROOMING = (
    _app("encounters", "encounter", "add", "change")
    + _app("encounters", "vitalsigns", "add", "void")
    + _app("encounters", "roomingitem", "add")
)

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "mat": PATIENT_READ
    + _crud("patient", "add", "change")
    + _clinical("add", "change", "void")
    + _crud("coverage", "add", "change")
    + SCHEDULE_READ
    + SCHEDULE_BOOK
    + ROOM_STATUS
    + ENCOUNTER_READ
    + ROOMING
    + EKG_READ
    + EKG_ATTACH
    + LAB_READ
    + LAB_ENTER
    + LAB_COLLECT
    + LAB_RESULTS
    + LAB_QC_READ
    + LAB_POC
    + LAB_POC_SETUP,
    "frontdesk": PATIENT_READ
    + _crud("patient", "add", "change")
    + _crud("coverage", "add", "change")
    + SCHEDULE_READ
    + SCHEDULE_BOOK
    + ROOM_STATUS
    + _app("encounters", "encounter", "view")
    + EKG_READ
    + LAB_READ,
    "provider": PATIENT_READ
    + _crud("patient", "change")
    + _clinical("add", "change", "void")
    + SCHEDULE_READ
    + _app("scheduling", "appointment", "change")
    + ENCOUNTER_READ
    + ROOMING
    + _app("encounters", "alert", "change")
    + EKG_READ
    + EKG_ATTACH
    + EKG_SIGN
    + LAB_READ
    + LAB_ENTER
    + LAB_SIGN
    + LAB_RESULTS
    + LAB_QC_READ
    + LAB_POC,
    "biller": PATIENT_READ
    + _crud("coverage", "add", "change", "void")
    + SCHEDULE_READ
    + _app("encounters", "encounter", "view")
    + EKG_READ
    + LAB_READ,
    "manager": PATIENT_READ
    + ["audit.view_auditevent", "accounts.view_user"]
    + SCHEDULE_READ
    + SCHEDULE_BOOK
    + SCHEDULE_SETUP
    + ENCOUNTER_READ
    + LAB_READ
    + LAB_CATALOG
    + LAB_RESULTS
    + LAB_QC_READ
    + LAB_POC_SETUP,
    "medtech": _crud("patient", "view")
    + _clinical("view")
    + _crud("medicationstatement", "add")
    + LAB_QC_READ
    + _app("labs", "qcrun", "add")  # the glucometer's daily controls
    + _app("labs", "labresult", "view"),
    "admin": PATIENT_READ
    + _crud("patient", "add", "change")
    + _clinical("add", "change", "void")
    + _crud("coverage", "add", "change", "void")
    + ["audit.view_auditevent", "accounts.view_user", "accounts.add_user", "accounts.change_user"]
    + SCHEDULE_READ
    + SCHEDULE_BOOK
    + SCHEDULE_SETUP
    + ENCOUNTER_READ
    + ROOMING
    + _app("encounters", "alert", "change")
    + EKG_READ
    + EKG_ATTACH
    + LAB_READ
    + LAB_ENTER
    + LAB_SIGN
    + LAB_COLLECT
    + LAB_CATALOG
    + LAB_RESULTS
    + LAB_QC_READ
    + LAB_POC
    + LAB_POC_SETUP,
}

# The HL7 lab interface page: the message log (read), and matching held results to an order.
LAB_INTERFACE_READ = _app("labs", "hl7message", "view")
LAB_INTERFACE_MATCH = _app("labs", "hl7message", "change")
for _role, _perms in (
    ("mat", LAB_INTERFACE_READ + LAB_INTERFACE_MATCH),
    ("provider", LAB_INTERFACE_READ),
    ("manager", LAB_INTERFACE_READ),
    ("admin", LAB_INTERFACE_READ + LAB_INTERFACE_MATCH),
):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] + _perms

ALL_ROLES = list(ROLE_LABELS)

# Injections and immunizations: reading the record and the stock; giving doses and running
# standing orders (MAT); ordering and co-signing (provider); stock set-up (manager).
MEDS_READ = (
    _app("meds", "administration", "view")
    + _app("meds", "medicationorder", "view")
    + _app("meds", "adversereaction", "view")
    + _app("meds", "registrymessage", "view")
)
MEDS_STOCK_READ = (
    _app("meds", "product", "view")
    + _app("meds", "stocklot", "view")
    + _app("meds", "stockmovement", "view")
    + _app("meds", "storageunit", "view")
    + _app("meds", "standingorder", "view")
)
MEDS_GIVE = (
    _app("meds", "administration", "add", "change")
    + _app("meds", "medicationorder", "add")
    + _app("meds", "adversereaction", "add")
)
MEDS_STOCK = _app("meds", "stocklot", "add", "change") + _app("meds", "stockmovement", "add")
MEDS_SETUP = (
    _app("meds", "product", "add", "change")
    + _app("meds", "storageunit", "add", "change")
    + _app("meds", "standingorder", "add", "change")
)
MEDS_SIGN = _app("meds", "medicationorder", "sign", "change") + _app(
    "meds", "administration", "void"
)
for _role, _perms in (
    ("mat", MEDS_READ + MEDS_STOCK_READ + MEDS_GIVE + MEDS_STOCK),
    ("provider", MEDS_READ + MEDS_STOCK_READ + MEDS_GIVE + MEDS_SIGN),
    ("frontdesk", _app("meds", "administration", "view")),
    ("biller", MEDS_READ),
    ("manager", MEDS_READ + MEDS_STOCK_READ + MEDS_STOCK + MEDS_SETUP),
    ("admin", MEDS_READ + MEDS_STOCK_READ + MEDS_GIVE + MEDS_STOCK + MEDS_SETUP + MEDS_SIGN),
):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] + _perms

# The eMAR in assisted-living and group homes: residents, their orders, the med pass, controlled
# substance counts. Only medication technicians and nurses document doses (accounts/scope.py).
EMAR_READ = (
    _app("meds", "residency", "view")
    + _app("meds", "absence", "view")
    + _app("meds", "residentorder", "view")
    + _app("meds", "doserecord", "view")
    + _app("meds", "countsheet", "view")
    + _app("meds", "shiftcount", "view")
    + _app("meds", "passtime", "view")
)
EMAR_PASS = (
    _app("meds", "doserecord", "add", "change")
    + _app("meds", "shiftcount", "add")
    + _app("meds", "refill", "add")
    + _app("meds", "absence", "add", "change")
)
EMAR_MANAGE = (
    _app("meds", "residency", "add", "change")
    + _app("meds", "residentorder", "add", "change")
    + _app("meds", "countsheet", "add")
    + _app("meds", "passtime", "add", "change")
    + _app("meds", "shiftcount", "change")  # resolve a discrepancy
)
EMAR_ASSIGN = _app("meds", "assignment", "view", "add", "change")
ROLE_PERMISSIONS["nurse"] = (
    _crud("patient", "view", "change")
    + _clinical("view", "add", "change")
    + EMAR_READ
    + EMAR_PASS
    + EMAR_MANAGE
    + _app("meds", "doserecord", "void")
)
for _role, _perms in (
    ("medtech", EMAR_READ + EMAR_PASS),
    ("provider", EMAR_READ),
    ("manager", EMAR_READ + EMAR_MANAGE + EMAR_ASSIGN),
    (
        "admin",
        EMAR_READ + EMAR_PASS + EMAR_MANAGE + EMAR_ASSIGN + _app("meds", "doserecord", "void"),
    ),
):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] + _perms

# Billing: claims, remittance, eligibility and prior authorization. The biller codes, sends
# and posts; the front desk checks eligibility at check-in; MATs and providers see the claim
# and request prior authorizations; the manager keeps the codes and fee schedules.
_BILLING_MODELS = [
    "procedurecode",
    "feeschedule",
    "billingprofile",
    "claimbatch",
    "claim",
    "claimline",
    "remittance",
    "claimpayment",
    "eligibilitycheck",
    "priorauthrule",
    "priorauth",
]
BILLING_READ = [perm for model in _BILLING_MODELS for perm in _app("billing", model, "view")]
BILLING_CODE = _app("billing", "claim", "add", "change") + _app("billing", "claimline", "add")
BILLING_SEND = ["billing.submit_claim", "billing.post_remittance"]
BILLING_SETUP = (
    _app("billing", "procedurecode", "add", "change")
    + _app("billing", "feeschedule", "add", "change")
    + _app("billing", "billingprofile", "add", "change")
    + _app("billing", "priorauthrule", "add", "change")
)
ELIGIBILITY = _app("billing", "eligibilitycheck", "view", "add")
PRIOR_AUTH = _app("billing", "priorauth", "view", "add", "change")
for _role, _perms in (
    ("biller", BILLING_READ + BILLING_CODE + BILLING_SEND + ELIGIBILITY + PRIOR_AUTH),
    ("frontdesk", ELIGIBILITY + _app("billing", "claim", "view") + PRIOR_AUTH),
    ("mat", ELIGIBILITY + PRIOR_AUTH + _app("billing", "priorauthrule", "view")),
    ("provider", _app("billing", "claim", "view", "add", "change") + PRIOR_AUTH),
    ("manager", BILLING_READ + BILLING_SETUP + ELIGIBILITY + PRIOR_AUTH),
    (
        "admin",
        BILLING_READ + BILLING_CODE + BILLING_SEND + BILLING_SETUP + ELIGIBILITY + PRIOR_AUTH,
    ),
):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] + _perms

# The staff, compliance and inbox apps keep their own part of this table in <app>/roles.py.
for _module in ("carebench.staff.roles", "carebench.compliance.roles", "carebench.inbox.roles"):
    for _role, _perms in import_module(_module).PERMISSIONS.items():
        ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] + _perms

# --- Documents and imaging/referral orders (patients app: document_*.py, referral_*.py) ---------
# Everyone who reads the chart sees its documents; MATs, the front desk (insurance cards, IDs,
# outside records) and providers file them; MATs, providers and admins void one filed in error.
# MATs and providers place imaging and referral orders; MATs, the front desk and providers track
# them (sent, scheduled, result received, cancelled); only providers review the result.
DOCUMENT_READ = _crud("document", "view")
DOCUMENT_FILE = _crud("document", "add")
DOCUMENT_VOID = _crud("document", "void")
OUTSIDE_READ = _crud("outsideorder", "view")
OUTSIDE_ORDER = _crud("outsideorder", "add")
OUTSIDE_TRACK = _crud("outsideorder", "change")
OUTSIDE_REVIEW = _crud("outsideorder", "review")
for _role, _perms in (
    ("mat", DOCUMENT_READ + DOCUMENT_FILE + DOCUMENT_VOID + OUTSIDE_READ + OUTSIDE_ORDER),
    ("mat", OUTSIDE_TRACK),
    ("frontdesk", DOCUMENT_READ + DOCUMENT_FILE + OUTSIDE_READ + OUTSIDE_TRACK),
    ("provider", DOCUMENT_READ + DOCUMENT_FILE + DOCUMENT_VOID + OUTSIDE_READ),
    ("provider", OUTSIDE_ORDER + OUTSIDE_TRACK + OUTSIDE_REVIEW),
    ("biller", DOCUMENT_READ + OUTSIDE_READ),
    ("manager", DOCUMENT_READ + OUTSIDE_READ),
    ("admin", DOCUMENT_READ + DOCUMENT_FILE + DOCUMENT_VOID + OUTSIDE_READ + OUTSIDE_TRACK),
):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] + _perms

# --- Procedures and wound care (encounters/procedure_*.py) ---------------------------------------
# MATs and providers plan and document procedures (set-up, consent, time-out, supplies,
# specimens) and wound care; nurses document wound care; managers keep the procedure templates
# (the examples are added from the templates page); administrators do all of it.
PROCEDURE_READ = (
    _app("encounters", "procedure", "view")
    + _app("encounters", "proceduretemplate", "view")
    + _app("encounters", "procedureconsent", "view")
)
PROCEDURE_DOCUMENT = _app("encounters", "procedure", "add", "change")
PROCEDURE_TEMPLATES = _app("encounters", "proceduretemplate", "add", "change")
WOUND_READ = _app("encounters", "wound", "view") + _app("encounters", "woundassessment", "view")
WOUND_DOCUMENT = _app("encounters", "wound", "add", "change") + _app(
    "encounters", "woundassessment", "add"
)
for _role, _perms in (
    ("mat", PROCEDURE_READ + PROCEDURE_DOCUMENT + WOUND_READ + WOUND_DOCUMENT),
    ("provider", PROCEDURE_READ + PROCEDURE_DOCUMENT + WOUND_READ + WOUND_DOCUMENT),
    ("nurse", WOUND_READ + WOUND_DOCUMENT),
    ("manager", PROCEDURE_READ + PROCEDURE_TEMPLATES + WOUND_READ),
    (
        "admin",
        PROCEDURE_READ + PROCEDURE_DOCUMENT + PROCEDURE_TEMPLATES + WOUND_READ + WOUND_DOCUMENT,
    ),
):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] + _perms
