"""Patient: create, read, update and search, as US Core Patient, within one organization."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient as FhirPatient

from carebench.audit.models import Action, AuditEvent
from carebench.core import clock
from carebench.patients.models import Patient
from carebench.testing import make_patient

from .conftest import FHIR_JSON

US_CORE_PATIENT = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
BIRTHSEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
GENDER_IDENTITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-genderIdentity"


def patient_json(**overrides):
    resource = {
        "resourceType": "Patient",
        "extension": [
            {"url": BIRTHSEX, "valueCode": "F"},
            {
                "url": GENDER_IDENTITY,
                "valueCodeableConcept": {
                    "coding": [{"system": "http://snomed.info/sct", "code": "446141000124107"}]
                },
            },
        ],
        "name": [
            {"use": "official", "family": "Núñez", "given": ["María", "José"]},
            {"use": "nickname", "given": ["Mari"]},
        ],
        "gender": "female",
        "birthDate": "1984-03-09",
        "telecom": [
            {"system": "phone", "value": "(512) 555-0142", "use": "mobile"},
            {"system": "phone", "value": "512-555-0199", "use": "home"},
            {"system": "email", "value": "Maria@Example.org"},
        ],
        "address": [
            {
                "use": "home",
                "line": ["12 Elm St", "Apt 3"],
                "city": "Austin",
                "state": "TX",
                "postalCode": "78701",
            }
        ],
        "communication": [
            {
                "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}]},
                "preferred": True,
            }
        ],
        "contact": [
            {
                "relationship": [{"text": "sister"}],
                "name": {"text": "Ana Núñez"},
                "telecom": [{"system": "phone", "value": "5125550123"}],
            }
        ],
    }
    resource.update(overrides)
    return resource


def assert_us_core_patient(resource):
    FhirPatient.model_validate(resource)
    assert resource["meta"]["profile"] == [US_CORE_PATIENT]
    mrn = resource["identifier"][0]
    assert mrn["system"].startswith("urn:carebench:mrn:") and mrn["value"]
    assert mrn["type"]["coding"][0]["code"] == "MR"
    assert resource["name"][0]["family"] and resource["name"][0]["given"]
    assert resource["gender"] in {"male", "female", "other", "unknown"}
    assert resource["birthDate"]
    assert resource["communication"][0]["preferred"] is True


def search(fhir, **params):
    response = fhir.get("/fhir/Patient", params)
    assert response.status_code == 200, response.content
    Bundle.model_validate(response.json())
    return response.json()


def ids(bundle):
    return [int(e["resource"]["id"]) for e in bundle.get("entry", [])]


def test_create_returns_201_location_and_us_core_patient(fhir, org):
    response = fhir.post("/fhir/Patient", patient_json())
    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    assert response["Location"].endswith(f"/fhir/Patient/{body['id']}")
    assert response["ETag"] == f'W/"{body["meta"]["versionId"]}"'
    assert_us_core_patient(body)
    patient = Patient.objects.get(pk=body["id"])
    assert patient.organization == org
    assert (patient.family_name, patient.given_name, patient.middle_name) == (
        "Núñez",
        "María",
        "José",
    )
    assert patient.preferred_name == "Mari"
    assert patient.phone_mobile == "5125550142" and patient.phone_home == "5125550199"
    assert patient.email == "maria@example.org"
    assert patient.preferred_language == "es"
    assert patient.sex_at_birth == "F" and patient.gender_identity == "446141000124107"
    assert patient.emergency_contact_name == "Ana Núñez"
    assert patient.emergency_contact_relationship == "sister"
    assert patient.family_key == "nunez"
    assert body["identifier"][0]["value"] == patient.mrn
    assert {e["url"] for e in body["extension"]} == {BIRTHSEX, GENDER_IDENTITY}
    assert body["telecom"][0] == {"system": "phone", "value": "(512) 555-0142", "use": "mobile"}
    assert body["contact"][0]["name"]["text"] == "Ana Núñez"
    assert body["address"][0]["line"] == ["12 Elm St", "Apt 3"]


def test_create_is_audited_by_the_service(fhir, org):
    body = fhir.post("/fhir/Patient", patient_json()).json()
    event = AuditEvent.objects.get(action=Action.CREATE, resource_type="Patient")
    assert event.resource_id == body["id"]
    assert event.channel == "api"


def test_minimal_patient_round_trips(fhir):
    response = fhir.post(
        "/fhir/Patient",
        {
            "resourceType": "Patient",
            "gender": "male",
            "birthDate": "1990-01-02",
            "name": [{"family": "Ito", "given": ["Ken"]}],
        },
    )
    assert response.status_code == 201, response.content
    assert_us_core_patient(response.json())


def test_read(fhir, mat):
    patient = make_patient(mat, family_name="Okafor", given_name="Chidi", sex="male")
    response = fhir.get(f"/fhir/Patient/{patient.pk}")
    assert response.status_code == 200
    body = response.json()
    assert_us_core_patient(body)
    assert body["name"][0]["family"] == "Okafor"
    assert body["identifier"][0]["value"] == patient.mrn


def test_read_writes_an_audit_event(fhir, mat):
    patient = make_patient(mat)
    fhir.get(f"/fhir/Patient/{patient.pk}")
    event = AuditEvent.objects.get(action=Action.VIEW)
    assert (event.patient_id, event.resource_type, event.user_id, event.channel) == (
        patient.pk,
        "Patient",
        mat.pk,
        "api",
    )


def test_read_of_another_organizations_patient_is_404(fhir, other_mat):
    theirs = make_patient(other_mat)
    response = fhir.get(f"/fhir/Patient/{theirs.pk}")
    assert response.status_code == 404
    assert response["Content-Type"].startswith(FHIR_JSON)
    assert response.json()["resourceType"] == "OperationOutcome"
    assert fhir.get("/fhir/Patient/999999").status_code == 404
    assert fhir.get("/fhir/Patient/abc").status_code == 404


def test_update_of_another_organizations_patient_is_404(fhir, other_mat):
    theirs = make_patient(other_mat)
    response = fhir.put(f"/fhir/Patient/{theirs.pk}", patient_json(id=str(theirs.pk)))
    assert response.status_code == 404


def test_voided_patient_reads_as_gone(fhir, mat):
    patient = make_patient(mat)
    Patient.objects.filter(pk=patient.pk).update(voided_at=clock.now())
    assert fhir.get(f"/fhir/Patient/{patient.pk}").status_code == 410
    assert ids(search(fhir)) == []


def test_update_replaces_demographics(fhir, mat):
    patient = make_patient(mat, family_name="Smith", given_name="Jo", phone_mobile="5125550100")
    resource = fhir.get(f"/fhir/Patient/{patient.pk}").json()
    resource["name"][0]["family"] = "Smith-Jones"
    resource["telecom"] = []
    response = fhir.put(
        f"/fhir/Patient/{patient.pk}",
        resource,
        **{"If-Match": f'W/"{resource["meta"]["versionId"]}"'},
    )
    assert response.status_code == 200, response.content
    assert_us_core_patient(response.json())
    patient.refresh_from_db()
    assert patient.family_name == "Smith-Jones"
    assert patient.phone_mobile == ""
    assert AuditEvent.objects.filter(action=Action.UPDATE, patient_id=patient.pk).exists()


def test_update_with_a_stale_version_is_412(fhir, mat):
    patient = make_patient(mat)
    resource = fhir.get(f"/fhir/Patient/{patient.pk}").json()
    response = fhir.put(f"/fhir/Patient/{patient.pk}", resource, **{"If-Match": 'W/"1"'})
    assert response.status_code == 412


def test_update_may_not_change_the_mrn_or_the_id(fhir, mat):
    patient = make_patient(mat)
    resource = fhir.get(f"/fhir/Patient/{patient.pk}").json()
    resource["identifier"][0]["value"] = "1"
    assert fhir.put(f"/fhir/Patient/{patient.pk}", resource).status_code == 422
    resource = fhir.get(f"/fhir/Patient/{patient.pk}").json()
    resource["id"] = str(patient.pk + 1)
    assert fhir.put(f"/fhir/Patient/{patient.pk}", resource).status_code == 400


def test_future_birth_date_is_422_naming_birth_date(fhir):
    response = fhir.post("/fhir/Patient", patient_json(birthDate="2999-01-01"))
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Patient.birthDate"]
    assert "birthDate" in issue["diagnostics"] and "future" in issue["diagnostics"]
    assert not Patient.objects.exists()


def test_partial_birth_date_is_422(fhir):
    response = fhir.post("/fhir/Patient", patient_json(birthDate="1984"))
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Patient.birthDate"]


def test_every_field_error_is_named(fhir):
    resource = patient_json(
        telecom=[{"system": "phone", "value": "12"}], address=[{"state": "ZZ", "postalCode": "7"}]
    )
    response = fhir.post("/fhir/Patient", resource)
    assert response.status_code == 422
    expressions = {e for i in response.json()["issue"] for e in i["expression"]}
    assert {"Patient.telecom", "Patient.address.state", "Patient.address.postalCode"} <= expressions


# --- search ------------------------------------------------------------------------------------


@pytest.fixture
def people(mat, other_mat):
    make_patient(other_mat, family_name="Nunez", given_name="Maria")  # never visible
    return {
        "nunez": make_patient(
            mat, family_name="Núñez", given_name="María", birth_date=date(1984, 3, 9)
        ),
        "nunes": make_patient(
            mat, family_name="Nunes", given_name="Pedro", birth_date=date(1990, 7, 1)
        ),
        "smith": make_patient(
            mat,
            family_name="Smith",
            given_name="Mariana",
            preferred_name="Ana",
            birth_date=date(1975, 12, 31),
        ),
    }


def test_search_by_name_is_prefix_accent_and_case_insensitive(fhir, people):
    assert ids(search(fhir, name="NÚÑEZ")) == [people["nunez"].pk]
    assert ids(search(fhir, name="nunez")) == [people["nunez"].pk]
    assert set(ids(search(fhir, name="nun"))) == {people["nunez"].pk, people["nunes"].pk}
    assert set(ids(search(fhir, name="mar"))) == {people["nunez"].pk, people["smith"].pk}
    assert ids(search(fhir, name="maria nunez")) == [people["nunez"].pk]
    assert ids(search(fhir, name="123")) == []


def test_search_by_family_and_given(fhir, people):
    assert ids(search(fhir, family="nunes")) == [people["nunes"].pk]
    assert ids(search(fhir, given="ana")) == [people["smith"].pk]
    assert ids(search(fhir, family="n", given="ped")) == [people["nunes"].pk]


def test_search_by_birthdate_with_prefixes(fhir, people):
    assert ids(search(fhir, birthdate="1984-03-09")) == [people["nunez"].pk]
    assert ids(search(fhir, birthdate="eq1984-03-09")) == [people["nunez"].pk]
    assert set(ids(search(fhir, birthdate="ge1984-03-09"))) == {
        people["nunez"].pk,
        people["nunes"].pk,
    }
    assert ids(search(fhir, birthdate="gt1984-03-09")) == [people["nunes"].pk]
    assert set(ids(search(fhir, birthdate="le1984-03-09"))) == {
        people["nunez"].pk,
        people["smith"].pk,
    }
    assert ids(search(fhir, birthdate="lt1984-03-09")) == [people["smith"].pk]
    assert ids(search(fhir, birthdate="1975")) == [people["smith"].pk]
    assert ids(search(fhir, birthdate="1990-07")) == [people["nunes"].pk]
    assert set(ids(search(fhir, birthdate="ne1990-07-01"))) == {
        people["nunez"].pk,
        people["smith"].pk,
    }
    both = fhir.get("/fhir/Patient", {"birthdate": ["ge1980-01-01", "le1985-12-31"]}).json()
    assert ids(both) == [people["nunez"].pk]


def test_search_by_identifier(fhir, people, org):
    mrn = people["smith"].mrn
    system = f"urn:carebench:mrn:{org.slug}"
    assert ids(search(fhir, identifier=mrn)) == [people["smith"].pk]
    assert ids(search(fhir, identifier=f"{system}|{mrn}")) == [people["smith"].pk]
    assert ids(search(fhir, identifier=f"urn:other|{mrn}")) == []
    assert ids(search(fhir, identifier="999999999")) == []


def test_search_by_id(fhir, people):
    assert ids(search(fhir, _id=str(people["nunes"].pk))) == [people["nunes"].pk]


def test_search_never_shows_another_organization(other_fhir, people, other_mat):
    bundle = search(other_fhir)
    assert bundle["total"] == 1
    assert {e["resource"]["id"] for e in bundle["entry"]}.isdisjoint(
        {str(p.pk) for p in people.values()}
    )
    assert ids(search(other_fhir, _id=str(people["nunes"].pk))) == []


def test_search_bundle_entries(fhir, people):
    bundle = search(fhir, name="smith")
    assert bundle["type"] == "searchset" and bundle["total"] == 1
    entry = bundle["entry"][0]
    assert entry["search"] == {"mode": "match"}
    assert entry["fullUrl"] == f"http://testserver/fhir/Patient/{people['smith'].pk}"
    assert_us_core_patient(entry["resource"])


def test_search_writes_an_audit_event(fhir, people, mat):
    search(fhir, name="nun")
    event = AuditEvent.objects.get(action=Action.SEARCH)
    assert event.resource_type == "Patient" and event.user_id == mat.pk
    assert event.channel == "api"
    assert '["name", "nun"]' in event.detail


def test_paging_links(fhir, mat):
    made = [make_patient(mat, family_name=f"Pager{chr(97 + i)}") for i in range(5)]
    first = search(fhir, family="pager", _count="2")
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert first["total"] == 5 and ids(first) == [p.pk for p in made[:2]]
    assert "previous" not in links
    assert "_count=2" in links["next"] and "_offset=2" in links["next"]
    assert "family=pager" in links["next"]
    second = fhir.get(links["next"].removeprefix("http://testserver")).json()
    assert ids(second) == [p.pk for p in made[2:4]]
    links = {link["relation"]: link["url"] for link in second["link"]}
    assert "_offset=0" in links["previous"]
    third = fhir.get(links["next"].removeprefix("http://testserver")).json()
    assert ids(third) == [made[4].pk]
    assert "next" not in {link["relation"] for link in third["link"]}
    assert ids(search(fhir, family="pager", _count="2", page="3")) == [made[4].pk]
    assert search(fhir, family="pager", _count="0")["total"] == 5


def test_count_is_capped_at_100(fhir, people):
    bundle = search(fhir, _count="500")
    self_link = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
    assert "_count=100" in self_link


@pytest.mark.parametrize(
    "params",
    [
        {"birthdate": "yesterday"},
        {"birthdate": "ap1980"},
        {"birthdate": "1980-13-01"},
        {"_count": "many"},
        {"_count": "-1"},
        {"name:exact": "Smith"},
    ],
)
def test_bad_search_parameter_is_400(fhir, params):
    response = fhir.get("/fhir/Patient", params)
    assert response.status_code == 400
    assert response["Content-Type"].startswith(FHIR_JSON)
    issue = response.json()["issue"][0]
    assert next(iter(params)).split(":")[0] in issue["diagnostics"]


def test_unknown_parameter_is_ignored_unless_strict(fhir, people):
    bundle = search(fhir, colour="blue", family="smith")
    assert ids(bundle) == [people["smith"].pk]
    assert all("colour" not in link["url"] for link in bundle["link"])
    response = fhir.get("/fhir/Patient", {"colour": "blue"}, Prefer="handling=strict")
    assert response.status_code == 400


def test_search_query_count_does_not_grow_with_results(fhir, mat, django_assert_max_num_queries):
    make_patient(mat, family_name="Solo")
    for i in range(20):
        make_patient(mat, family_name=f"Many{chr(97 + i)}")
    search(fhir, name="solo")  # the audit chain head exists from here on
    with CaptureQueriesContext(connection) as one:
        assert len(search(fhir, name="solo")["entry"]) == 1
    with django_assert_max_num_queries(12):
        bundle = search(fhir, name="many")
    assert len(bundle["entry"]) == 20
    with CaptureQueriesContext(connection) as twenty:
        search(fhir, name="many")
    assert len(twenty) == len(one)
