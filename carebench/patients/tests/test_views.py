"""The patient pages: search, register, chart, sections, permissions and organization scoping."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from carebench.audit.models import AuditEvent
from carebench.conftest import signed_in
from carebench.patients import services
from carebench.patients.models import Allergy, HistoryEntry, MedicationStatement, Patient, Problem
from carebench.testing import actor_for, make_patient

REGISTER = {
    "family_name": "Núñez",
    "given_name": "María",
    "preferred_name": "Mari",
    "birth_date": "1984-03-09",
    "sex": "female",
    "phone_mobile": "(512) 555-0142",
    "preferred_language": "es",
    "state": "TX",
    "postal_code": "78701",
}


def chart_url(patient):
    return reverse("patients:chart", args=[patient.pk])


def test_register_via_post_redirects_to_chart(mat_client):
    response = mat_client.post(reverse("patients:register"), REGISTER)
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response.url == chart_url(patient)
    assert patient.family_name == "Núñez"
    assert patient.phone_mobile == "5125550142"
    assert AuditEvent.objects.filter(action="create", patient_id=patient.pk).exists()
    page = mat_client.get(response.url)
    assert "Registered" in page.content.decode()


def test_register_errors_are_on_the_fields_and_nothing_is_written(mat_client):
    data = REGISTER | {
        "birth_date": (date.today() + timedelta(days=3)).isoformat(),
        "phone_mobile": "555-12",
        "state": "XX",
    }
    response = mat_client.post(reverse("patients:register"), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'class="error-summary"' in html
    assert 'id="id_birth_date_error"' in html and "cannot be in the future" in html
    assert 'id="id_phone_mobile_error"' in html and "10 digits" in html
    assert 'id="id_state_error"' in html
    # the field points at its message and says it is invalid
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_birth_date_error"' in html
    assert 'value="Núñez"' in html  # what was typed is kept
    assert Patient.objects.count() == 0
    assert not AuditEvent.objects.filter(action="create").exists()


def test_register_unparseable_date_and_missing_fields(mat_client):
    response = mat_client.post(
        reverse("patients:register"),
        {
            "family_name": "",
            "given_name": "Al",
            "birth_date": "31/31/1999",
            "sex": "",
            "preferred_language": "en",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Last name: is required" in html
    assert "Date of birth: enter a date" in html
    assert Patient.objects.count() == 0


def test_chart_shows_banner_with_allergies(mat, mat_client):
    patient = make_patient(mat, family_name="Okafor", given_name="Chidi", preferred_name="Chi")
    html = mat_client.get(chart_url(patient)).content.decode()
    assert "Okafor, Chidi" in html and "Chi" in html and patient.mrn in html
    assert "Allergies not recorded" in html
    services.add_allergy(
        actor=actor_for(mat),
        patient=patient,
        substance="Penicillin",
        reaction="Hives",
        severity="severe",
    )
    html = mat_client.get(chart_url(patient)).content.decode()
    assert 'class="banner-allergies allergies-listed"' in html
    assert "Penicillin" in html and "Allergies not recorded" not in html


def test_chart_is_audited_and_not_cached(mat, mat_client):
    patient = make_patient(mat)
    response = mat_client.get(chart_url(patient))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert (
        AuditEvent.objects.filter(
            action="view", patient_id=patient.pk, resource_type="Patient"
        ).count()
        == 1
    )
    for name in ("edit", "voided"):
        response = mat_client.get(reverse(f"patients:{name}", args=[patient.pk]))
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]


def test_chart_query_count_is_bounded(mat, mat_client, django_assert_max_num_queries):
    patient = make_patient(mat)
    actor = actor_for(mat)
    for i in range(5):
        services.add_allergy(actor=actor, patient=patient, substance=f"Drug {i}")
        services.add_medication(actor=actor, patient=patient, medication=f"Med {i} 10 mg tab")
        services.add_history(actor=actor, patient=patient, kind="medical", description=f"Thing {i}")
    mat_client.get(chart_url(patient))  # warm the session
    with django_assert_max_num_queries(22):
        response = mat_client.get(chart_url(patient))
    assert response.status_code == 200
    assert response.content.decode().count('class="entry entry-alert"') == 5


# --- search ------------------------------------------------------------------------------------


@pytest.fixture
def registered(mat_client):
    mat_client.post(reverse("patients:register"), REGISTER)
    return Patient.objects.get()


@pytest.mark.parametrize(
    "query",
    [
        "nunez, maria",
        "Núñez, Mar",
        "maria nunez",
        "nunez maria",
        "mari nun",
        "nunez",
        "03/09/1984",
        "1984-03-09",
        "512-555-0142",
        "5125550",
    ],
)
def test_search_finds_patient(mat_client, registered, query):
    response = mat_client.get(reverse("patients:search"), {"q": query})
    assert response.status_code == 200
    html = response.content.decode()
    assert chart_url(registered) in html, query
    assert "(512) 555-0142" in html and "03/09/1984" in html


def test_search_by_mrn_and_htmx_partial(mat_client, registered):
    response = mat_client.get(
        reverse("patients:search"), {"q": registered.mrn}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert chart_url(registered) in html
    assert "<html" not in html  # only the results partial
    event = AuditEvent.objects.filter(action="search").latest("id")
    assert f'"query": "{registered.mrn}"' in event.detail and '"results": 1' in event.detail


def test_search_miss_says_so(mat_client, registered):
    html = mat_client.get(reverse("patients:search"), {"q": "zzzz"}).content.decode()
    assert "No patient matches" in html


def test_home_has_search_box_with_focus_and_typeahead(mat_client):
    html = mat_client.get(reverse("core:home")).content.decode()
    assert 'id="patient-search"' in html and "autofocus" in html
    assert 'hx-get="/patients/search/"' in html
    assert 'action="/patients/search/"' in html


def test_search_does_not_find_other_organization(mat_client, other_mat, registered):
    other = make_patient(other_mat, family_name="Nunez", given_name="Maria")
    html = mat_client.get(reverse("patients:search"), {"q": "nunez"}).content.decode()
    assert chart_url(registered) in html and chart_url(other) not in html


# --- sections ----------------------------------------------------------------------------------


def test_add_allergy_plain_post_redirects(mat, mat_client):
    patient = make_patient(mat)
    response = mat_client.post(
        reverse("patients:add_allergy", args=[patient.pk]),
        {
            "substance": "Latex",
            "kind": "allergy",
            "status": "active",
            "severity": "moderate",
            "reaction": "Rash",
        },
    )
    assert response.status_code == 302
    assert Allergy.objects.filter(patient=patient, substance="Latex").exists()


def test_no_known_allergies_then_allergy_htmx(mat, mat_client):
    patient = make_patient(mat)
    htmx = {"HX-Request": "true"}
    response = mat_client.post(
        reverse("patients:no_known_allergies", args=[patient.pk]), headers=htmx
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="section-allergies"' in html and 'hx-swap-oob="true"' in html
    assert "No known allergies" in html
    response = mat_client.post(
        reverse("patients:add_allergy", args=[patient.pk]),
        {"substance": "Sulfa", "kind": "allergy", "status": "active"},
        headers=htmx,
    )
    html = response.content.decode()
    assert "allergies-listed" in html and "Sulfa" in html
    assert "allergies-none_known" not in html


def test_no_known_allergies_refused_when_allergy_on_file(mat, mat_client):
    patient = make_patient(mat)
    services.add_allergy(actor=actor_for(mat), patient=patient, substance="Peanut")
    response = mat_client.post(reverse("patients:no_known_allergies", args=[patient.pk]))
    assert response.status_code == 422
    assert "active allergies on file" in response.content.decode()
    assert not Allergy.objects.filter(kind="no_known").exists()


def test_add_allergy_errors_shown_with_422(mat, mat_client):
    patient = make_patient(mat)
    future = (date.today() + timedelta(days=5)).isoformat()
    response = mat_client.post(
        reverse("patients:add_allergy", args=[patient.pk]),
        {"substance": "Eggs", "kind": "allergy", "status": "active", "onset_date": future},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="allergies_onset_date_error"' in html and "cannot be in the future" in html
    assert not Allergy.objects.exists()


def test_problem_needs_billable_code(mat, mat_client, icd10):
    patient = make_patient(mat)
    url = reverse("patients:add_problem", args=[patient.pk])
    response = mat_client.post(url, {"icd10_code": "E11", "status": "active"})
    assert response.status_code == 422
    assert "choose a billable code" in response.content.decode()
    response = mat_client.post(url, {"icd10_code": "e119", "status": "active"})
    assert response.status_code == 302
    assert Problem.objects.get().icd10_code == "E11.9"


def test_icd10_typeahead_lists_billable_codes_only(mat_client, icd10):
    html = mat_client.get(
        reverse("patients:icd10_search"), {"problems-icd10_code": "diabetes"}
    ).content.decode()
    assert "E11.9" in html and 'data-code="E11"' not in html


def test_medications_add_and_reconcile(mat, mat_client):
    patient = make_patient(mat)
    response = mat_client.post(
        reverse("patients:add_medication", args=[patient.pk]),
        {"medication": "Lisinopril 10 mg tablet", "status": "active", "frequency": "daily"},
    )
    assert response.status_code == 302
    response = mat_client.post(
        reverse("patients:reconcile_medications", args=[patient.pk]), headers={"HX-Request": "true"}
    )
    assert "reconciled" in response.content.decode()
    assert MedicationStatement.objects.get().reconciled_by == mat


def test_history_and_coverage(mat, mat_client):
    patient = make_patient(mat)
    response = mat_client.post(
        reverse("patients:add_history", args=[patient.pk]),
        {"kind": "tobacco", "tobacco_status": "266919005"},
    )
    assert response.status_code == 302
    response = mat_client.post(
        reverse("patients:add_history", args=[patient.pk]),
        {"kind": "family", "description": "Diabetes"},
    )
    assert response.status_code == 422
    assert "Relative (family history): is required" in response.content.decode()
    assert HistoryEntry.objects.count() == 1
    response = mat_client.post(
        reverse("patients:add_coverage", args=[patient.pk]),
        {
            "payer_name": "Blue Shield",
            "member_id": "XY-123",
            "priority": "1",
            "relationship": "self",
        },
    )
    assert response.status_code == 302
    html = mat_client.get(chart_url(patient)).content.decode()
    assert "Blue Shield" in html and "XY-123" in html and "Never smoker" in html


def test_refused_coverage_keeps_no_new_payer(mat, mat_client):
    from carebench.patients.models import Payer

    patient = make_patient(mat)
    response = mat_client.post(
        reverse("patients:add_coverage", args=[patient.pk]),
        {
            "payer_name": "New Payer",
            "member_id": "bad id!",
            "priority": "1",
            "relationship": "self",
        },
    )
    assert response.status_code == 422
    assert "Member ID: may hold letters" in response.content.decode()
    assert not Payer.objects.exists()


def test_correct_and_void_entry(mat, mat_client):
    patient = make_patient(mat)
    allergy = services.add_allergy(actor=actor_for(mat), patient=patient, substance="Penicilin")
    url = reverse("patients:correct_entry", args=[patient.pk, "allergies", allergy.pk])
    assert mat_client.get(url).status_code == 200
    prefix = f"c{allergy.pk}-"
    data = {
        prefix + "substance": "Penicillin",
        prefix + "kind": "allergy",
        prefix + "status": "active",
        prefix + "reason": "spelling",
    }
    response = mat_client.post(url, data)
    assert response.status_code == 302
    allergy.refresh_from_db()
    assert allergy.voided_at is not None
    new = Allergy.objects.get(replaces=allergy)
    assert new.substance == "Penicillin"
    void_url = reverse("patients:void_entry", args=[patient.pk, "allergies", new.pk])
    response = mat_client.post(void_url, {f"v{new.pk}-reason": ""})
    assert response.status_code == 422
    assert "Reason: is required" in response.content.decode()
    response = mat_client.post(
        void_url, {f"v{new.pk}-reason": "wrong patient"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    new.refresh_from_db()
    assert new.void_reason == "wrong patient"
    html = mat_client.get(reverse("patients:voided", args=[patient.pk])).content.decode()
    assert "wrong patient" in html and "corrected: spelling" in html


def test_correct_with_no_change_is_refused(mat, mat_client):
    patient = make_patient(mat)
    med = services.add_medication(actor=actor_for(mat), patient=patient, medication="Aspirin")
    url = reverse("patients:correct_entry", args=[patient.pk, "medications", med.pk])
    prefix = f"c{med.pk}-"
    response = mat_client.post(
        url,
        {
            prefix + "medication": "Aspirin",
            prefix + "status": "active",
            prefix + "reason": "checking",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert response["HX-Retarget"] == f"#edit-medications-{med.pk}"
    assert "Nothing was changed" in response.content.decode()


def test_edit_demographics(mat, mat_client):
    patient = make_patient(mat, phone_mobile="5125550100")
    url = reverse("patients:edit", args=[patient.pk])
    html = mat_client.get(url).content.decode()
    assert 'value="(512) 555-0100"' in html
    data = {name: getattr(patient, name) or "" for name in services.DEMOGRAPHIC_FIELDS}
    data |= {"family_name": "Smyth", "birth_date": patient.birth_date.isoformat()}
    response = mat_client.post(url, data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.family_name == "Smyth"


# --- organization scoping and permissions ------------------------------------------------------


def _post_routes(patient, entry):
    pk = patient.pk
    return [
        reverse("patients:edit", args=[pk]),
        reverse("patients:add_allergy", args=[pk]),
        reverse("patients:no_known_allergies", args=[pk]),
        reverse("patients:add_medication", args=[pk]),
        reverse("patients:reconcile_medications", args=[pk]),
        reverse("patients:add_problem", args=[pk]),
        reverse("patients:add_history", args=[pk]),
        reverse("patients:add_coverage", args=[pk]),
        reverse("patients:correct_entry", args=[pk, "allergies", entry.pk]),
        reverse("patients:void_entry", args=[pk, "allergies", entry.pk]),
    ]


def test_other_organizations_patient_is_404_everywhere(mat, other_mat):
    patient = make_patient(mat)
    entry = services.add_allergy(actor=actor_for(mat), patient=patient, substance="Latex")
    client = signed_in(other_mat)
    pk = patient.pk
    for name in ("chart", "edit", "voided"):
        assert client.get(reverse(f"patients:{name}", args=[pk])).status_code == 404, name
    for url in _post_routes(patient, entry):
        assert client.post(url, {"substance": "x", "reason": "x"}).status_code == 404, url
    assert Allergy.objects.count() == 1
    assert not AuditEvent.objects.filter(patient_id=pk, username=other_mat.username).exists()


def test_biller_cannot_add_allergy(biller, mat):
    patient = make_patient(mat)
    client = signed_in(biller)
    assert client.get(chart_url(patient)).status_code == 200
    response = client.post(
        reverse("patients:add_allergy", args=[patient.pk]),
        {"substance": "Latex", "kind": "allergy", "status": "active"},
    )
    assert response.status_code == 403
    assert not Allergy.objects.exists()
    assert AuditEvent.objects.filter(action="access_denied", username=biller.username).exists()


def test_frontdesk_cannot_void_clinical_entry(frontdesk, mat):
    patient = make_patient(mat)
    entry = services.add_allergy(actor=actor_for(mat), patient=patient, substance="Latex")
    client = signed_in(frontdesk)
    url = reverse("patients:void_entry", args=[patient.pk, "allergies", entry.pk])
    assert client.post(url, {f"v{entry.pk}-reason": "x"}).status_code == 403
    html = client.get(chart_url(patient)).content.decode()
    assert url not in html  # no action shown that the role cannot take


def test_manager_cannot_register(manager_client):
    assert manager_client.get(reverse("patients:register")).status_code == 403


def test_signed_out_user_goes_to_login(client, mat):
    patient = make_patient(mat)
    response = client.get(chart_url(patient))
    assert response.status_code == 302 and "/account/login/" in response.url


def test_chart_loads_add_forms_on_demand(mat, mat_client):
    patient = make_patient(mat)
    chart = mat_client.get(reverse("patients:chart", args=[patient.pk])).content.decode()
    url = reverse("patients:add_allergy", args=[patient.pk])
    assert f'hx-get="{url}"' in chart
    assert 'name="substance"' not in chart  # the form itself comes when opened
    partial = mat_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="substance"' in partial and "<html" not in partial
    page = mat_client.get(url)
    assert page.status_code == 200 and b'name="substance"' in page.content
    assert patient.family_name.encode() in page.content  # the banner is on the form's page


def test_add_form_page_is_404_for_another_organizations_patient(mat_client, other_mat):
    stranger = make_patient(other_mat)
    assert mat_client.get(reverse("patients:add_allergy", args=[stranger.pk])).status_code == 404


def test_icd10_typeahead_searches_the_last_code_of_a_list(mat_client, icd10):
    html = mat_client.get(
        reverse("patients:icd10_search"), {"diagnosis_codes": "E11.9, hypertens"}
    ).content.decode()
    assert 'data-code="I10"' in html and 'data-code="E11.9"' not in html
