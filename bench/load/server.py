"""Start and stop carebench the production way for a benchmark, on this machine only.

The web server is `carebench serve` (gunicorn, its documented 2 workers x 4 threads) with
`carebench.settings.production`: DEBUG off, a fresh 64-character secret key, HTTPS-only
cookies, HSTS, SSL redirect and `check --deploy` clean. Nothing is relaxed. As in production,
TLS ends at a proxy in front of gunicorn; the load clients play that proxy's part on
127.0.0.1: they send `X-Forwarded-Proto: https` (the header the production settings trust) and
keep the Secure cookies on the plain loopback connection. Static files are collected first
(the production storage serves from its manifest).

Set-up commands (seeding, the demo, the plan) run with the base settings against the same
database.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CAREBENCH = str(BIN / "carebench")
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
SERVER_WORKERS = 2  # carebench serve's documented default
SERVER_THREADS = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def setup_env(database_url: str, var_dir: Path) -> dict[str, str]:
    """The environment of the set-up commands: base settings, this database."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="carebench.settings",
        DATABASE_URL=database_url,
        CAREBENCH_VAR_DIR=str(var_dir),
        PYTHONPATH=str(ROOT),
    )
    return env


def production_env(database_url: str, var_dir: Path) -> dict[str, str]:
    """The server's environment: the production settings, unchanged, on 127.0.0.1."""
    env = setup_env(database_url, var_dir)
    env.update(
        DJANGO_SETTINGS_MODULE="carebench.settings.production",
        CAREBENCH_SECRET_KEY=secrets.token_urlsafe(64),
        CAREBENCH_ALLOWED_HOSTS="127.0.0.1,localhost",
        CAREBENCH_LOG_LEVEL="WARNING",
    )
    return env


def run_command(args: list[str], env: dict[str, str], *, what: str, quiet: bool = False) -> str:
    """Run a carebench command to its end; its output, or SystemExit naming what failed."""
    done = subprocess.run(
        [CAREBENCH, *args], env=env, cwd=ROOT, capture_output=quiet, text=True, check=False
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout or "")[-2000:] if quiet else ""
        raise SystemExit(f"{what} failed (exit {done.returncode}): {' '.join(args)}\n{detail}")
    return done.stdout or ""


def collect_static(env: dict[str, str]) -> None:
    run_command(
        ["manage", "collectstatic", "--noinput", "--verbosity", "0"],
        env,
        what="collectstatic",
        quiet=True,
    )


class Process:
    """A child process with its log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._log: IO[str] = log_path.open("w")
        self.popen = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def check_alive(self, what: str) -> None:
        if self.popen.poll() is not None:
            raise SystemExit(
                f"{what} stopped (exit {self.popen.returncode}); its log "
                f"{self.log_path}:\n{self.log_tail()}"
            )

    def stop(self, timeout: float = 30.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._log.close()


class LiveServer(Process):
    """`carebench serve` on a free port of 127.0.0.1 (gunicorn replaces the command, so the
    process id is gunicorn's master)."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        *,
        workers: int = SERVER_WORKERS,
        threads: int = SERVER_THREADS,
    ) -> None:
        self.port = free_port()
        self.workers = workers
        self.threads = threads
        args = [CAREBENCH, "serve", "--port", str(self.port), "--workers", str(workers)]
        super().__init__([*args, "--threads", str(threads)], env, log_path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        return (
            f"carebench serve: gunicorn, {self.workers} workers x {self.threads} threads (gthread), "
            "carebench.settings.production behind a simulated TLS proxy (X-Forwarded-Proto), "
            "on 127.0.0.1"
        )

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Until /healthz answers 200 (the command migrates first when it must)."""
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(f"{self.url}/healthz", headers=PROXY_HEADERS)
        while time.monotonic() < deadline:
            self.check_alive("the server")
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise SystemExit(f"the server did not answer /healthz in {timeout:.0f} s")


class Hl7Listener(Process):
    """`carebench hl7 listen` on a free port of 127.0.0.1 for one organization."""

    def __init__(self, env: dict[str, str], log_path: Path, *, organization: str) -> None:
        self.port = free_port()
        args = [CAREBENCH, "hl7", "listen", "--port", str(self.port)]
        super().__init__([*args, "--organization", organization], env, log_path)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive("the HL7 listener")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"the HL7 listener did not open port {self.port} in {timeout:.0f} s")
