"""The locust users: one class per timed operation of the harness, and the soak's clinic staff.

Every user talks to the live server as a browser behind the clinic's TLS proxy would: each
request carries `X-Forwarded-Proto: https` (see `server.py`), a POST carries the CSRF token from
the cookie and the page's Origin and Referer. Page users sign in through the sign-in form
(Argon2 and all); FHIR users send the bearer token from the plan. A POST answered with a
redirect is not followed (only the POST is timed); its messages cookie is dropped as the
browser's next page would consume it.

The harness users share one `Phase`: users sign in, wait until all have, then take request
numbers from its budget until it is spent; the first `warmup` numbers are sent under the name
"warm-up" and not counted.
"""

from __future__ import annotations

import re
import time
from http.cookiejar import Cookie, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlencode

import gevent
from gevent.event import Event
from locust import FastHttpUser, between, constant, task
from locust.exception import StopUser

from .server import PROXY_HEADERS

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
WARMUP_NAME = "warm-up"
# gunicorn closes a keep-alive connection idle for 2 s (its default --keep-alive). A browser
# sees the close and opens a new connection; this client would send into the closed one, so
# after this much idle time it opens a new one first.
IDLE_RECONNECT_SECONDS = 1.5


def reconnect_if_idle(user: FastHttpUser) -> None:
    now = time.monotonic()
    if now - getattr(user, "last_request_at", now) > IDLE_RECONNECT_SECONDS:
        user.client.client.close()
    user.last_request_at = now


class Phase:
    """What the users of one timed phase share."""

    def __init__(self, *, plan: dict[str, Any], credentials: dict[str, Any], total: int) -> None:
        self.plan = plan
        self.credentials = credentials
        self.total = total
        self.warmup = 0
        self.taken = 0
        self.signed_in = 0
        self.go = Event()

    def take(self) -> tuple[int, bool] | None:
        """The next request number and whether it is a warm-up; None when all are taken."""
        if self.taken >= self.warmup + self.total:
            return None
        number = self.taken
        self.taken += 1
        return number, number < self.warmup


class Counter:
    """Hands out the next item of a list, once each (slots) or round and round (visits)."""

    def __init__(self) -> None:
        self.next = 0

    def take(self) -> int:
        value = self.next
        self.next += 1
        return value


# Set by the harness and the soak before users start.
PHASE: Phase | None = None
SLOTS = Counter()
VISITS = Counter()


def phase() -> Phase:
    assert PHASE is not None, "set users.PHASE before starting users"
    return PHASE


class BehindTlsProxy(DefaultCookiePolicy):
    """Secure cookies go back to 127.0.0.1 over plain HTTP: the leg between the TLS proxy and
    gunicorn, which is the only leg the benchmark has. Every other rule is the default's."""

    def return_ok_secure(self, cookie: Cookie, request: Any) -> bool:
        return True


class BrowserUser(FastHttpUser):
    """A member of staff signed in through the sign-in form."""

    abstract = True
    role = "mat"
    wait_time = constant(0)
    default_headers = {**PROXY_HEADERS, "User-Agent": "carebench-bench"}
    network_timeout = 120.0
    connection_timeout = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client.cookiejar.set_policy(BehindTlsProxy())

    def origin(self) -> str:
        return f"https://{self.host.split('://', 1)[1]}"

    def cookie(self, name: str) -> str:
        for cookie in self.client.cookiejar:
            if cookie.name == name:
                return str(cookie.value)
        return ""

    def drop_cookie(self, name: str) -> None:
        for cookie in list(self.client.cookiejar):
            if cookie.name == name:
                self.client.cookiejar.clear(cookie.domain, cookie.path, cookie.name)

    def post_headers(self, referer: str) -> dict[str, str]:
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": self.origin(),
            "Referer": self.origin() + referer,
            "X-CSRFToken": self.cookie("csrftoken"),
        }

    def call(
        self,
        method: str,
        path: str,
        name: str,
        expect: int,
        *,
        headers: dict[str, str] | None = None,
        data: dict[str, Any] | None = None,
    ) -> Any:
        """One request; a status other than `expect` is recorded as a failure."""
        body = urlencode(data) if data is not None else None
        reconnect_if_idle(self)
        with self.client.request(
            method,
            path,
            name=name,
            data=body,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != expect:
                why = f" ({response.error})" if getattr(response, "error", None) else ""
                response.failure(f"HTTP {response.status_code}, expected {expect}{why}")
            else:
                response.success()
        self.last_request_at = time.monotonic()
        return response

    def sign_in(self) -> None:
        credentials = phase().credentials
        page = self.call("GET", "/account/login/", "sign-in page", 200)
        found = CSRF_FIELD.search(page.text or "")
        if not found:
            raise StopUser()
        self.call(
            "POST",
            "/account/login/",
            "sign in",
            302,
            headers=self.post_headers("/account/login/"),
            data={
                "csrfmiddlewaretoken": found.group(1),
                "username": credentials["users"][self.role],
                "password": credentials["password"],
                "next": "/",
            },
        )

    def post_form(self, path: str, name: str, data: dict[str, Any], referer: str) -> Any:
        response = self.call("POST", path, name, 302, headers=self.post_headers(referer), data=data)
        self.drop_cookie("messages")
        return response


class TimedUser(BrowserUser):
    """A harness user: signs in, waits for the others, then makes its share of one request."""

    abstract = True
    operation = ""

    def on_start(self) -> None:
        if self.needs_session():
            self.sign_in()
        phase().signed_in += 1
        phase().go.wait()

    def needs_session(self) -> bool:
        return True

    @task
    def one(self) -> None:
        taken = phase().take()
        if taken is None:
            raise StopUser()
        number, warm = taken
        self.request(number, WARMUP_NAME if warm else self.operation)

    def request(self, number: int, name: str) -> None:
        raise NotImplementedError


def search_text(patient: dict[str, Any], number: int) -> str:
    """Name start, "last, first initial", date of birth or MRN, in turn."""
    kind = number % 4
    if kind == 0:
        return str(patient["family"])[:3].lower()
    if kind == 1:
        return f"{patient['family']}, {str(patient['given'])[:1]}"
    if kind == 2:
        return str(patient["dob"])
    return str(patient["mrn"])


def patient_for(number: int) -> dict[str, Any]:
    patients = phase().plan["patients"]
    return patients[(number * 7) % len(patients)]


class PatientSearch(TimedUser):
    operation = "patient search"

    def request(self, number: int, name: str) -> None:
        query = urlencode({"q": search_text(patient_for(number), number)})
        headers = {"HX-Request": "true", "HX-Current-URL": self.origin() + "/"}
        self.call("GET", f"/patients/search/?{query}", name, 200, headers=headers)


class ChartOpen(TimedUser):
    operation = "chart open"

    def request(self, number: int, name: str) -> None:
        self.call("GET", f"/patients/{patient_for(number)['id']}/", name, 200)


def vitals_form(number: int) -> dict[str, Any]:
    return {
        "systolic": 112 + number % 30,
        "diastolic": 64 + number % 20,
        "bp_position": "sitting",
        "bp_arm": "left",
        "bp_cuff_size": "adult",
        "heart_rate": 60 + number % 30,
        "respiratory_rate": 14 + number % 5,
        "temperature": "98.4",
        "temperature_unit": "F",
        "temperature_route": "oral",
        "spo2": 95 + number % 5,
        "height": 160 + number % 25,
        "weight": 140 + number % 80,
        "weight_unit": "lb",
        "pain": number % 4,
    }


class VitalsSave(TimedUser):
    operation = "vitals save"

    def request(self, number: int, name: str) -> None:
        visits = phase().plan["walk_ins"]
        visit = visits[VISITS.take() % len(visits)]
        path = f"/visits/{visit}/vitals/"
        self.post_form(path, name, vitals_form(number), path)


def booking_form(plan: dict[str, Any], slot: dict[str, Any]) -> dict[str, Any]:
    return {
        "patient": slot["patient"],
        "appointment_type": plan["appointment_type"],
        "facility": plan["facility"],
        "provider": slot["provider"],
        "date": slot["date"],
        "slot": slot["slot"],
        "reason": "Knee pain",
    }


class Booking(TimedUser):
    operation = "booking"
    role = "frontdesk"

    def request(self, number: int, name: str) -> None:
        plan = phase().plan
        slot = plan["slots"][SLOTS.take()]
        self.post_form("/schedule/book/", name, booking_form(plan, slot), "/schedule/book/")


class DayView(TimedUser):
    operation = "facility day view"
    role = "frontdesk"

    def request(self, number: int, name: str) -> None:
        plan = phase().plan
        query = urlencode({"facility": plan["facility"], "date": plan["busy_day"]})
        self.call("GET", f"/schedule/?{query}", name, 200)


class FhirUser(TimedUser):
    abstract = True

    def needs_session(self) -> bool:
        return False

    def fhir_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {phase().plan['token']}",
            "Accept": "application/fhir+json",
        }


class FhirPatientRead(FhirUser):
    operation = "FHIR Patient read"

    def request(self, number: int, name: str) -> None:
        patient = patient_for(number)
        self.call("GET", f"/fhir/Patient/{patient['id']}", name, 200, headers=self.fhir_headers())


class FhirPatientSearch(FhirUser):
    operation = "FHIR Patient search"

    def request(self, number: int, name: str) -> None:
        query = urlencode({"name": str(patient_for(number)["family"])[:4].lower()})
        self.call("GET", f"/fhir/Patient?{query}", name, 200, headers=self.fhir_headers())


TIMED_USERS: list[type[TimedUser]] = [
    PatientSearch,
    ChartOpen,
    VitalsSave,
    Booking,
    DayView,
    FhirPatientRead,
    FhirPatientSearch,
]


# --- the soak: a clinic's day, compressed ---------------------------------------------------


class SoakUser(BrowserUser):
    """Signs in, then works with a few seconds between clicks; now and then signs out and in
    (about one action in fifty, as after the idle time-out)."""

    abstract = True
    wait_time = between(1, 5)

    def on_start(self) -> None:
        self.number = id(self) % 997
        self.sign_in()

    def next_number(self) -> int:
        self.number += 1
        return self.number

    @task(1)
    def sign_out_and_in(self) -> None:
        self.call(
            "POST", "/account/logout/", "sign out", 302, headers=self.post_headers("/"), data={}
        )
        self.sign_in()

    def search_and_open(self) -> None:
        """The typeahead as typed (a few letters of the name, then more), or a date of birth
        or MRN at once; then the chart."""
        number = self.next_number()
        patient = patient_for(number)
        headers = {"HX-Request": "true", "HX-Current-URL": self.origin() + "/"}
        if number % 2:
            typed = [str(patient["family"])[:3].lower(), search_text(patient, 1)]
        else:
            typed = [search_text(patient, 2 + number % 4 // 2)]  # date of birth or MRN
        for text in typed:
            query = urlencode({"q": text})
            self.call("GET", f"/patients/search/?{query}", "patient search", 200, headers=headers)
            gevent.sleep(0.4)
        self.call("GET", f"/patients/{patient['id']}/", "chart open", 200)


class SoakMat(SoakUser):
    weight = 3
    role = "mat"

    @task(15)
    def flow_board(self) -> None:
        self.call("GET", "/schedule/board/", "flow board", 200)

    @task(15)
    def find_patient(self) -> None:
        self.search_and_open()

    @task(12)
    def vitals(self) -> None:
        visits = phase().plan["walk_ins"]
        visit = visits[VISITS.take() % len(visits)]
        self.call("GET", f"/visits/{visit}/", "visit page", 200)
        path = f"/visits/{visit}/vitals/"
        self.post_form(path, "vitals save", vitals_form(self.next_number()), f"/visits/{visit}/")

    @task(5)
    def vitals_history(self) -> None:
        patient = patient_for(self.next_number())
        self.call("GET", f"/visits/patients/{patient['id']}/vitals/", "vitals history", 200)


class SoakFrontDesk(SoakUser):
    weight = 2
    role = "frontdesk"

    @task(15)
    def find_patient(self) -> None:
        self.search_and_open()

    @task(10)
    def day_view(self) -> None:
        self.call("GET", f"/schedule/?facility={phase().plan['facility']}", "day view", 200)

    @task(10)
    def book(self) -> None:
        plan = phase().plan
        number = SLOTS.take()
        if number >= len(plan["slots"]):
            return
        self.call("GET", "/schedule/book/", "booking page", 200)
        form = booking_form(plan, plan["slots"][number])
        self.post_form("/schedule/book/", "booking", form, "/schedule/book/")

    @task(10)
    def flow_board(self) -> None:
        self.call("GET", "/schedule/board/", "flow board", 200)


class SoakBiller(SoakUser):
    weight = 1
    role = "biller"

    @task(20)
    def worklist(self) -> None:
        self.call("GET", "/billing/", "billing worklist", 200)

    @task(10)
    def denials(self) -> None:
        self.call("GET", "/billing/denials/", "billing denials", 200)

    @task(15)
    def chart(self) -> None:
        patient = patient_for(self.next_number())
        self.call("GET", f"/patients/{patient['id']}/", "chart open", 200)


class SoakApiClient(FastHttpUser):
    """Another system reading patients through the FHIR API."""

    weight = 1
    wait_time = between(1, 5)
    default_headers = {**PROXY_HEADERS, "User-Agent": "carebench-bench"}

    def on_start(self) -> None:
        self.number = id(self) % 991

    def fetch(self, path: str, name: str) -> None:
        headers = {
            "Authorization": f"Bearer {phase().plan['token']}",
            "Accept": "application/fhir+json",
        }
        reconnect_if_idle(self)
        with self.client.request(
            "GET", path, name=name, headers=headers, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}, expected 200")
        self.last_request_at = time.monotonic()

    @task(2)
    def read(self) -> None:
        self.number += 1
        self.fetch(f"/fhir/Patient/{patient_for(self.number)['id']}", "FHIR Patient read")

    @task(1)
    def search(self) -> None:
        self.number += 1
        family = str(patient_for(self.number)["family"])[:4].lower()
        self.fetch(f"/fhir/Patient?{urlencode({'name': family})}", "FHIR Patient search")


SOAK_USERS: list[type[FastHttpUser]] = [SoakMat, SoakFrontDesk, SoakBiller, SoakApiClient]
