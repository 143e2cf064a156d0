"""Send ORU^R01 messages to the live `carebench hl7 listen` over MLLP, as a lab's interface
engine does: one message, wait for its ACK, the next; several connections at once for the
throughput. Times each message from its first byte sent to its ACK's last byte read.
"""

from __future__ import annotations

import socket
import time

import gevent
from gevent.pool import Pool

from carebench.labs.hl7.mllp import TRAILER, frame

from .phases import Timed

ACK_TIMEOUT_SECONDS = 60.0


def ack_code(ack: bytes) -> str:
    """MSA-1 of an ACK (AA, AE, AR), or "?"."""
    for segment in ack.decode("utf-8", "replace").strip("\x0b\x1c\r\n").split("\r"):
        if segment.startswith("MSA|"):
            fields = segment.split("|")
            return fields[1] if len(fields) > 1 else "?"
    return "?"


def read_ack(connection: socket.socket) -> bytes:
    data = b""
    while not data.endswith(TRAILER):
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the listener closed the connection before the ACK")
        data += chunk
    return data


def send_all(port: int, messages: list[str], connections: int) -> Timed:
    """Every message once, over `connections` connections taking the next message in turn."""
    timed = Timed()
    queue = list(reversed(messages))

    def one_connection() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=ACK_TIMEOUT_SECONDS) as conn:
            while queue:
                text = queue.pop()
                started_wall = time.time()
                started = time.perf_counter()
                try:
                    conn.sendall(frame(text))
                    ack = read_ack(conn)
                except OSError as exc:
                    timed.errors += 1
                    timed.connection_errors += 1
                    timed.error_samples.append(f"MLLP: {exc}")
                    return
                elapsed = time.perf_counter() - started
                timed.first_start = min(timed.first_start, started_wall)
                timed.last_end = max(timed.last_end, started_wall + elapsed)
                code = ack_code(ack)
                if code != "AA":
                    timed.errors += 1
                    if len(timed.error_samples) < 5:
                        timed.error_samples.append(f"ACK {code}: {ack[:300]!r}")
                    continue
                timed.times_ms.append(elapsed * 1000)

    pool = Pool(connections)
    for _ in range(connections):
        pool.spawn(one_connection)
    pool.join()
    gevent.sleep(0)
    return timed
