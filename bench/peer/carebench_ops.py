"""carebench side of `make bench-peer`: the five operations through the HTTP API of a live
server (gunicorn started by `carebench serve`), as an outside client sees them.

Every request goes over a kept-alive HTTP/1.1 connection per client thread, with the bearer
token of a medical assistant and `X-Forwarded-Proto: https` (the server runs the production
settings behind where a TLS proxy would be). The operations:

| key | requests (one operation) |
|---|---|
| create_patient | `POST /fhir/Patient` (name, sex, date of birth) |
| search_name | `GET /fhir/Patient?name=<3 letters>` (first page of 20, with the total) |
| record_vitals | `POST /visits/<walk-in visit>/vitals/`: one full set (BP, pulse, temperature, RR, SpO2, height, weight) in one request; the API has no one-request vital-sign set |
| record_vitals_fhir | the same set as 7 `POST /fhir/Observation` (BP panel, pulse, temperature, RR, SpO2, height, weight): how an API client records it today |
| create_appointment | `POST /fhir/Appointment` into a free Slot found beforehand (untimed) |
| read_patient | `GET /fhir/Patient/<id>`, then `AllergyIntolerance`, `Condition` and vital-sign `Observation` searches `?patient=<id>` (4 requests) |

The vitals page is signed in with a session (one per client thread) as the same user; the
rest uses the token. `run_operation` runs an operation `warmup + count` times over `clients`
threads and returns latencies and throughput.
"""

from __future__ import annotations

import http.client
import itertools
import json
import random
import re
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

GIVEN = ["Ana", "Ben", "Cora", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lena"]
FAMILY = ["Peerson", "Benchley", "Compton", "Measures", "Throughput", "Latimer", "Ratio"]
VITALS_FORM = {
    "systolic": "122",
    "diastolic": "78",
    "bp_position": "sitting",
    "bp_arm": "left",
    "bp_cuff_size": "adult",
    "heart_rate": "72",
    "respiratory_rate": "16",
    "temperature": "98.4",
    "temperature_unit": "F",
    "temperature_route": "oral",
    "spo2": "98",
    "height": "170",
    "height_unit": "cm",
    "weight": "72",
    "weight_unit": "kg",
}
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VITAL_CATEGORY = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "vital-signs",
            }
        ]
    }
]
PAGE_SIZE = 20


class HttpFailure(RuntimeError):
    pass


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


class Client:
    """One kept-alive connection to the server: bearer token, or a signed-in session."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.cookies: dict[str, str] = {}
        self.visit: int | None = None  # the walk-in visit this session records vitals on
        self.connection: http.client.HTTPConnection | None = None
        self.origin = f"https://{host}:{port}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        session: bool = False,
    ) -> tuple[int, bytes, http.client.HTTPResponse]:
        sent = {"X-Forwarded-Proto": "https", "Host": f"{self.host}:{self.port}"}
        if session:
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            sent["Origin"] = self.origin
            sent["Referer"] = self.origin + path
        else:
            sent["Authorization"] = f"Bearer {self.token}"
            sent["Accept"] = "application/fhir+json"
        sent.update(headers or {})
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.connection.request(method, path, body=body, headers=sent)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.HTTPException, ConnectionError):
                # The server closed a kept-alive connection: open a new one, once.
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
                continue
            if session:
                for name, value in response.getheaders():
                    if name.lower() == "set-cookie":
                        cookie = value.split(";", 1)[0]
                        key, _, val = cookie.partition("=")
                        self.cookies[key.strip()] = val.strip().strip('"')
            return response.status, data, response
        raise AssertionError("unreachable")

    def fhir(self, method: str, path: str, resource: dict[str, Any] | None = None) -> Any:
        body = json.dumps(resource).encode() if resource is not None else None
        headers = {"Content-Type": "application/fhir+json"} if body is not None else {}
        status, data, _ = self.request(method, "/fhir/" + path, body, headers)
        if status >= 300:
            raise HttpFailure(f"{method} /fhir/{path}: {status} {data[:300]!r}")
        return json.loads(data) if data else None

    def sign_in(self, username: str, password: str) -> None:
        status, data, _ = self.request("GET", "/account/login/", session=True)
        token = _csrf_token(data)
        form = {"username": username, "password": password, "csrfmiddlewaretoken": token}
        status, data, _ = self.post_form("/account/login/", form)
        if status != 302 or "sessionid" not in self.cookies:
            raise HttpFailure(f"sign-in as {username} failed: {status} {data[:200]!r}")

    def post_form(self, path: str, form: dict[str, str]) -> tuple[int, bytes, Any]:
        body = urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", path, body, headers, session=True)

    def csrf(self) -> str:
        return self.cookies.get("csrftoken", "")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _csrf_token(page: bytes) -> str:
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not match:
        raise HttpFailure("no CSRF token on the sign-in page")
    return match.group(1).decode()


@dataclass
class Workload:
    """What the timed operations use, gathered through the API before timing (untimed)."""

    patients: list[int]
    prefixes: list[str]
    slots: list[dict[str, Any]]
    booking_patients: list[int]
    search_hits: list[int] = field(default_factory=list)


def gather(client: Client, count: int, rng: random.Random, *, days_ahead: int = 28) -> Workload:
    """Patients, family-name prefixes and free slots for `count` operations of each kind."""
    ids: list[int] = []
    families: list[str] = []
    offset = 0
    while True:
        bundle = client.fhir("GET", f"Patient?_count=100&_offset={offset}")
        entries = bundle.get("entry", [])
        for entry in entries:
            resource = entry["resource"]
            ids.append(int(resource["id"]))
            family = resource.get("name", [{}])[0].get("family", "")
            if len(family) >= 3 and family not in FAMILY:
                families.append(family)
        offset += 100
        if not entries or offset >= bundle.get("total", 0) or len(ids) >= 5000:
            break
    if not ids:
        raise HttpFailure("the server has no patients to work with")
    patients = [rng.choice(ids) for _ in range(count)]
    prefixes = [rng.choice(families)[:3].lower() for _ in range(count)]
    slots = free_slots(client, count, date.today() + timedelta(days=days_ahead))
    # Who books which slot: drawn afresh when the free slots have moved on since the last run,
    # so a patient is rarely given a time next to one they were booked into before (a 409).
    pairing = random.Random(f"{rng.random()}-{slots[0]['id']}")
    booking_patients = pairing.sample(ids, min(count, len(ids)))
    while len(booking_patients) < count:
        booking_patients.append(pairing.choice(ids))
    return Workload(patients, prefixes, slots, booking_patients)


def free_slots(client: Client, count: int, first_day: date) -> list[dict[str, Any]]:
    """`count` free, non-overlapping slots from `first_day` on, spread over the providers."""
    practitioners = [
        int(entry["resource"]["id"])
        for entry in client.fhir("GET", "Practitioner?_count=100&active=true").get("entry", [])
    ]
    if not practitioners:
        raise HttpFailure("the server has no active practitioners to book with")
    per_provider: dict[int, list[dict[str, Any]]] = {}
    day = first_day
    for _ in range(12):  # up to 12 windows of 14 days
        last = day + timedelta(days=13)
        for practitioner in practitioners:
            query = urlencode(
                [
                    ("schedule.actor", f"Practitioner/{practitioner}"),
                    ("start", f"ge{day.isoformat()}"),
                    ("start", f"le{last.isoformat()}"),
                    ("_count", "100"),
                ]
            )
            kept = per_provider.setdefault(practitioner, [])
            for entry in client.fhir("GET", f"Slot?{query}").get("entry", []):
                slot = entry["resource"]
                if kept and datetime.fromisoformat(slot["start"]) < datetime.fromisoformat(
                    kept[-1]["end"]
                ):
                    continue  # slots are listed every few minutes: keep those that do not overlap
                kept.append({**slot, "practitioner": practitioner})
        if sum(len(v) for v in per_provider.values()) >= count:
            break
        day = last + timedelta(days=1)
    # Round robin over the providers, so concurrent bookings rarely queue on one provider's lock.
    ordered = [
        slot
        for group in itertools.zip_longest(*per_provider.values())
        for slot in group
        if slot is not None
    ]
    if len(ordered) < count:
        raise HttpFailure(f"only {len(ordered)} free slots found, {count} needed")
    return ordered[:count]


def open_visits(client: Client, patients: list[int]) -> list[int]:
    """Walk-in visits (the page's POST) to record vitals on: one per patient given."""
    visits = []
    for patient in patients:
        status, data, response = client.post_form(
            f"/visits/walk-in/{patient}/", {"csrfmiddlewaretoken": client.csrf()}
        )
        location = response.getheader("Location", "")
        match = re.search(r"/visits/(\d+)/", location)
        if status != 302 or not match:
            raise HttpFailure(f"walk-in for patient {patient}: {status} {data[:200]!r}")
        visits.append(int(match.group(1)))
    return visits


# --- the operations ------------------------------------------------------------------------------


def new_patient(i: int) -> dict[str, Any]:
    born = date(1940, 1, 1) + timedelta(days=(i * 7919) % (365 * 80))
    return {
        "resourceType": "Patient",
        "name": [
            {"use": "official", "family": FAMILY[i % len(FAMILY)], "given": [GIVEN[i % len(GIVEN)]]}
        ],
        "gender": "female" if i % 2 else "male",
        "birthDate": born.isoformat(),
    }


def quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def vital(patient: int, loinc: str, **values: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": VITAL_CATEGORY,
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{patient}"},
        **values,
    }


def vital_set(patient: int) -> list[dict[str, Any]]:
    """The vitals of one GNU Health evaluation, as carebench's FHIR Observations."""
    return [
        vital(
            patient,
            "85354-9",
            component=[
                {
                    "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                    "valueQuantity": quantity(122, "mmHg", "mm[Hg]"),
                },
                {
                    "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                    "valueQuantity": quantity(78, "mmHg", "mm[Hg]"),
                },
            ],
        ),
        vital(patient, "8867-4", valueQuantity=quantity(72, "beats/min", "/min")),
        vital(patient, "8310-5", valueQuantity=quantity(36.9, "C", "Cel")),
        vital(patient, "9279-1", valueQuantity=quantity(16, "breaths/min", "/min")),
        vital(patient, "59408-5", valueQuantity=quantity(98, "%", "%")),
        vital(patient, "8302-2", valueQuantity=quantity(170, "cm", "cm")),
        vital(patient, "29463-7", valueQuantity=quantity(72, "kg", "kg")),
    ]


def appointment(slot: dict[str, Any], patient: int) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "serviceType": slot["serviceType"],
        "start": slot["start"],
        "end": slot["end"],
        "participant": [
            {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{slot['practitioner']}"}, "status": "accepted"},
        ],
    }


def operations(work: Workload) -> dict[str, tuple[str, Callable[[Client, int], None]]]:
    """key -> (label, call(client, i)) for the i-th operation of each kind."""

    def create_patient(client: Client, i: int) -> None:
        client.fhir("POST", "Patient", new_patient(i))

    def search_name(client: Client, i: int) -> None:
        bundle = client.fhir(
            "GET", "Patient?" + urlencode({"name": work.prefixes[i % len(work.prefixes)]})
        )
        work.search_hits.append(int(bundle.get("total", 0)))

    def record_vitals(client: Client, i: int) -> None:
        visit = client.visit
        form = {**VITALS_FORM, "csrfmiddlewaretoken": client.csrf()}
        status, data, _ = client.post_form(f"/visits/{visit}/vitals/", form)
        if status != 302:
            raise HttpFailure(f"POST /visits/{visit}/vitals/: {status} {data[:300]!r}")
        # A browser follows the redirect and its page clears the messages cookie.
        client.cookies.pop("messages", None)

    def record_vitals_fhir(client: Client, i: int) -> None:
        for resource in vital_set(work.patients[i % len(work.patients)]):
            client.fhir("POST", "Observation", resource)

    def create_appointment(client: Client, i: int) -> None:
        slot = work.slots[i % len(work.slots)]
        client.fhir("POST", "Appointment", appointment(slot, work.booking_patients[i]))

    def read_patient(client: Client, i: int) -> None:
        patient = work.patients[i % len(work.patients)]
        client.fhir("GET", f"Patient/{patient}")
        client.fhir("GET", f"AllergyIntolerance?patient={patient}")
        client.fhir("GET", f"Condition?patient={patient}")
        client.fhir("GET", f"Observation?patient={patient}&category=vital-signs")

    return {
        "create_patient": ("create patient", create_patient),
        "search_name": ("search by name", search_name),
        "record_vitals": ("record vital signs", record_vitals),
        "record_vitals_fhir": ("record vital signs (FHIR, 7 POSTs)", record_vitals_fhir),
        "create_appointment": ("create appointment", create_appointment),
        "read_patient": ("read patient with related rows", read_patient),
    }


def run_operation(
    call: Callable[[Client, int], None],
    clients: list[Client],
    *,
    count: int,
    warmup: int,
    first_index: int = 0,
) -> dict[str, Any]:
    """`warmup` then `count` calls spread over the clients' threads; the timed part's numbers.

    Indexes `first_index .. first_index + warmup + count - 1` are handed out in order, so each
    call gets its own slot, patient or name. Failed calls are counted, not timed."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def phase(start: int, stop: int, record: bool) -> float:
        counter = itertools.count(start)

        def worker(client: Client) -> None:
            while (i := next(counter)) < stop:
                began = time.perf_counter()
                try:
                    call(client, i)
                except Exception as exc:  # noqa: BLE001 - counted and reported, not fatal
                    with lock:
                        failures.append(str(exc)[:300])
                    continue
                took = (time.perf_counter() - began) * 1000
                if record:
                    with lock:
                        latencies.append(took)

        threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - began

    phase(first_index, first_index + warmup, record=False)
    warmup_failures = len(failures)
    wall = phase(first_index + warmup, first_index + warmup + count, record=True)
    done = len(latencies)
    return {
        "count": done,
        "failures": len(failures) - warmup_failures,
        "warmup_failures": warmup_failures,
        "first_failures": failures[:3],
        "wall_s": round(wall, 4),
        "ops_per_s": round(done / wall, 2) if wall else 0.0,
        "p50_ms": round(statistics.median(latencies), 3) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95), 3) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 3) if latencies else None,
    }
