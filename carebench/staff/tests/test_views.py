"""The staff pages: who sees what, uploads, and another organization's rows (404)."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from carebench.audit.models import AuditEvent
from carebench.conftest import signed_in
from carebench.core import clock
from carebench.staff.models import Credential, ScopeRule
from carebench.testing import UserFactory

from .factories import credential_type, install_examples, make_credential


def test_a_worker_sees_their_own_credentials_only(mat, manager):
    make_credential(mat, "CCMA", number="MINE-1")
    make_credential(manager, "BLS", number="BOSS-1")
    response = signed_in(mat).get(reverse("staff:credentials"))
    assert response.status_code == 200
    assert b"MINE-1" in response.content and b"BOSS-1" not in response.content
    assert b"credential-board" not in response.content
    assert AuditEvent.objects.filter(action="view", resource_type="Credential").exists()


def test_a_worker_may_not_open_another_workers_page(mat, provider):
    make_credential(provider, "BLS")
    client = signed_in(mat)
    assert client.get(reverse("staff:worker", args=[mat.pk])).status_code == 200
    assert client.get(reverse("staff:worker", args=[provider.pk])).status_code == 403
    other = Credential.objects.get(user=provider)
    assert client.get(reverse("staff:proof", args=[other.pk])).status_code == 403


def test_the_manager_board_puts_expired_first(mat, provider, manager):
    make_credential(mat, "CCMA", expires_on=clock.today() + timedelta(days=700))
    make_credential(provider, "BLS", expires_on=clock.today() - timedelta(days=2))
    make_credential(mat, "CPT", expires_on=clock.today() + timedelta(days=40))
    response = signed_in(manager).get(reverse("staff:credentials"))
    board = response.content.split(b'id="credential-board"')[1]
    order = [board.find(s) for s in (b'data-status="expired"', b'data-status="expiring"')]
    assert 0 < order[0] < order[1] < board.find(b'data-status="current"')


def test_a_worker_uploads_a_pdf_proof_and_a_manager_verifies(mat, manager):
    kind = credential_type(mat.organization, "CCMA")
    upload = SimpleUploadedFile("ccma.pdf", b"%PDF-1.4 certificate", "application/pdf")
    response = signed_in(mat).post(
        reverse("staff:add_credential"),
        {
            "cred-credential_type": kind.pk,
            "cred-number": "NHA-123",
            "cred-issued_on": "2025-01-10",
            "cred-expires_on": "2027-01-10",
            "cred-proof": upload,
        },
    )
    assert response.status_code == 302
    row = Credential.objects.get(number="NHA-123")
    assert row.user == mat and row.proof_type == "application/pdf"
    assert signed_in(mat).post(reverse("staff:verify", args=[row.pk])).status_code == 403
    signed_in(manager).post(reverse("staff:verify", args=[row.pk]))
    row.refresh_from_db()
    assert row.verified_by == manager


def test_a_renamed_exe_upload_comes_back_with_the_rule(mat):
    kind = credential_type(mat.organization, "CCMA")
    upload = SimpleUploadedFile("ccma.pdf", b"MZ\x90\x00" + b"\x00" * 100, "application/pdf")
    response = signed_in(mat).post(
        reverse("staff:add_credential"),
        {
            "cred-credential_type": kind.pk,
            "cred-number": "NHA-123",
            "cred-issued_on": "2025-01-10",
            "cred-expires_on": "2027-01-10",
            "cred-proof": upload,
        },
    )
    assert response.status_code == 422
    assert b"must be a PDF, JPEG or PNG file" in response.content
    assert not Credential.objects.exists()


def test_a_manager_voids_with_a_reason(mat, manager):
    row = make_credential(mat)
    signed_in(manager).post(reverse("staff:void", args=[row.pk]), {"void-reason": "revoked"})
    row.refresh_from_db()
    assert row.void_reason == "revoked"


def test_rules_page_permissions(mat, manager):
    client = signed_in(mat)
    assert client.get(reverse("staff:rules")).status_code == 200
    assert client.post(reverse("staff:load_examples")).status_code == 403
    assert client.post(reverse("staff:add_rule"), {"rule-task": "ekg"}).status_code == 403
    boss = signed_in(manager)
    assert boss.post(reverse("staff:load_examples")).status_code == 302
    assert ScopeRule.objects.filter(is_example=True).count() > 5
    page = boss.get(reverse("staff:rules"))
    assert b"Example rules are active" in page.content


def test_a_manager_adds_and_retires_a_rule(manager):
    client = signed_in(manager)
    response = client.post(
        reverse("staff:add_rule"),
        {"rule-task": "vitals", "rule-roles": ["nurse", "mat"], "rule-state": "tx"},
    )
    assert response.status_code == 302
    rule = ScopeRule.objects.get(task="vitals")
    assert rule.state == "TX" and rule.roles == ["nurse", "mat"]
    client.post(reverse("staff:retire_rule", args=[rule.pk]))
    rule.refresh_from_db()
    assert not rule.active


def test_another_organizations_rows_are_not_found(manager, other_org):
    stranger = UserFactory(organization=other_org, roles=["mat"])
    theirs = make_credential(stranger)
    their_rule = install_examples(UserFactory(organization=other_org, roles=["manager"]))[0]
    client = signed_in(manager)
    for url in (
        reverse("staff:worker", args=[stranger.pk]),
        reverse("staff:proof", args=[theirs.pk]),
    ):
        assert client.get(url).status_code == 404
    for url in (
        reverse("staff:verify", args=[theirs.pk]),
        reverse("staff:void", args=[theirs.pk]),
        reverse("staff:retire_rule", args=[their_rule.pk]),
    ):
        assert client.post(url, {"void-reason": "x"}).status_code == 404
    board = client.get(reverse("staff:credentials")).content
    assert theirs.number.encode() not in board
    assert b"No rules" in client.get(reverse("staff:rules")).content
