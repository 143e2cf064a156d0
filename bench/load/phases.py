"""Run locust as a library and keep every response time (locust's own percentiles are rounded
into buckets; ours are exact).

`run_phase` runs one operation: `users` users sign in, wait for each other, then send
`warmup` untimed and `requests` timed requests between them, and it returns the timed ones.
`Collector` is also what the soak uses to keep per-name times and errors over minutes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust import User
from locust.env import Environment

from . import users as load_users

MAX_ERROR_SAMPLES = 5


@dataclass
class Timed:
    times_ms: list[float] = field(default_factory=list)
    moments: list[float] = field(default_factory=list)  # monotonic end of each request
    first_start: float = float("inf")
    last_end: float = 0.0
    server_cpu_seconds: float = 0.0  # the server's CPU time between go and the end
    errors: int = 0
    server_errors: int = 0
    connection_errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    @property
    def wall_seconds(self) -> float:
        return max(0.0, self.last_end - self.first_start)


class Collector:
    """Listens to locust's request event; one `Timed` per request name."""

    def __init__(self) -> None:
        self.by_name: dict[str, Timed] = {}

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        response_length: int,
        exception: BaseException | None = None,
        start_time: float | None = None,
        response: Any = None,
        **kwargs: Any,
    ) -> None:
        timed = self.by_name.setdefault(name, Timed())
        started = start_time if start_time is not None else time.time() - response_time / 1000
        timed.first_start = min(timed.first_start, started)
        timed.last_end = max(timed.last_end, started + response_time / 1000)
        if exception is None:
            timed.times_ms.append(float(response_time))
            timed.moments.append(time.monotonic())
            return
        timed.errors += 1
        status = int(getattr(response, "status_code", 0) or 0)
        if status >= 500:
            timed.server_errors += 1
        elif status == 0:
            timed.connection_errors += 1
        if len(timed.error_samples) < MAX_ERROR_SAMPLES:
            timed.error_samples.append(f"{request_type} {name}: {exception}")

    def done(self, name: str) -> int:
        timed = self.by_name.get(name)
        return 0 if timed is None else len(timed.times_ms) + timed.errors


def environment(user_classes: list[type[User]], host: str) -> tuple[Environment, Collector]:
    env = Environment(user_classes=user_classes, host=host)
    collector = Collector()
    env.events.request.add_listener(collector.on_request)
    return env, collector


def run_phase(
    user_class: type[load_users.TimedUser],
    *,
    host: str,
    plan: dict[str, Any],
    credentials: dict[str, Any],
    users: int,
    requests: int,
    warmup: int,
    server_pid: int | None = None,
    timeout: float = 900.0,
) -> Timed:
    """`requests` timed requests of one operation with `users` users at once; with
    `server_pid`, the CPU time the server (that process and its children) spent on them and
    their warm-up."""
    from .memory import cpu_seconds

    phase = load_users.Phase(plan=plan, credentials=credentials, total=requests)
    phase.warmup = warmup
    load_users.PHASE = phase
    env, collector = environment([user_class], host)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=float(users))
    deadline = time.monotonic() + timeout
    signed_in_by = time.monotonic() + 120
    while phase.signed_in < users and time.monotonic() < signed_in_by:
        gevent.sleep(0.05)
    cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
    phase.go.set()
    name = user_class.operation
    while collector.done(name) < requests and time.monotonic() < deadline:
        if phase.taken >= phase.warmup + phase.total and runner.user_count == 0:
            break
        gevent.sleep(0.05)
    env.events.request.remove_listener(collector.on_request)
    cpu_after = cpu_seconds(server_pid) if server_pid else 0.0
    runner.quit()
    timed = collector.by_name.get(name, Timed())
    timed.server_cpu_seconds = cpu_after - cpu_before
    for other, result in collector.by_name.items():
        if other != name and result.errors:  # a sign-in or warm-up that failed
            timed.errors += result.errors
            timed.server_errors += result.server_errors
            timed.connection_errors += result.connection_errors
            timed.error_samples += result.error_samples[:MAX_ERROR_SAMPLES]
    return timed
