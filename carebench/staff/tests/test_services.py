"""Credentials, proof, CE hours, expiry notices and scope-of-practice checks (services)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from carebench.audit.models import Action, AuditEvent, Outcome
from carebench.core import clock
from carebench.core.models import Facility
from carebench.staff import services
from carebench.staff.models import Credential, CredentialNotice, CredentialType, ScopeRule
from carebench.staff.tasks import send_credential_notices
from carebench.testing import UserFactory, actor_for

from .factories import credential_type, install_examples, make_credential

NOON = datetime(2026, 11, 22, 12, tzinfo=ZoneInfo("America/Chicago"))


def _clinic(org):
    return org.facilities.first()


# --- credential types and credentials -----------------------------------------------------------


def test_credential_types_are_created_once_per_organization(org, other_org):
    first = services.ensure_credential_types(org)
    again = services.ensure_credential_types(org)
    codes = [t.code for t in first]
    assert codes == [t.code for t in again]
    assert codes == [
        "CMA", "RMA", "RMT", "CCMA", "CPT", "CET", "NCMA", "CMLT", "MLT", "MED-ADMIN", "BLS"
    ]  # fmt: skip
    assert CredentialType.objects.filter(organization=other_org).count() == 0
    med = CredentialType.objects.get(organization=org, code="MED-ADMIN")
    assert med.is_state_certificate and med.renewal_months == 12 and med.ce_hours == 6


def test_a_renamed_exe_is_refused_as_proof(mat):
    exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
    with pytest.raises(ValidationError) as caught:
        make_credential(mat, proof=exe)
    assert "PDF, JPEG or PNG" in caught.value.message_dict["proof"][0]
    assert not Credential.objects.exists()


def test_proof_over_5_mb_is_refused(mat):
    big = b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024)
    with pytest.raises(ValidationError) as caught:
        make_credential(mat, proof=big)
    assert "over 5 MB" in caught.value.message_dict["proof"][0]
    assert not Credential.objects.exists()


def test_a_pdf_proof_is_kept_with_its_type(mat):
    row = make_credential(mat, verified=False)
    assert row.proof_type == "application/pdf" and bytes(row.proof).startswith(b"%PDF-")
    assert row.verified_at is None


def test_a_manager_verifies_but_not_their_own(mat, manager):
    row = make_credential(mat, verified=False)
    services.verify_credential(actor=actor_for(manager), credential=row)
    assert row.verified_by == manager
    own = make_credential(manager, "BLS", verified=False)
    with pytest.raises(ValidationError, match="another manager"):
        services.verify_credential(actor=actor_for(manager), credential=own)


def test_voiding_keeps_the_row_and_stops_it_counting(mat, manager):
    row = make_credential(mat)
    services.void_credential(actor=actor_for(manager), credential=row, reason="entered in error")
    row.refresh_from_db()
    assert row.voided_at is not None and row.void_reason == "entered in error"
    with pytest.raises(PermissionError):
        row.delete()


def test_expiry_before_issue_is_refused(mat):
    with pytest.raises(ValidationError) as caught:
        make_credential(mat, issued_on=date(2026, 5, 1), expires_on=date(2026, 4, 1))
    assert "before the issue date" in caught.value.message_dict["expires_on"][0]


def test_ce_hours_must_be_positive(mat):
    with pytest.raises(ValidationError) as caught:
        services.add_ce_entry(
            actor=actor_for(mat), user=mat, taken_on=clock.today(), hours=Decimal(0), title="x"
        )
    assert "more than zero" in caught.value.message_dict["hours"][0]


# --- expiry notices -----------------------------------------------------------------------------


def test_the_notice_task_warns_once_per_threshold(mat, manager):
    mat.email, manager.email = "mat@example.org", "boss@example.org"
    mat.save()
    manager.save()
    with clock.frozen(NOON):
        row = make_credential(mat, expires_on=clock.today() + timedelta(days=85))
        assert send_credential_notices.call() == {"sent": 1, "superseded": 0, "failed": 0}
        assert services.send_credential_notices()["sent"] == 0  # never twice
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["mat@example.org"] and message.cc == ["boss@example.org"]
    assert "CCMA" in message.subject and "85 days" in message.subject
    with clock.frozen(NOON + timedelta(days=25)):  # 60 days left
        assert services.send_credential_notices()["sent"] == 1
        assert services.send_credential_notices()["sent"] == 0
    with clock.frozen(NOON + timedelta(days=56)):  # 29 days left
        assert services.send_credential_notices()["sent"] == 1
    assert len(mail.outbox) == 3
    assert sorted(
        CredentialNotice.objects.filter(credential=row).values_list("threshold_days", flat=True)
    ) == [30, 60, 90]


def test_a_late_run_sends_only_the_nearest_threshold(mat):
    mat.email = "mat@example.org"
    mat.save()
    with clock.frozen(NOON):
        row = make_credential(mat, expires_on=clock.today() + timedelta(days=20))
        assert services.send_credential_notices() == {"sent": 1, "superseded": 2, "failed": 0}
    assert len(mail.outbox) == 1
    notices = {n.threshold_days: n.superseded for n in row.notices.all()}
    assert notices == {30: False, 60: True, 90: True}


def test_a_renewed_credential_gets_no_warning(mat):
    with clock.frozen(NOON):
        make_credential(mat, expires_on=clock.today() + timedelta(days=20))
        make_credential(mat, expires_on=clock.today() + timedelta(days=750))
        assert services.send_credential_notices()["sent"] == 0


# --- scope of practice --------------------------------------------------------------------------


def test_no_rules_means_allowed(mat, org):
    decision = services.check_task(actor=actor_for(mat), task="injection", facility=_clinic(org))
    assert decision.allowed and not decision.ruled and not decision.requires_cosign


def test_mat_with_a_current_ccma_may_inject(mat, manager, org):
    install_examples(manager)
    make_credential(mat, "CCMA")
    decision = services.require_task(actor=actor_for(mat), task="injection", facility=_clinic(org))
    assert decision.allowed


def test_an_expired_ccma_is_refused_naming_the_date(mat, manager, org):
    install_examples(manager)
    make_credential(mat, "CCMA", expires_on=date(2026, 10, 1))
    clinic = _clinic(org)
    with clock.frozen(NOON), pytest.raises(ValidationError) as caught:
        services.require_task(actor=actor_for(mat), task="injection", facility=clinic)
    assert caught.value.message_dict["scope"] == [
        f"Injection at {clinic.name} (TX): needs a current CMA, RMA, CCMA or NCMA credential; "
        "your CCMA expired on 10/01/2026."
    ]


def test_an_unverified_credential_does_not_count(mat, manager, org):
    install_examples(manager)
    make_credential(mat, "CMA", verified=False)
    decision = services.check_task(actor=actor_for(mat), task="immunization", facility=_clinic(org))
    assert not decision.allowed
    assert "your CMA is not verified yet" in decision.message


def test_a_mat_without_credentials_is_told_what_is_needed(mat, manager, org):
    install_examples(manager)
    decision = services.check_task(actor=actor_for(mat), task="venipuncture", facility=_clinic(org))
    assert not decision.allowed
    assert "needs a current CMA, RMA, CCMA, CPT or NCMA credential" in decision.message
    assert decision.message.endswith("you hold none on file.")


def test_a_provider_is_allowed_without_a_credential(provider, manager, org):
    install_examples(manager)
    decision = services.check_task(
        actor=actor_for(provider), task="injection", facility=_clinic(org)
    )
    assert decision.allowed


def test_a_role_no_rule_names_is_refused(frontdesk, manager, org):
    install_examples(manager)
    decision = services.check_task(actor=actor_for(frontdesk), task="ekg", facility=_clinic(org))
    assert not decision.allowed
    assert "only a MAT, provider or nurse may; you are a front-desk worker" in decision.message


def test_a_refusal_writes_an_audit_event(mat, manager, org):
    install_examples(manager)
    clinic = _clinic(org)
    with pytest.raises(ValidationError):
        services.require_task(actor=actor_for(mat), task="ekg", facility=clinic)
    event = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).get()
    assert event.outcome == Outcome.DENIED and event.user_id == mat.pk
    assert '"task": "ekg"' in event.detail and clinic.name in event.detail


def test_rules_match_by_state_and_facility_kind(mat, manager, org):
    actor = actor_for(manager)
    services.add_scope_rule(actor=actor, task="vitals", roles=["nurse"], state="CA")
    clinic = _clinic(org)  # in TX: the California rule does not apply
    assert services.check_task(actor=actor_for(mat), task="vitals", facility=clinic).allowed
    services.add_scope_rule(actor=actor, task="vitals", roles=["nurse"], facility_kind="clinic")
    assert not services.check_task(actor=actor_for(mat), task="vitals", facility=clinic).allowed


def test_a_co_sign_rule_allows_and_says_so(mat, manager, org):
    services.add_scope_rule(
        actor=actor_for(manager), task="ekg", roles=["mat"], requires_cosign=True
    )
    decision = services.check_task(actor=actor_for(mat), task="ekg", facility=_clinic(org))
    assert decision.allowed and decision.requires_cosign


def test_a_retired_rule_no_longer_applies(mat, manager, org):
    rule = services.add_scope_rule(actor=actor_for(manager), task="vitals", roles=["nurse"])
    services.retire_scope_rule(actor=actor_for(manager), rule=rule)
    assert services.check_task(actor=actor_for(mat), task="vitals", facility=_clinic(org)).allowed


def test_example_rules_are_marked_and_load_once(manager):
    first = install_examples(manager)
    assert first and all(
        r.is_example and "check it against your state's law" in r.note for r in first
    )
    assert install_examples(manager) == []
    assert ScopeRule.objects.filter(task="assignment", facility_kind="long_term_care").count() == 1


def test_an_unknown_role_is_refused(manager):
    with pytest.raises(ValidationError) as caught:
        services.add_scope_rule(actor=actor_for(manager), task="ekg", roles=["janitor"])
    assert "unknown role janitor" in caught.value.message_dict["roles"][0]


# --- assignment through the table ---------------------------------------------------------------


def _nursing_home(org):
    return Facility.objects.create(
        organization=org, name="Cedar Nursing Center", kind="long_term_care", state="TX"
    )


def test_medtech_assignment_to_long_term_care_is_refused_by_the_table(nurse, medtech, manager, org):
    from carebench.meds import emar_services as emar
    from carebench.meds.emar_models import Assignment

    install_examples(manager)
    home = _nursing_home(org)
    with pytest.raises(ValidationError) as caught:
        emar.assign_worker(actor=actor_for(nurse), user=medtech, facility=home)
    message = caught.value.message_dict["scope"][0]
    assert message.startswith("Working at Cedar Nursing Center (TX, Long-term-care")
    assert "is a medication technician" in message
    assert not Assignment.objects.exists()
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, outcome="denied").exists()


def test_the_table_overrides_the_built_in_assignment_rule(nurse, medtech, manager, org):
    from carebench.meds import emar_services as emar

    # This organization's state lets med techs work in nursing homes: its own rule says so.
    services.add_scope_rule(
        actor=actor_for(manager),
        task="assignment",
        facility_kind="long_term_care",
        roles=["medtech", "nurse"],
        credential_types=[credential_type(org, "MED-ADMIN")],
    )
    make_credential(medtech, "MED-ADMIN")
    row = emar.assign_worker(actor=actor_for(nurse), user=medtech, facility=_nursing_home(org))
    assert row.user == medtech


def test_without_assignment_rules_the_built_in_rule_still_refuses(nurse, medtech, org):
    from carebench.meds import emar_services as emar

    with pytest.raises(ValidationError) as caught:
        emar.assign_worker(actor=actor_for(nurse), user=medtech, facility=_nursing_home(org))
    assert "facility" in caught.value.message_dict


def test_another_organizations_rules_do_not_apply(mat, other_org, org):
    other_manager = UserFactory(organization=other_org, roles=["manager"])
    install_examples(other_manager)
    assert services.check_task(actor=actor_for(mat), task="ekg", facility=_clinic(org)).allowed
