"""The demo organization: Riverbend Health, its staff (one user per role) and synthetic patients.

Everything here is made up. Names come from a seeded Faker plus a few curated accented names,
phone numbers sit in the fictional 555-01xx range, e-mail addresses use example.com, and member
IDs are random. The demo passwords are deliberately short (`demo`): they are set directly with
`set_password`, past the password validators, and exist only in this demo data.

Every patient row is written through `carebench.patients.services`, so the audit chain holds a
real history. The whole build is one transaction: it is there completely or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from faker import Faker

from carebench.accounts.models import User
from carebench.accounts.services import create_user
from carebench.audit import services as audit
from carebench.audit.models import Action
from carebench.core.actor import Actor
from carebench.core.models import Facility, Organization
from carebench.patients import services as ps
from carebench.patients.models import Coverage, HistoryEntry, Patient, TobaccoStatus
from carebench.terminology.selectors import get_icd10

DEMO_ORG_SLUG = "riverbend-health"
DEMO_ORG_NAME = "Riverbend Health"
DEMO_PASSWORD = "demo"
DEMO_DEVICE_NAME = "demo"
DEMO_SEED = 20261122
DEFAULT_PATIENTS = 240
# A fixed "today" for ages and dates, so the same seed gives the same patients on any day.
REFERENCE_DATE = date(2026, 11, 1)

CLINIC = "Riverbend Family Clinic"
ASSISTED_LIVING = "Maple House Assisted Living"


class DemoError(Exception):
    pass


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    first_name: str
    last_name: str
    title: str
    facility: str = CLINIC


DEMO_USERS = [
    DemoUser("admin", "admin", "Alan", "Whitaker", "IT Administrator"),
    DemoUser("manager", "manager", "Denise", "Okafor", "Practice Manager"),
    DemoUser("frontdesk", "frontdesk", "Tiffany", "Nguyen", "Patient Services Rep"),
    DemoUser("mat", "mat", "Maria", "Lopez", "CMA"),
    DemoUser("provider", "provider", "Samuel", "Chen", "MD"),
    DemoUser("biller", "biller", "Rachel", "Goldberg", "CPC"),
    DemoUser("medtech", "medtech", "Andre", "Williams", "CMT", ASSISTED_LIVING),
    DemoUser("nurse", "nurse", "Patricia", "Nguyen", "LPN", ASSISTED_LIVING),
]
MFA_USERNAMES = {"admin", "manager"}

# --- Curated clinical lists ---------------------------------------------------------------------

# (name, X12 payer ID, plans). Payer IDs as commonly listed by clearinghouses; check them with
# your clearinghouse before sending real claims.
COMMERCIAL_PAYERS = [
    ("Aetna", "60054", ["Aetna Choice POS II", "Aetna Open Access Managed Choice"]),
    ("Blue Cross Blue Shield of Texas", "84980", ["Blue Choice PPO", "Blue Advantage HMO"]),
    ("Cigna", "62308", ["Cigna Open Access Plus", "Cigna LocalPlus"]),
    ("UnitedHealthcare", "87726", ["UnitedHealthcare Choice Plus", "UnitedHealthcare Navigate"]),
    ("Humana", "61101", ["Humana ChoiceCare PPO"]),
]
MEDICARE = ("Medicare Part B", "04412", "Medicare Part B (Novitas JH, Texas)")
MEDICARE_ADVANTAGE = ("Humana", "61101", "Humana Gold Plus HMO (Medicare Advantage)")
MEDIGAP = (
    "AARP Medicare Supplement (UnitedHealthcare)",
    "36273",
    "AARP Medicare Supplement Plan G",
)
MEDICAID = ("Texas Medicaid", "617591011CMSP", "Texas Medicaid (TMHP) fee-for-service")
MEDICAID_MCO = ("Superior HealthPlan", "68069", "STAR (Superior HealthPlan)")

# (substance, category, code (RxNorm ingredient or SNOMED CT substance, blank when unsure),
#  reactions, typical severity)
ALLERGIES = [
    ("Penicillin", "medication", "70618", ["Hives", "Rash", "Anaphylaxis"], "moderate"),
    ("Sulfa drugs (sulfonamide antibiotics)", "medication", "", ["Rash", "Hives"], "moderate"),
    ("Amoxicillin", "medication", "723", ["Rash", "Hives"], "mild"),
    ("Codeine", "medication", "2670", ["Nausea and vomiting", "Itching"], "mild"),
    ("Aspirin", "medication", "1191", ["Wheezing", "Hives"], "moderate"),
    ("Ibuprofen", "medication", "5640", ["Stomach upset", "Swelling of lips"], "mild"),
    ("Cephalexin", "medication", "2231", ["Rash"], "mild"),
    ("Morphine", "medication", "7052", ["Itching", "Nausea"], "mild"),
    ("Latex", "environment", "111088007", ["Contact dermatitis", "Hives"], "moderate"),
    ("Peanuts", "food", "256349002", ["Anaphylaxis", "Throat swelling"], "severe"),
    ("Shellfish", "food", "", ["Hives", "Swelling of lips", "Anaphylaxis"], "severe"),
    ("Eggs", "food", "102263004", ["Hives", "Abdominal pain"], "mild"),
    ("Bee stings", "environment", "", ["Swelling at site", "Anaphylaxis"], "severe"),
    ("Iodinated contrast media", "medication", "", ["Hives", "Flushing"], "moderate"),
]
INTOLERANCES = [
    ("Metformin", "medication", "6809", ["Diarrhea"]),
    ("Lisinopril", "medication", "29046", ["Dry cough"]),
    ("Lactose", "food", "", ["Bloating", "Diarrhea"]),
]

# (medication with strength and form, RxNorm SCD code or blank, dose, route, frequency)
MEDICATIONS: dict[str, list[tuple[str, str, str, str, str]]] = {
    "I10": [
        ("Lisinopril 10 mg oral tablet", "314076", "10 mg", "oral", "once daily"),
        ("Amlodipine 5 mg oral tablet", "197361", "5 mg", "oral", "once daily"),
        ("Hydrochlorothiazide 25 mg oral tablet", "", "25 mg", "oral", "once daily"),
        ("Losartan 50 mg oral tablet", "", "50 mg", "oral", "once daily"),
    ],
    "E11.9": [
        ("Metformin 500 mg oral tablet", "861007", "500 mg", "oral", "twice daily with meals")
    ],
    "R73.03": [("Metformin 500 mg oral tablet", "861007", "500 mg", "oral", "once daily")],
    "E78.5": [
        ("Atorvastatin 20 mg oral tablet", "617310", "20 mg", "oral", "once daily at bedtime"),
    ],
    "E03.9": [
        (
            "Levothyroxine 50 mcg oral tablet",
            "966222",
            "50 mcg",
            "oral",
            "once daily before breakfast",
        )
    ],
    "J45.909": [
        (
            "Albuterol 90 mcg/actuation inhaler",
            "745679",
            "2 puffs",
            "inhaled",
            "every 4-6 hours as needed for wheezing",
        )
    ],
    "J44.9": [
        (
            "Albuterol 90 mcg/actuation inhaler",
            "745679",
            "2 puffs",
            "inhaled",
            "every 4-6 hours as needed",
        ),
        ("Tiotropium 18 mcg inhalation capsule", "", "1 capsule", "inhaled", "once daily"),
    ],
    "K21.9": [
        (
            "Omeprazole 20 mg delayed-release oral capsule",
            "",
            "20 mg",
            "oral",
            "once daily before breakfast",
        )
    ],
    "F41.1": [("Sertraline 50 mg oral tablet", "", "50 mg", "oral", "once daily")],
    "F32.A": [("Sertraline 50 mg oral tablet", "", "50 mg", "oral", "once daily")],
    "G43.909": [
        (
            "Sumatriptan 50 mg oral tablet",
            "",
            "50 mg",
            "oral",
            "at migraine onset, may repeat once after 2 hours",
        )
    ],
    "M54.50": [
        (
            "Cyclobenzaprine 5 mg oral tablet",
            "",
            "5 mg",
            "oral",
            "three times daily as needed for spasm",
        )
    ],
    "J30.9": [
        (
            "Fluticasone 50 mcg/actuation nasal spray",
            "",
            "2 sprays each nostril",
            "nasal",
            "once daily",
        ),
        ("Cetirizine 10 mg oral tablet", "", "10 mg", "oral", "once daily"),
    ],
    "E55.9": [
        (
            "Cholecalciferol (vitamin D3) 1,000 unit oral tablet",
            "",
            "1,000 units",
            "oral",
            "once daily",
        )
    ],
    "I48.91": [
        ("Apixaban 5 mg oral tablet", "", "5 mg", "oral", "twice daily"),
        (
            "Metoprolol succinate 25 mg extended-release oral tablet",
            "",
            "25 mg",
            "oral",
            "once daily",
        ),
    ],
    "M81.0": [
        ("Alendronate 70 mg oral tablet", "", "70 mg", "oral", "once weekly, upright with water")
    ],
    "G30.9": [("Donepezil 10 mg oral tablet", "", "10 mg", "oral", "once daily at bedtime")],
    "M17.11": [
        (
            "Acetaminophen 500 mg oral tablet",
            "",
            "1,000 mg",
            "oral",
            "every 8 hours as needed for pain",
        )
    ],
}

# (billable ICD-10-CM code, weight for adults, minimum age)
PROBLEMS = [
    ("I10", 30, 25),
    ("E78.5", 22, 30),
    ("E11.9", 15, 25),
    ("R73.03", 8, 25),
    ("E66.9", 12, 12),
    ("K21.9", 10, 18),
    ("J45.909", 9, 3),
    ("F41.1", 9, 12),
    ("F32.A", 7, 12),
    ("M54.50", 9, 18),
    ("G43.909", 5, 12),
    ("J30.9", 10, 5),
    ("E03.9", 7, 20),
    ("E55.9", 6, 18),
    ("N39.0", 3, 3),
    ("G47.33", 4, 30),
    ("J44.9", 4, 45),
    ("I48.91", 3, 55),
    ("M17.11", 4, 50),
    ("M81.0", 4, 55),
    ("N18.30", 3, 55),
    ("G30.9", 2, 68),
    ("F03.90", 2, 70),
]
SURGERIES = [
    ("Appendectomy", 10),
    ("Cholecystectomy, laparoscopic", 10),
    ("Tonsillectomy", 10),
    ("Cesarean section", 0),
    ("Inguinal hernia repair", 6),
    ("Total knee replacement, right", 45),
    ("Cataract extraction, left eye", 55),
    ("Carpal tunnel release, right", 25),
    ("Hysterectomy", 35),
    ("Coronary artery bypass graft", 50),
    ("ACL reconstruction, left", 15),
]
FAMILY = [
    ("Type 2 diabetes", "E11.9"),
    ("Hypertension", "I10"),
    ("Coronary artery disease", ""),
    ("Breast cancer", ""),
    ("Colon cancer", ""),
    ("Stroke", ""),
    ("Alzheimer disease", ""),
    ("Asthma", "J45.909"),
    ("Hyperlipidemia", "E78.5"),
]
RELATIVES = [
    "mother",
    "father",
    "sister",
    "brother",
    "maternal grandmother",
    "paternal grandfather",
]
SOCIAL = [
    "Lives with spouse",
    "Lives alone",
    "Lives with adult daughter",
    "Drinks alcohol socially",
    "Drinks 1-2 beers on weekends",
    "No alcohol use",
    "Walks 30 minutes most days",
    "Works as a schoolteacher",
    "Works in construction",
    "Retired",
    "Caregiver for a parent",
    "Denies recreational drug use",
]
RESIDENT_SOCIAL = [
    "Resides at Maple House Assisted Living",
    "Uses a walker",
    "Needs help with medication administration",
]

ACCENTED_GIVEN = {
    "female": ["Zoë", "Renée", "Inés", "Mónica", "Chloé", "Begoña", "Anaïs", "Sofía", "Lucía"],
    "male": ["José", "Björn", "Raúl", "Andrés", "Jesús", "Ramón", "Joaquín", "François"],
}
ACCENTED_FAMILY = [
    "Núñez",
    "Peña",
    "Muñoz",
    "Ibáñez",
    "Gómez",
    "Hernández",
    "Müller",
    "Rodríguez",
    "Martínez",
    "Álvarez",
    "Sánchez",
    "O'Brien",
    "García-López",
]
NICKNAMES = {
    "William": "Bill",
    "Robert": "Bob",
    "Elizabeth": "Liz",
    "Katherine": "Kate",
    "Margaret": "Peggy",
    "James": "Jim",
    "Richard": "Rick",
    "Jennifer": "Jen",
    "Michael": "Mike",
    "Christopher": "Chris",
    "Patricia": "Pat",
    "Joseph": "Joe",
}
CITIES = [
    ("Austin", ["78701", "78702", "78704", "78723", "78745", "78748", "78757", "78759"]),
    ("Round Rock", ["78664", "78665", "78681"]),
    ("Pflugerville", ["78660"]),
    ("Georgetown", ["78626", "78628", "78633"]),
    ("Cedar Park", ["78613"]),
    ("San Marcos", ["78666"]),
    ("Kyle", ["78640"]),
    ("Buda", ["78610"]),
]
AREA_CODES = ["512", "737", "254", "830"]
LANGUAGES = ["en"] * 14 + ["es"] * 4 + ["vi", "zh"]


# --- Public API ---------------------------------------------------------------------------------


def demo_organization() -> Organization | None:
    return Organization.objects.filter(slug=DEMO_ORG_SLUG).first()


def demo_exists() -> bool:
    return Organization.objects.filter(slug=DEMO_ORG_SLUG).exists()


def login_rows() -> list[tuple[str, str, str, str]]:
    """(username, password, role, note) for the demo logins table."""
    from carebench.accounts.roles import ROLE_LABELS

    rows = []
    for user in DEMO_USERS:
        note = (
            f"needs a code: .venv/bin/carebench demo otp {user.username}"
            if user.username in MFA_USERNAMES
            else ""
        )
        rows.append((user.username, DEMO_PASSWORD, ROLE_LABELS[user.role], note))
    return rows


def demo_totp_key(username: str) -> str:
    """A TOTP key (hex, 20 bytes) derived from the install's secret key and the username."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"carebench-demo-totp:{username}".encode(), hashlib.sha256
    ).digest()
    return digest[:20].hex()


def demo_otp_code(username: str, *, at: float | None = None) -> str:
    """The current code of a demo user's "demo" TOTP device (only in the demo organization)."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(
        user__username=username, user__organization__slug=DEMO_ORG_SLUG, name=DEMO_DEVICE_NAME
    ).first()
    if device is None:
        raise DemoError(
            f"{username!r} has no demo authenticator (only the demo organization's "
            f"{', '.join(sorted(MFA_USERNAMES))} have one)"
        )
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def build_demo(
    *, patients: int = DEFAULT_PATIENTS, seed: int = DEMO_SEED, progress: Any = None
) -> Organization:
    """Create the demo organization, its users and `patients` synthetic patients (once)."""
    existing = demo_organization()
    if existing is not None:
        return existing
    with transaction.atomic():
        org = Organization.objects.create(
            name=DEMO_ORG_NAME, slug=DEMO_ORG_SLUG, npi="1234567893", tax_id="74-0000000"
        )
        facilities = {
            CLINIC: Facility.objects.create(
                organization=org,
                name=CLINIC,
                kind=Facility.Kind.CLINIC,
                state="TX",
                time_zone="America/Chicago",
                address_line="1200 Riverbend Pkwy, Suite 100",
                city="Austin",
                postal_code="78746",
                phone="5125550100",
                npi="1245319599",
            ),
            ASSISTED_LIVING: Facility.objects.create(
                organization=org,
                name=ASSISTED_LIVING,
                kind=Facility.Kind.ASSISTED_LIVING,
                state="TX",
                time_zone="America/Chicago",
                address_line="48 Maple House Ln",
                city="Round Rock",
                postal_code="78664",
                phone="5125550150",
            ),
        }
        users = _create_users(org, facilities)
        actor = Actor.system(org, user=users["mat"])
        _Seeder(actor, seed).create_patients(patients, progress=progress)
    return org


# --- Building -----------------------------------------------------------------------------------


def _create_users(org: Organization, facilities: dict[str, Facility]) -> dict[str, User]:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    system = Actor.system(org)
    users: dict[str, User] = {}
    for spec in DEMO_USERS:
        user = create_user(
            actor=system,
            organization=org,
            username=spec.username,
            password=DEMO_PASSWORD,
            roles=[spec.role],
            first_name=spec.first_name,
            last_name=spec.last_name,
            email=f"{spec.username}@riverbend.example.com",
            title=spec.title,
            default_facility=facilities[spec.facility],
        )
        if spec.username in MFA_USERNAMES:
            TOTPDevice.objects.create(
                user=user, name=DEMO_DEVICE_NAME, confirmed=True, key=demo_totp_key(spec.username)
            )
            audit.record_for_actor(
                system,
                action=Action.MFA_ENROLLED,
                resource_type="User",
                resource_id=user.pk,
                detail={"user": user.username, "device": DEMO_DEVICE_NAME},
            )
        users[spec.username] = user
    return users


class _Seeder:
    """Makes deterministic synthetic patients and writes them through the patient services."""

    def __init__(self, actor: Actor, seed: int) -> None:
        self.actor = actor
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.payers: dict[str, Any] = {}
        self.known_codes: dict[str, bool] = {}
        self.used_phones: set[str] = set()

    # helpers
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def payer(self, name: str, code: str) -> Any:
        if name not in self.payers:
            self.payers[name] = ps.get_or_create_payer(actor=self.actor, name=name, payer_code=code)
        return self.payers[name]

    def code_loaded(self, code: str) -> bool:
        if code not in self.known_codes:
            found = get_icd10(code)
            self.known_codes[code] = found is not None and found.billable
        return self.known_codes[code]

    def phone(self) -> str:
        for _ in range(20):
            number = f"({self.rng.choice(AREA_CODES)}) 555-01{self.rng.randint(0, 99):02d}"
            if number not in self.used_phones:
                break
        self.used_phones.add(number)
        return number

    def birth_date(self, min_age: int, max_age: int) -> date:
        days = self.rng.randint(min_age * 365 + 1, max_age * 365 + 300)
        return REFERENCE_DATE - timedelta(days=days)

    def past_date(self, birth: date, *, min_years_after_birth: int = 0) -> date:
        start = birth + timedelta(days=365 * min_years_after_birth)
        start = min(start, REFERENCE_DATE - timedelta(days=30))
        span = (REFERENCE_DATE - start).days
        return start + timedelta(days=self.rng.randint(0, max(span - 1, 0)))

    def names(self, sex: str) -> tuple[str, str]:
        given = (
            self.rng.choice(ACCENTED_GIVEN[sex])
            if self.chance(0.08)
            else self.fake.first_name_female()
            if sex == "female"
            else self.fake.first_name_male()
        )
        family = self.rng.choice(ACCENTED_FAMILY) if self.chance(0.10) else self.fake.last_name()
        return given, family

    # patients
    def create_patients(self, count: int, *, progress: Any = None) -> None:
        # A few fixed patients, so that the demo's first searches ("smi", "smith, j") find people.
        fixed = [
            ("Smith", "John", "male", 58),
            ("Smith", "Jennifer", "female", 34),
            ("Núñez", "José", "male", 71),
            ("Lindqvist", "Björn", "male", 45),
            ("Dubois", "Zoë", "female", 9),
        ]
        for index in range(count):
            if index < len(fixed):
                family, given, sex, age = fixed[index]
                birth = self.birth_date(age, age)
            else:
                sex = "female" if self.chance(0.53) else "male"
                given, family = self.names(sex)
                roll = self.rng.random()
                birth = (
                    self.birth_date(0, 17)
                    if roll < 0.18
                    else self.birth_date(65, 97)
                    if roll < 0.40
                    else self.birth_date(18, 64)
                )
            resident = self.age(birth) >= 70 and self.chance(0.35)
            self.create_patient(family, given, sex, birth, resident=resident)
            if progress is not None:
                progress(index + 1)

    @staticmethod
    def age(birth: date) -> int:
        years = REFERENCE_DATE.year - birth.year
        return years - ((REFERENCE_DATE.month, REFERENCE_DATE.day) < (birth.month, birth.day))

    def create_patient(
        self, family: str, given: str, sex: str, birth: date, *, resident: bool
    ) -> Patient:
        age = self.age(birth)
        city, zips = ("Round Rock", ["78664"]) if resident else self.rng.choice(CITIES)
        adult = age >= 18
        details = ps.PatientDetails(
            family_name=family,
            given_name=given,
            birth_date=birth,
            sex=sex,
            sex_at_birth="F" if sex == "female" else "M",
            middle_name=self.fake.first_name()[:1] + "." if self.chance(0.3) else "",
            preferred_name=NICKNAMES.get(given, "") if self.chance(0.6) else "",
            phone_mobile=self.phone() if adult or self.chance(0.2) else "",
            phone_home=self.phone() if self.chance(0.25) or resident else "",
            email=(
                f"{self.fake.user_name()}{self.rng.randint(1, 99)}@example.com"
                if adult and self.chance(0.55)
                else ""
            ),
            address_line1=(
                "48 Maple House Ln, Room " + str(self.rng.randint(101, 140))
                if resident
                else self.fake.street_address()
            ),
            city=city,
            state="TX",
            postal_code=self.rng.choice(zips),
            preferred_language=self.rng.choice(LANGUAGES),
            emergency_contact_name=f"{self.fake.first_name()} {family}",
            emergency_contact_relationship=(
                self.rng.choice(["mother", "father"])
                if not adult
                else self.rng.choice(["spouse", "daughter", "son", "sister", "friend"])
            ),
            emergency_contact_phone=self.phone(),
        )
        patient = ps.register_patient(actor=self.actor, details=details)
        self.add_coverage(patient, age, resident)
        self.add_allergies(patient)
        codes = self.add_problems(patient, age, resident)
        self.add_medications(patient, codes)
        self.add_history(patient, age, sex, resident)
        return patient

    def add_coverage(self, patient: Patient, age: int, resident: bool) -> None:
        name = f"{patient.given_name} {patient.family_name}"
        start = date(REFERENCE_DATE.year - self.rng.randint(0, 4), self.rng.choice([1, 1, 7]), 1)
        if age >= 65:
            if self.chance(0.25) and not resident:
                payer_name, code, plan = MEDICARE_ADVANTAGE
                self.coverage(
                    patient, self.payer(payer_name, code), plan, _mbi_like(self.rng), start=start
                )
                return
            payer_name, code, plan = MEDICARE
            self.coverage(patient, self.payer(payer_name, code), plan, _mbi(self.rng), start=start)
            if self.chance(0.5):
                payer_name, code, plan = MEDIGAP
                self.coverage(
                    patient,
                    self.payer(payer_name, code),
                    plan,
                    f"{self.rng.randint(10**10, 10**11 - 1)}",
                    start=start,
                    priority=Coverage.Priority.SECONDARY,
                )
            elif resident and self.chance(0.5):
                payer_name, code, plan = MEDICAID
                self.coverage(
                    patient,
                    self.payer(payer_name, code),
                    plan,
                    f"{self.rng.randint(10**8, 10**9 - 1)}",
                    start=start,
                    priority=Coverage.Priority.SECONDARY,
                )
            return
        roll = self.rng.random()
        if roll < 0.08:
            return  # self-pay
        if roll < 0.30 or (age < 18 and roll < 0.45):
            payer_name, code, plan = MEDICAID if self.chance(0.4) else MEDICAID_MCO
            self.coverage(
                patient,
                self.payer(payer_name, code),
                plan,
                f"{self.rng.randint(10**8, 10**9 - 1)}",
                start=start,
            )
            return
        payer_name, code, plans = self.rng.choice(COMMERCIAL_PAYERS)
        member = f"{payer_name[:1]}{self.rng.randint(10**8, 10**9 - 1)}"
        group = f"{self.rng.randint(100000, 999999)}"
        if age < 18 or (age < 26 and self.chance(0.5)):
            parent = f"{self.fake.first_name()} {patient.family_name}"
            self.coverage(
                patient,
                self.payer(payer_name, code),
                self.rng.choice(plans),
                member + "02",
                start=start,
                group=group,
                relationship=Coverage.Relationship.CHILD,
                subscriber=parent,
                subscriber_birth=self.birth_date(age + 20, age + 40),
            )
        elif self.chance(0.2):
            spouse = f"{self.fake.first_name()} {patient.family_name}"
            self.coverage(
                patient,
                self.payer(payer_name, code),
                self.rng.choice(plans),
                member + "01",
                start=start,
                group=group,
                relationship=Coverage.Relationship.SPOUSE,
                subscriber=spouse,
                subscriber_birth=self.birth_date(max(age - 5, 18), age + 5),
            )
        else:
            self.coverage(
                patient,
                self.payer(payer_name, code),
                self.rng.choice(plans),
                member,
                start=start,
                group=group,
                subscriber=name,
            )

    def coverage(
        self,
        patient: Patient,
        payer: Any,
        plan: str,
        member: str,
        *,
        start: date,
        group: str = "",
        priority: int = Coverage.Priority.PRIMARY,
        relationship: str = Coverage.Relationship.SELF,
        subscriber: str = "",
        subscriber_birth: date | None = None,
    ) -> None:
        ps.add_coverage(
            actor=self.actor,
            patient=patient,
            payer=payer,
            member_id=member,
            plan_name=plan,
            group_number=group,
            priority=priority,
            relationship=relationship,
            subscriber_name=subscriber,
            subscriber_birth_date=subscriber_birth,
            start_date=start,
        )

    def add_allergies(self, patient: Patient) -> None:
        roll = self.rng.random()
        if roll < 0.45:
            ps.record_no_known_allergies(actor=self.actor, patient=patient)
            return
        if roll < 0.55:
            return  # not asked yet: the banner says "Allergies not recorded"
        for substance, category, code, reactions, severity in self.rng.sample(
            ALLERGIES, k=self.rng.choice([1, 1, 1, 2, 2, 3])
        ):
            ps.add_allergy(
                actor=self.actor,
                patient=patient,
                substance=substance,
                category=category,
                substance_code=code,
                reaction=self.rng.choice(reactions),
                severity=severity,
                onset_date=self.past_date(patient.birth_date),
            )
        if self.chance(0.12):
            substance, category, code, reactions = self.rng.choice(INTOLERANCES)
            ps.add_allergy(
                actor=self.actor,
                patient=patient,
                substance=substance,
                kind="intolerance",
                category=category,
                substance_code=code,
                reaction=self.rng.choice(reactions),
                severity="mild",
            )

    def add_problems(self, patient: Patient, age: int, resident: bool) -> list[str]:
        eligible = [
            (code, weight * (2 if age >= 60 else 1))
            for code, weight, min_age in PROBLEMS
            if age >= min_age and self.code_loaded(code)
        ]
        if not eligible:
            return []
        count = (
            self.rng.choice([0, 0, 1])
            if age < 18
            else self.rng.choice([0, 1, 1, 2, 3])
            if age < 50
            else self.rng.choice([1, 2, 3, 4, 5])
        )
        if resident:
            count += 1
        chosen: list[str] = []
        while len(chosen) < min(count, len(eligible)):
            code = self.rng.choices([c for c, _ in eligible], weights=[w for _, w in eligible])[0]
            if code not in chosen:
                chosen.append(code)
        for code in chosen:
            ps.add_problem(
                actor=self.actor,
                patient=patient,
                icd10_code=code,
                onset_date=self.past_date(patient.birth_date, min_years_after_birth=min(age, 3)),
            )
        return chosen

    def add_medications(self, patient: Patient, codes: list[str]) -> None:
        seen: set[str] = set()
        for code in codes:
            options = MEDICATIONS.get(code, [])
            if not options:
                continue
            picks = options if len(options) == 1 or self.chance(0.3) else [self.rng.choice(options)]
            for medication, rxnorm, dose, route, frequency in picks:
                if medication in seen:
                    continue
                seen.add(medication)
                ps.add_medication(
                    actor=self.actor,
                    patient=patient,
                    medication=medication,
                    rxnorm_code=rxnorm,
                    dose=dose,
                    route=route,
                    frequency=frequency,
                    prescriber="Samuel Chen, MD",
                    start_date=self.past_date(patient.birth_date, min_years_after_birth=1),
                )

    def add_history(self, patient: Patient, age: int, sex: str, resident: bool) -> None:
        history = HistoryEntry.Kind
        for description, min_age in self.rng.sample(SURGERIES, k=self.rng.choice([0, 0, 1, 1, 2])):
            if description in {"Cesarean section", "Hysterectomy"} and sex != "female":
                continue
            if age < max(min_age, 1):
                continue
            year = self.past_date(patient.birth_date, min_years_after_birth=min(min_age, age)).year
            ps.add_history(
                actor=self.actor,
                patient=patient,
                kind=history.SURGICAL,
                description=description,
                occurred=str(year),
            )
        for description, code in self.rng.sample(FAMILY, k=self.rng.choice([0, 1, 1, 2, 3])):
            ps.add_history(
                actor=self.actor,
                patient=patient,
                kind=history.FAMILY,
                description=description,
                relative=self.rng.choice(RELATIVES),
                icd10_code=code if code and self.code_loaded(code) else "",
            )
        social = RESIDENT_SOCIAL if resident else SOCIAL
        if age >= 16:
            for description in self.rng.sample(social, k=self.rng.choice([1, 2])):
                ps.add_history(
                    actor=self.actor, patient=patient, kind=history.SOCIAL, description=description
                )
            status = self.rng.choices(
                [
                    TobaccoStatus.NEVER,
                    TobaccoStatus.FORMER,
                    TobaccoStatus.EVERY_DAY,
                    TobaccoStatus.SOME_DAYS,
                    TobaccoStatus.UNKNOWN,
                ],
                weights=[55, 22, 12, 6, 5],
            )[0]
            note = (
                "Quit " + str(self.rng.randint(1985, 2024))
                if status == TobaccoStatus.FORMER
                else ""
            )
            ps.add_history(
                actor=self.actor,
                patient=patient,
                kind=history.TOBACCO,
                tobacco_status=status,
                note=note,
            )


_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # no S, L, O, I, B, Z


def _mbi(rng: random.Random) -> str:
    """A Medicare Beneficiary Identifier in the right shape (C A AN N A AN N A A N N)."""
    alnum = _MBI_LETTERS + "0123456789"
    pattern = ["C", "A", "AN", "N", "A", "AN", "N", "A", "A", "N", "N"]
    out = []
    for kind in pattern:
        if kind == "C":
            out.append(str(rng.randint(1, 9)))
        elif kind == "N":
            out.append(str(rng.randint(0, 9)))
        elif kind == "A":
            out.append(rng.choice(_MBI_LETTERS))
        else:
            out.append(rng.choice(alnum))
    return "".join(out)


def _mbi_like(rng: random.Random) -> str:
    return f"H{rng.randint(10**8, 10**9 - 1)}"
