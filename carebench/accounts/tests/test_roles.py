from django.contrib.auth.models import Group

from carebench.accounts import services
from carebench.accounts.roles import ALL_ROLES
from carebench.audit.models import AuditEvent
from carebench.testing import actor_for


def test_every_role_group_exists_after_migrate(db):
    assert set(Group.objects.values_list("name", flat=True)) >= set(ALL_ROLES)


def test_mat_can_correct_what_they_add(mat):
    assert mat.has_perm("patients.add_medicationstatement")
    assert mat.has_perm("patients.change_medicationstatement")
    assert mat.has_perm("patients.void_medicationstatement")


def test_frontdesk_cannot_add_allergies(frontdesk):
    assert frontdesk.has_perm("patients.view_allergy")
    assert not frontdesk.has_perm("patients.add_allergy")


def test_only_manager_and_admin_read_the_audit_report(mat, manager):
    assert manager.has_perm("audit.view_auditevent")
    assert not mat.has_perm("audit.view_auditevent")


def test_role_change_is_audited_as_privilege_change(mat, manager):
    services.set_roles(actor=actor_for(manager), user=mat, roles=["mat", "frontdesk"])
    event = AuditEvent.objects.filter(action="privilege_change", resource_id=str(mat.pk)).last()
    assert event is not None and "frontdesk" in event.detail


def test_api_token_is_stored_hashed(mat):
    raw = services.create_api_token(actor=actor_for(mat), user=mat)
    assert services.user_for_token(raw) == mat
    assert not mat.api_tokens.filter(token_hash=raw).exists()
    assert services.user_for_token(raw + "x") is None


def test_permissions_come_in_one_query_and_include_direct_grants(mat, django_assert_num_queries):
    from django.contrib.auth.models import Permission

    from carebench.accounts.models import User

    mat.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    user = User.objects.get(pk=mat.pk)
    with django_assert_num_queries(1):
        assert user.has_perm("patients.add_allergy")  # from the role
        assert user.has_perm("audit.view_auditevent")  # granted to the user
        assert not user.has_perm("accounts.add_user")
