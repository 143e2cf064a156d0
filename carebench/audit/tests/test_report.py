"""The audit report: filters, sorting, paging, CSV export, organization scoping, permission."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse

from carebench.audit import services as audit
from carebench.audit.models import Action, AuditEvent
from carebench.conftest import signed_in
from carebench.core import clock
from carebench.testing import actor_for, make_patient

URL = "/audit/"


@pytest.fixture
def events(mat, manager, other_mat):
    """A few events in the manager's organization and one in another organization."""
    patient = make_patient(mat, family_name="Zimmer")
    audit.record_for_actor(
        actor_for(mat),
        action=Action.VIEW,
        patient_id=patient.pk,
        resource_type="Patient",
        resource_id=patient.pk,
    )
    audit.record_for_actor(
        actor_for(mat),
        action=Action.SEARCH,
        resource_type="Patient",
        detail={"query": "zim", "results": 1},
    )
    elsewhere = make_patient(other_mat, family_name="Elsewhere")
    audit.record_for_actor(
        actor_for(other_mat),
        action=Action.VIEW,
        patient_id=elsewhere.pk,
        resource_type="Patient",
        resource_id=elsewhere.pk,
    )
    return {"patient": patient, "elsewhere": elsewhere}


def _usernames(response):
    return [event.username for event in response.context["page"].object_list]


def test_url_name():
    assert reverse("audit:report") == URL


def test_manager_sees_only_own_organization(manager_client, events, other_mat):
    response = manager_client.get(URL)
    assert response.status_code == 200
    names = _usernames(response)
    assert names and other_mat.username not in names
    assert all(
        e.organization_id == response.wsgi_request.organization.pk
        for e in response.context["page"].object_list
    )
    assert "no-store" in response["Cache-Control"]


def test_filter_by_user_action_and_patient(manager_client, events, mat):
    response = manager_client.get(URL, {"user": mat.username, "action": "view"})
    page = response.context["page"].object_list
    assert len(page) == 1 and page[0].action == "view" and page[0].username == mat.username
    patient = events["patient"]
    by_mrn = manager_client.get(URL, {"patient": patient.mrn}).context["page"].object_list
    by_id = manager_client.get(URL, {"patient": str(patient.pk)}).context["page"].object_list
    assert by_mrn and {e.patient_id for e in by_mrn} == {patient.pk}
    assert {e.pk for e in by_mrn} == {e.pk for e in by_id}
    # another organization's patient matches nothing, even by its own id
    other = manager_client.get(URL, {"patient": events["elsewhere"].mrn + "x"})
    assert not other.context["page"].object_list


def test_filter_by_date_range(manager_client, events):
    today = clock.today()
    inside = manager_client.get(URL, {"date_from": today.isoformat(), "date_to": today.isoformat()})
    assert inside.context["page"].object_list
    past = manager_client.get(URL, {"date_to": (today - timedelta(days=3)).isoformat()})
    assert not past.context["page"].object_list
    bad = manager_client.get(
        URL, {"date_from": today.isoformat(), "date_to": (today - timedelta(days=1)).isoformat()}
    )
    assert bad.status_code == 422 and "cannot be before" in bad.content.decode()


def test_sort_by_column_and_whitelist(manager_client, events):
    ascending = _usernames(manager_client.get(URL, {"sort": "username"}))
    descending = _usernames(manager_client.get(URL, {"sort": "-username"}))
    assert ascending == sorted(ascending) and descending == sorted(descending, reverse=True)
    actions = [
        e.action for e in manager_client.get(URL, {"sort": "action"}).context["page"].object_list
    ]
    assert actions == sorted(actions)
    # an unknown column (or an injection attempt) falls back to newest first
    response = manager_client.get(URL, {"sort": "hash;drop"})
    assert response.status_code == 200
    times = [e.occurred_at for e in response.context["page"].object_list]
    assert times == sorted(times, reverse=True)
    assert 'aria-sort="descending"' in response.content.decode()


def test_pagination(manager_client, mat):
    for i in range(60):
        audit.record_for_actor(
            actor_for(mat), action=Action.SEARCH, detail={"query": f"q{i}", "results": 0}
        )
    first = manager_client.get(URL, {"action": "search"})
    assert len(first.context["page"].object_list) == 50
    assert "page=2" in first.content.decode()
    second = manager_client.get(URL, {"action": "search", "page": 2})
    assert len(second.context["page"].object_list) == 10


def test_csv_export_streams_own_events_and_is_audited(manager_client, manager, events, other_mat):
    response = manager_client.get(URL, {"format": "csv", "sort": "username"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "occurred_at_utc"
    usernames = {row[1] for row in rows[1:]}
    assert other_mat.username not in usernames
    export = AuditEvent.objects.filter(action="export", username=manager.username).get()
    assert export.organization_id == manager.organization_id
    assert '"format": "csv"' in export.detail


def test_csv_cells_cannot_become_formulas(manager_client, manager):
    audit.record(
        action=Action.LOGIN_FAILED,
        organization_id=manager.organization_id,
        username='=HYPERLINK("http://x")',
        outcome="failure",
    )
    body = b"".join(manager_client.get(URL, {"format": "csv"}).streaming_content).decode()
    assert "'=HYPERLINK" in body


def test_mat_gets_403(mat_client, mat):
    response = mat_client.get(URL)
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="access_denied", username=mat.username).exists()
    assert mat_client.get(URL, {"format": "csv"}).status_code == 403


def test_nav_link_only_for_managers(manager_client, mat_client):
    assert 'href="/audit/"' in manager_client.get("/").content.decode()
    assert 'href="/audit/"' not in mat_client.get("/").content.decode()


def test_other_manager_sees_other_chain(events, other_org):
    from carebench.testing import UserFactory

    other_manager = UserFactory(organization=other_org, roles=["manager"])
    response = signed_in(other_manager).get(URL)
    assert {e.organization_id for e in response.context["page"].object_list} == {other_org.pk}
