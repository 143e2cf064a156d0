"""Hostile text: XSS and SQL-injection payloads in every text field, query parameter and FHIR
search parameter: never a 500, stored as plain text, shown escaped, no extra rows.

Found systematically, so a new page or field is covered without editing this file:

* every page of the URL map that takes no argument or only a patient id is requested with a
  payload in every query parameter the views read (found by scanning the views' source for
  `request.GET...("name")`, plus the fields of the forms bound to the query string);
* every POST form those pages show is parsed from the HTML and sent back with a payload in all
  of its text inputs and text areas at once (the answer, saved or refused, must show it inert);
* every search parameter the CapabilityStatement declares, on every FHIR resource;
* and, for the main forms (registration and edit, allergy, problem, medication, the chief
  complaint, inbox messages and their notes, the search boxes), one text field at a time with
  the rest valid: the value saved is exactly what was typed and the page shows it escaped.

"Inert" means: the raw `<script>` and `<img onerror>` never appear unescaped, no `href`, `src`
or `action` starts with `javascript:`, and no redirect goes to one.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from carebench.accounts.roles import ROLE_LABELS
from carebench.conftest import signed_in
from carebench.testing import UserFactory, actor_for, make_patient

XSS = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
# one value that is an XSS in text, in an attribute (it closes the quote), a javascript: URL and
# a SQL injection all at once
PAYLOAD = f"javascript:alert(1)//'\"> {XSS} {IMG} ' OR 1=1 --"
SQL = ["' OR 1=1 --", "1; DROP TABLE patients_patient", "%' UNION SELECT username, password --"]
QUERY_PAYLOADS = [PAYLOAD, SQL[1], SQL[2]]
JAVASCRIPT_URL = re.compile(
    r"(?:href|src|action|formaction|xlink:href)\s*=\s*[\"']?\s*javascript:", re.IGNORECASE
)
ROOT = Path(__file__).resolve().parents[2]


def assert_inert(response: Any, where: str) -> None:
    """The answer shows the payload, if at all, as text."""
    assert response.status_code < 500, f"{where}: {response.status_code}"
    location = response.get("Location", "")
    assert not location.lower().lstrip().startswith("javascript:"), f"{where}: {location}"
    if response.streaming or "html" not in response.get("Content-Type", ""):
        return
    html = response.content.decode()
    assert XSS not in html, f"{where}: an unescaped <script>"
    assert IMG not in html, f"{where}: an unescaped <img onerror>"
    found = JAVASCRIPT_URL.search(html)
    assert found is None, f"{where}: a javascript: URL: {html[found.start() - 80 : found.end()]}"


# --- what to try: routes, query parameters, FHIR search parameters -----------------------------


def _walk(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def page_routes() -> list[str]:
    """Page routes (not the API) that take no argument, or only a patient id."""
    routes = []
    for route, _ in _walk(get_resolver()):
        if route.startswith("fhir"):
            continue
        arguments = re.findall(r"<[^>]+>", route)
        if all(arg == "<int:patient_id>" for arg in arguments):
            routes.append("/" + route)
    return sorted(set(routes))


def query_parameters() -> list[str]:
    """Every query parameter a view reads, from the views' source, and the fields of the forms
    bound to the query string (the audit filter, the patient search)."""
    found = {"q", "sort", "order", "page", "status"}
    pattern = re.compile(r"request\.GET(?:\.get|\.getlist)?[(\[]\s*\"([A-Za-z0-9_-]+)\"")
    for path in ROOT.rglob("*views.py"):
        found.update(pattern.findall(path.read_text()))
    from carebench.audit.views import AuditFilterForm

    found.update(AuditFilterForm.base_fields)
    return sorted(found)


def fhir_searches() -> list[tuple[str, str, str]]:
    """(resource, parameter, type) for every search parameter the CapabilityStatement lists."""
    from carebench.fhir.capability import capability_statement

    statement = capability_statement("http://testserver/fhir")
    return [
        (resource["type"], param["name"], param["type"])
        for resource in statement["rest"][0]["resource"]
        if "search-type" in {i["code"] for i in resource.get("interaction", [])}
        for param in resource.get("searchParam", [])
    ]


# --- the clinic ---------------------------------------------------------------------------------


@pytest.fixture
def everyone(org: Any) -> Any:
    """A user in every role, so every page answers (not 403)."""
    return UserFactory(organization=org, username="every-role", roles=list(ROLE_LABELS))


@pytest.fixture
def clinic(everyone: Any, other_org: Any) -> Any:
    """Two patients with a chart, and one in another organization: the rows an injection that
    worked would bring back."""
    from types import SimpleNamespace

    from carebench.patients import services

    actor = actor_for(everyone)
    first = make_patient(everyone, family_name="Quillfeather", given_name="Zara")
    second = make_patient(everyone, family_name="Vandermolen", given_name="Otto")
    services.add_allergy(actor=actor, patient=first, substance="Penicillin", reaction="Hives")
    other = make_patient(other_org, family_name="Outsider", given_name="Olga")
    return SimpleNamespace(first=first, second=second, other=other, names=("Quillfeather",
                           "Vandermolen", "Outsider"))  # fmt: skip


@pytest.fixture
def client(everyone: Any, clinic: Any) -> Client:
    return signed_in(everyone)


# --- query parameters of every page -------------------------------------------------------------


ROUTES = page_routes()
PARAMETERS = query_parameters()


def test_every_page_takes_hostile_query_parameters(client: Client, clinic: Any) -> None:
    """One test over every route (a fixture per route would cost more than the requests)."""
    assert len(ROUTES) > 50 and {"q", "sort", "date", "patient"} <= set(PARAMETERS)
    for route in ROUTES:
        path = route.replace("<int:patient_id>", str(clinic.first.pk))
        for payload in QUERY_PAYLOADS:
            response = client.get(path, dict.fromkeys(PARAMETERS, payload))
            assert_inert(response, f"GET {path} ({payload})")


@pytest.mark.parametrize("query", SQL + [PAYLOAD])
def test_patient_search_with_sql_finds_no_extra_rows(client: Client, clinic: Any, query: str):
    html = client.get(reverse("patients:search"), {"q": query}).content.decode()
    for name in clinic.names:
        assert name not in html


def test_the_audit_filter_with_sql_finds_no_extra_rows(client: Client, clinic: Any) -> None:
    page = client.get(reverse("audit:report"), {"user": SQL[0], "patient": SQL[0]})
    assert page.status_code == 200
    assert "every-role" not in page.content.decode().split("<tbody", 1)[-1]


def test_icd10_search_with_sql_finds_nothing(client: Client, clinic: Any, icd10: Any) -> None:
    for query in SQL:
        html = client.get(reverse("patients:icd10_search"), {"q": query}).content.decode()
        assert "<li" not in html and "<option" not in html, query


# --- every POST form those pages show ----------------------------------------------------------


class _Forms(HTMLParser):
    """The POST forms of a page: action, the default value of each field, the text fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None
        self._chosen = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            post = a.get("method", "get").lower() == "post"
            self.forms.append(
                {"action": a.get("action", "") if post else None, "data": {}, "text": [], "max": {}}
            )
            return
        if not self.forms:
            return
        form, name = self.forms[-1], a.get("name", "")
        if tag == "option" and self._select:
            # the option marked selected, unless it is a blank "Choose…": then the first real one
            value = a.get("value", "")
            current = form["data"].get(self._select, "")
            if value and not self._chosen and ("selected" in a or not current):
                form["data"][self._select] = value
                self._chosen = "selected" in a
            form["data"].setdefault(self._select, value)
            return
        if not name:
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a or (kind == "radio" and name not in form["data"]):
                    form["data"][name] = a.get("value", "on")
            elif kind not in ("submit", "button", "file", "image", "reset"):
                form["data"].setdefault(name, a.get("value", ""))
                if kind in ("text", "search", "email", "tel", "url"):
                    form["text"].append(name)
                    form["max"][name] = int(a.get("maxlength") or 10_000)
        elif tag == "select":
            self._select = name
            self._chosen = False
        elif tag == "textarea":
            self._textarea = name
            form["data"][name] = ""
            form["text"].append(name)
            form["max"][name] = int(a.get("maxlength") or 10_000)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            self.forms[-1]["data"][self._textarea] += data


def post_forms(html: str, page: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    forms = []
    for form in parser.forms:
        if form["action"] is None or not form["text"]:
            continue
        form["action"] = form["action"] or page
        forms.append(form)
    return forms


SKIP_FORMS = ("/account/",)  # sign-out, the second factor, the password: their own tests


def test_every_form_on_every_page_shows_hostile_text_inert(client: Client, clinic: Any) -> None:
    reached = set()
    for route in ROUTES:
        path = route.replace("<int:patient_id>", str(clinic.first.pk))
        page = client.get(path)
        if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
            continue
        for form in post_forms(page.content.decode(), path):
            if form["action"].startswith(SKIP_FORMS):
                continue
            reached.add(form["action"])
            data = {**form["data"], **dict.fromkeys(form["text"], PAYLOAD)}
            response = client.post(form["action"], data)
            assert_inert(response, f"POST {form['action']} from {path}")
            if response.status_code in (301, 302, 303):
                assert_inert(client.get(response["Location"]), f"after POST {form['action']}")
    # the sweep is not empty: the registration and inbox forms are among what it found
    assert {reverse("patients:register"), reverse("inbox:new")} <= reached, sorted(reached)


# --- the main forms, one field at a time ---------------------------------------------------------


def _patient_form(client: Client, url: str) -> dict[str, Any]:
    [form] = [f for f in post_forms(client.get(url).content.decode(), url) if f["action"] == url]
    return form


def _registration(clinic: Any) -> dict[str, Any]:
    return {
        "family_name": "Hostile",
        "given_name": "Input",
        "birth_date": "03/09/1975",
        "sex": "female",
        "phone_mobile": "5125550100",
        "address_line1": "12 Oak Lane",
        "city": "Austin",
        "state": "TX",
        "postal_code": "78702",
    }


def _latest(model: str, **where: Any) -> Any:
    from django.apps import apps

    return apps.get_model(model).objects.filter(**where).order_by("-pk").first()


MAIN_FORMS: dict[str, dict[str, Any]] = {
    "registration": {
        "url": lambda c: reverse("patients:register"),
        "fields": [
            "family_name", "given_name", "middle_name", "preferred_name", "address_line1",
            "address_line2", "city", "emergency_contact_name", "emergency_contact_relationship",
            "email",
        ],
        "show": lambda c, response: response["Location"],
        "row": lambda c: _latest("patients.Patient"),
    },
    "patient-edit": {
        "url": lambda c: reverse("patients:edit", args=[c.first.pk]),
        "fields": ["preferred_name", "address_line1", "address_line2", "city",
                   "emergency_contact_name", "emergency_contact_relationship"],
        "show": lambda c, response: reverse("patients:chart", args=[c.first.pk]),
        "row": lambda c: _latest("patients.Patient", pk=c.first.pk),
    },
    "allergy": {
        "url": lambda c: reverse("patients:add_allergy", args=[c.first.pk]),
        "base": {"substance": "Latex", "reaction": "Rash", "severity": "mild"},
        "fields": ["substance", "reaction", "note"],
        "show": lambda c, response: reverse("patients:chart", args=[c.first.pk]),
        "row": lambda c: _latest("patients.Allergy"),
    },
    "problem": {
        "url": lambda c: reverse("patients:add_problem", args=[c.first.pk]),
        "base": {"icd10_code": "E11.9", "description": "Type 2 diabetes"},
        "fields": ["description", "note"],
        "show": lambda c, response: reverse("patients:chart", args=[c.first.pk]),
        "row": lambda c: _latest("patients.Problem"),
    },
    "medication": {
        "url": lambda c: reverse("patients:add_medication", args=[c.first.pk]),
        "base": {"medication": "Metformin", "dose": "500 mg", "frequency": "twice daily"},
        "fields": ["medication", "dose", "route", "frequency", "prescriber", "note"],
        "show": lambda c, response: reverse("patients:chart", args=[c.first.pk]),
        "row": lambda c: _latest("patients.MedicationStatement"),
    },
    "chief-complaint": {
        "url": lambda c: reverse("encounters:chief_complaint", args=[c.visit.pk]),
        "fields": ["chief_complaint"],
        "show": lambda c, response: reverse("encounters:encounter", args=[c.visit.pk]),
        "row": lambda c: _latest("encounters.Encounter", pk=c.visit.pk),
    },
    "inbox-message": {
        "url": lambda c: reverse("inbox:new"),
        "base": {"kind": "phone", "subject": "Call back", "body": "About the results",
                 "callback_number": "5125550100"},
        "fields": ["subject", "caller_name", "caller_relationship", "best_time", "body"],
        "show": lambda c, response: response["Location"],
        "row": lambda c: _latest("inbox.Item"),
    },
    "inbox-note": {
        "url": lambda c: reverse("inbox:comment", args=[c.item.pk]),
        "fields": ["note"],
        "show": lambda c, response: reverse("inbox:item", args=[c.item.pk]),
        "row": lambda c: _latest("inbox.ItemEvent"),
    },
}  # fmt: skip


@pytest.fixture
def chart(client: Client, clinic: Any, everyone: Any, icd10: Any) -> Any:
    """The clinic with a visit open and an inbox message, for the forms that need them."""
    from carebench.encounters import services as visits
    from carebench.inbox import services as inbox

    actor = actor_for(everyone)
    clinic.visit = visits.open_walk_in(actor=actor, patient=clinic.first)
    clinic.item = inbox.create_item(
        actor=actor,
        kind="phone",
        subject="Refill question",
        body="Please call",
        patient=clinic.first,
        callback_number="5125550100",
        assignee=inbox.Assignee(role="mat"),
    )
    return clinic


def _try_field(client: Client, chart: Any, form: str, field: str) -> str:
    """Send the form valid but for `field`; 'saved' (stored exactly, shown escaped) or
    'refused' (the rule named, the value shown escaped)."""
    spec = MAIN_FORMS[form]
    url = spec["url"](chart)
    page = client.get(url)
    found = [f for f in post_forms(page.content.decode(), url) if f["action"] == url]
    defaults = found[0]["data"] if found else {}
    prefix = next((k.rsplit("-", 1)[0] + "-" for k in defaults if k.endswith("-" + field)), "")
    base = {**_registration(chart), **spec.get("base", {})} if form == "registration" else (
        spec.get("base", {}))  # fmt: skip
    limits = found[0]["max"] if found else {}
    payload = PAYLOAD if limits.get(prefix + field, 10_000) >= len(PAYLOAD) else XSS
    data = {**defaults, **{prefix + k: v for k, v in base.items()}, prefix + field: payload}
    response = client.post(url, data)
    assert_inert(response, f"{form}: {field}")
    if response.status_code == 422:
        html = response.content.decode()
        assert "&lt;script&gt;" in html or "at most" in html, f"{form}: {field} refused unseen"
        return "refused"
    assert response.status_code in (200, 302), f"{form}: {field}: {response.status_code}"
    stored = getattr(spec["row"](chart), field)
    assert stored == payload, f"{form}: {field} was stored as {stored!r}"
    shown = client.get(spec["show"](chart, response))
    assert_inert(shown, f"{form}: {field} shown")
    if "alert(1)" in shown.content.decode():
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.content.decode()
    return "saved"


@pytest.mark.parametrize("form", list(MAIN_FORMS))
def test_a_main_form_keeps_hostile_text_as_text_and_shows_it_escaped(
    client: Client, chart: Any, form: str
) -> None:
    outcomes = {
        field: _try_field(client, chart, form, field) for field in MAIN_FORMS[form]["fields"]
    }
    # the valid rest of the form is right: at least one field took the payload as text
    assert "saved" in outcomes.values(), outcomes


# --- FHIR search parameters ---------------------------------------------------------------------


@pytest.fixture
def fhir_client(everyone: Any, clinic: Any) -> Client:
    from carebench.accounts.services import create_api_token

    token = create_api_token(actor=actor_for(everyone), user=everyone)
    return Client(headers={"Authorization": f"Bearer {token}"})


SEARCHES = fhir_searches()


@pytest.mark.parametrize("resource", sorted({r for r, _, _ in SEARCHES}))
def test_fhir_search_takes_hostile_values(fhir_client: Client, clinic: Any, resource: str) -> None:
    for param, value in [
        (p, v) for r, p, _ in SEARCHES if r == resource for v in (PAYLOAD, SQL[2])
    ]:
        response = fhir_client.get(f"/fhir/{resource}", {param: value})
        assert response.status_code in (200, 400, 403, 404, 422), (
            f"{resource}?{param}: {response.status_code} {response.content[:300]!r}"
        )
        body = json.loads(response.content)
        if response.status_code != 200:
            assert body["resourceType"] == "OperationOutcome"
            continue
        assert body["resourceType"] == "Bundle"
        matches = [e for e in body.get("entry", []) if e.get("search", {}).get("mode") == "match"]
        assert matches == [], f"{resource}?{param}={value!r} brought back {len(matches)} rows"


# --- a formula where it will be exported ---------------------------------------------------------


def test_a_user_name_that_is_a_formula_is_inert_in_the_audit_export(
    client: Client, org: Any
) -> None:
    """Django allows `+`, `-` and `@` in user names, and a spreadsheet reads a cell starting
    with one as a formula; a failed sign-in records the name; the CSV export must defuse it."""
    formula = "-1+1@cmd"
    UserFactory(organization=org, username=formula, roles=["mat"])
    Client().post(reverse("accounts:login"), {"username": formula, "password": "wrong"})
    response = client.get(reverse("audit:report"), {"format": "csv"})
    body = b"".join(response.streaming_content).decode()
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    assert "'" + formula in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))]
