"""The demo organization: users in every role, MFA for admin and manager, synthetic patients."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from carebench.accounts.models import User
from carebench.audit.models import AuditEvent
from carebench.audit.verify import verify_all
from carebench.core import demo
from carebench.core.models import Facility, Organization
from carebench.patients.models import Allergy, Coverage, HistoryEntry, Patient, Problem

ROLES = ["admin", "manager", "frontdesk", "mat", "provider", "biller", "medtech"]


@pytest.fixture
def demo_org(icd10):
    return demo.build_demo(patients=12)


def test_demo_organization_facilities_and_users(demo_org):
    assert demo_org.name == "Riverbend Health"
    facilities = {f.name: f for f in Facility.objects.filter(organization=demo_org)}
    clinic = facilities["Riverbend Family Clinic"]
    home = facilities["Maple House Assisted Living"]
    assert (clinic.kind, clinic.state, clinic.time_zone) == ("clinic", "TX", "America/Chicago")
    assert (home.kind, home.state) == ("assisted_living", "TX")
    for role in ROLES:
        user = User.objects.get(username=role)
        assert user.organization == demo_org
        assert user.role_names == [role]
        assert user.check_password("demo")
    mat = User.objects.get(username="mat")
    assert (mat.get_full_name(), mat.title) == ("Maria Lopez", "CMA")


def test_admin_and_manager_have_a_confirmed_demo_device(demo_org):
    for username in ("admin", "manager"):
        user = User.objects.get(username=username)
        assert user.mfa_required
        device = TOTPDevice.objects.get(user=user)
        assert device.name == "demo" and device.confirmed
    assert not TOTPDevice.objects.filter(user__username="mat").exists()


def test_patients_are_written_through_services_with_chart_data(demo_org):
    patients = Patient.objects.filter(organization=demo_org)
    assert patients.count() == 12
    assert Coverage.objects.filter(organization=demo_org).exists()
    kinds = set(Allergy.objects.filter(organization=demo_org).values_list("kind", flat=True))
    assert {"no_known", "allergy"} <= kinds
    assert Problem.objects.filter(organization=demo_org).exists()
    assert HistoryEntry.objects.filter(organization=demo_org, kind="tobacco").exists()
    names = {p.family_name for p in patients}
    assert {"Smith", "Núñez"} <= names
    for patient in patients:
        assert patient.family_key and patient.mrn.isdigit()
        if patient.phone_mobile:
            assert re.fullmatch(r"\d{3}55501\d\d", patient.phone_mobile)
        assert AuditEvent.objects.filter(
            patient_id=patient.pk, action="create", resource_type="Patient"
        ).exists()
    assert all(not report.problems for report in verify_all())


def test_build_is_idempotent(demo_org):
    events = AuditEvent.objects.count()
    again = demo.build_demo(patients=12)
    assert again.pk == demo_org.pk
    assert Organization.objects.filter(slug=demo.DEMO_ORG_SLUG).count() == 1
    assert Patient.objects.filter(organization=demo_org).count() == 12
    assert AuditEvent.objects.count() == events


def test_demo_otp_prints_a_code_the_device_accepts(demo_org, capsys):
    call_command("carebench_demo", "otp", "admin")
    code = capsys.readouterr().out.strip()
    assert re.fullmatch(r"\d{6}", code)
    device = TOTPDevice.objects.get(user__username="admin")
    assert device.verify_token(code)


def test_demo_otp_refuses_other_users_and_other_devices(demo_org, org):
    with pytest.raises(CommandError, match="no demo authenticator"):
        call_command("carebench_demo", "otp", "mat")
    # a "demo" device outside the demo organization is not revealed
    other = User.objects.create(username="outsider", organization=org)
    TOTPDevice.objects.create(user=other, name="demo", confirmed=True)
    with pytest.raises(CommandError, match="no demo authenticator"):
        call_command("carebench_demo", "otp", "outsider")
    with pytest.raises(CommandError, match="usage"):
        call_command("carebench_demo", "otp")


def test_demo_command_builds_once_and_prints_the_logins(db, capsys, settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the demo makes the clearinghouse's folders under var/
    call_command("carebench_demo", "--patients", "3", "--skip-icd10")
    out = capsys.readouterr().out
    assert "DEMO CREDENTIALS" in out
    assert "carebench demo otp admin" in out
    for role in ROLES:
        assert role in out
    assert Patient.objects.filter(organization__slug=demo.DEMO_ORG_SLUG).count() == 3
    call_command("carebench_demo", "--patients", "3", "--skip-icd10")
    assert "already set up" in capsys.readouterr().out
    assert Patient.objects.filter(organization__slug=demo.DEMO_ORG_SLUG).count() == 3


def test_curated_codes_are_real_billable_icd10cm_codes():
    import simple_icd_10_cm as icd

    codes = {code for code, _, _ in demo.PROBLEMS} | set(demo.MEDICATIONS)
    codes |= {code for _, code in demo.FAMILY if code}
    for code in sorted(codes):
        assert icd.is_valid_item(code), code
        assert icd.is_leaf(code), f"{code} is not billable"


def test_curated_rxnorm_codes_are_digits():
    for options in demo.MEDICATIONS.values():
        for _, rxnorm, *_ in options:
            assert rxnorm == "" or rxnorm.isdigit()
