"""`carebench hl7 ...`: the HL7 v2.5.1 lab interface from the command line.

    carebench hl7 listen --port 2575 [--host 0.0.0.0] [--organization SLUG]
    carebench hl7 import FILE [FILE ...] [--batch N] [--organization SLUG]
    carebench hl7 outbox --dump DIR [--type VXU|ORM] [--organization SLUG]
    carebench hl7 send --type VXU|ORM --host HOST --port PORT [--timeout S] [--limit N]
                       [--organization SLUG]
    carebench hl7 acks FILE [FILE ...] [--organization SLUG]

`listen` takes ORU^R01 results over MLLP (TCP), one ACK per message, each message handled in
turn (a single worker thread, so results are stored in arrival order); a client that sends
garbage or hangs up is dropped without stopping the listener; SIGINT or SIGTERM stops it
cleanly after the message in hand. `import` reads files of one or many messages (a message
starts at each MSH), takes them --batch at a time (200; one transaction per batch, through
`hl7_services.ingest_many`) and prints a line per message with its ACK code.

Each outbound message type has its own receiver: ORM^O01 lab orders go to the reference lab,
VXU^V04 immunizations to the state registry. `outbox` writes the queued or sent outbound
messages and marks them sent: with --type, that type's as DIR/<control id>.hl7; without it,
every type, each in its own folder, DIR/<type>/<control id>.hl7 (DIR/ORM, DIR/VXU), so the
files for each receiver stay apart.

`send` sends the queued outbound messages of one --type (required: VXU for the registry, ORM
for the lab; the others stay queued), oldest first, over one MLLP connection, waiting --timeout
seconds (10) for each ACK (`hl7_services.send_queued`), and prints a line per message: control
id, type, ACK code, status and error. A message that got AE or AR shows as error/rejected until
someone resends it from the Interface page (an AE with warnings only is accepted); one that went
out without an ACK coming back is `sent`; when the connection fails the messages stay queued
with the reason. It exits with status 1 when a message was not sent or got no ACK (for cron).
`acks` reads ACK files a receiver returned (one, many or a batch per file), matches each by
MSA-2 to an outbound message and records it (`hl7_services.import_acks`), a file at a time;
a file with an unreadable ACK or an unknown MSA-2 is refused whole (status 1).

--organization takes a slug or an id; without it, the only organization.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

MAX_MESSAGE_BYTES = 1_000_000
IDLE_TIMEOUT_SECONDS = 300.0
IMPORT_BATCH = 200  # messages per transaction for `import`
SEND_TIMEOUT_SECONDS = 10.0
# --type: the outbound message types, one receiver each (hl7_services.OUTBOUND_TYPES).
MESSAGE_TYPES = ("VXU", "ORM")
TYPE_HELP = {
    "send": "which messages to send: VXU (immunizations, to the registry) or ORM (lab orders, to"
    " the reference lab); the others stay queued",
    "outbox": "write only this type's messages, as DIR/<control id>.hl7 (default: every type,"
    " as DIR/<type>/<control id>.hl7)",
}


def _organization(value: str | None) -> Any:
    from carebench.core.cli import organization_from

    return organization_from(value)


def _read_text(name: str) -> str:
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        raise CommandError(f"{name}: cannot read ({exc.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"{folder}: cannot create ({exc.strerror})") from None


def _outbound_line(row: Any) -> str:
    """control id, type, ACK code, status, error."""
    line = f"{row.control_id} {row.message_type} {row.ack_code or '-'} {row.status}"
    return line + (f" ({row.error})" if row.error else "")


def _ack_code(ack: str) -> str:
    lines = ack.split("\r")
    return lines[1].split("|")[1] if len(lines) > 1 and "|" in lines[1] else "?"


class Command(BaseCommand):
    help = (
        "HL7 v2.5.1 interface: listen (MLLP), import files, dump the outbox (a folder per"
        " message type), send one message type's queue (MLLP: --type VXU to the registry, ORM"
        " to the lab), read ACK files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listen = sub.add_parser("listen", help="take results over MLLP")
        listen.add_argument("--port", type=int, required=True)
        listen.add_argument("--host", default="127.0.0.1")
        listen.add_argument("--organization", default=None)
        imp = sub.add_parser("import", help="take results from files")
        imp.add_argument("files", nargs="+")
        imp.add_argument("--organization", default=None)
        imp.add_argument(
            "--batch",
            type=int,
            default=IMPORT_BATCH,
            metavar="N",
            help=f"messages per transaction (default {IMPORT_BATCH})",
        )
        outbox = sub.add_parser(
            "outbox",
            help="write the outbound messages to a folder (a subfolder per type without --type)",
        )
        outbox.add_argument("--dump", required=True, metavar="DIR")
        outbox.add_argument(
            "--type",
            dest="message_type",
            choices=MESSAGE_TYPES,
            default=None,
            help=TYPE_HELP["outbox"],
        )
        outbox.add_argument("--organization", default=None)
        send = sub.add_parser(
            "send", help="send the queued outbound messages of one type over MLLP"
        )
        send.add_argument(
            "--type",
            dest="message_type",
            choices=MESSAGE_TYPES,
            required=True,
            help=TYPE_HELP["send"],
        )
        send.add_argument("--host", required=True)
        send.add_argument("--port", type=int, required=True)
        send.add_argument(
            "--timeout",
            type=float,
            default=SEND_TIMEOUT_SECONDS,
            metavar="S",
            help=f"seconds to connect and to wait for each ACK (default {SEND_TIMEOUT_SECONDS:g})",
        )
        send.add_argument("--limit", type=int, default=None, metavar="N")
        send.add_argument("--organization", default=None)
        acks = sub.add_parser("acks", help="record ACK files returned for outbound messages")
        acks.add_argument("files", nargs="+")
        acks.add_argument("--organization", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        organization = _organization(options.get("organization"))
        action = options["action"]
        if action == "import":
            if options["batch"] < 1:
                raise CommandError("--batch must be 1 or more")
            self._import(organization, options["files"], options["batch"])
        elif action == "outbox":
            self._outbox(organization, Path(options["dump"]), options.get("message_type"))
        elif action == "send":
            self._send(organization, options)
        elif action == "acks":
            self._acks(organization, options["files"])
        else:
            server = Listener(organization, options["host"], options["port"], out=self.stdout)
            server.run()

    def _import(self, organization: Any, files: list[str], batch: int) -> None:
        from carebench.core.actor import Actor
        from carebench.labs import hl7_services
        from carebench.labs.hl7.parse import read_header, split_messages

        actor = Actor(user=None, organization=organization, channel="cli")
        zone = hl7_services.zone_for(organization)
        counts: dict[str, int] = {}
        for name in files:
            path = Path(name)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise CommandError(f"{name}: cannot read ({exc.strerror})") from None
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
            messages = split_messages(text)
            if not messages:
                self.stderr.write(f"{name}: no HL7 message")
            for first in range(0, len(messages), batch):
                chunk = messages[first : first + batch]
                # One transaction per chunk (a file is not a clinical unit: a lab waits for no
                # ACK here); each message still gets its own log row and ACK.
                acks = hl7_services.ingest_many(actor=actor, raws=chunk, zone=zone)
                for index, (raw, (ack, row)) in enumerate(
                    zip(chunk, acks, strict=True), start=first + 1
                ):
                    code = _ack_code(ack)
                    counts[code] = counts.get(code, 0) + 1
                    control = read_header(raw).control_id or "?"
                    detail = row.error if code != "AA" or row.status == "unmatched" else ""
                    self.stdout.write(
                        f"{path.name} #{index} {control}: {code} {row.status}"
                        + (f" ({detail})" if detail else "")
                    )
        summary = ", ".join(f"{code} {count}" for code, count in sorted(counts.items()))
        self.stdout.write(f"{sum(counts.values())} message(s): {summary or 'none'}")

    def _outbox(self, organization: Any, folder: Path, message_type: str | None) -> None:
        """With a type, its messages as DIR/<control id>.hl7; without, every type's, each in
        DIR/<type>/ (one folder per receiver)."""
        from carebench.core.actor import Actor
        from carebench.labs import hl7_services

        actor = Actor(user=None, organization=organization, channel="cli")
        rows = hl7_services.outbox_messages(
            actor=actor, message_types=[message_type] if message_type else None
        )
        _make_folder(folder)
        counts: dict[Path, int] = {}
        for row in rows:
            target = folder if message_type else folder / hl7_services.type_folder(row.message_type)
            if target not in counts:
                _make_folder(target)
                counts[target] = 0
            counts[target] += 1
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in row.control_id)
            (target / f"{safe}.hl7").write_bytes(row.raw.encode("utf-8"))
        hl7_services.mark_sent(actor=actor, messages=rows)
        what = f"{message_type} message(s)" if message_type else "message(s)"
        line = f"{len(rows)} {what} written to {folder}"
        if not message_type and counts:
            line += ": " + ", ".join(
                f"{count} in {target}" for target, count in sorted(counts.items())
            )
        self.stdout.write(line)

    def _send(self, organization: Any, options: dict[str, Any]) -> None:
        from django.core.exceptions import ValidationError

        from carebench.core.actor import Actor
        from carebench.labs import hl7_services

        actor = Actor(user=None, organization=organization, channel="mllp")
        try:
            outcomes = hl7_services.send_queued(
                actor=actor,
                host=options["host"],
                port=options["port"],
                message_types=[options["message_type"]],
                timeout=options["timeout"],
                limit=options["limit"],
            )
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        counts: dict[str, int] = {}
        for row, outcome in outcomes:
            counts[outcome] = counts.get(outcome, 0) + 1
            self.stdout.write(_outbound_line(row))
        summary = ", ".join(f"{code} {count}" for code, count in sorted(counts.items()))
        self.stdout.write(
            f"{len(outcomes)} {options['message_type']} message(s) to"
            f" {options['host']}:{options['port']}: {summary or 'nothing queued'}"
        )
        failed = counts.get(hl7_services.NOT_SENT, 0) + counts.get(hl7_services.NO_ACK, 0)
        if failed:
            raise CommandError(f"{failed} message(s) not sent or without an ACK")

    def _acks(self, organization: Any, files: list[str]) -> None:
        from django.core.exceptions import ValidationError

        from carebench.core.actor import Actor
        from carebench.labs import hl7_services

        actor = Actor(user=None, organization=organization, channel="cli")
        refused = 0
        total = 0
        for name in files:
            text = _read_text(name)
            try:
                rows = hl7_services.import_acks(actor=actor, text=text)
            except ValidationError as exc:
                refused += 1
                self.stderr.write(f"{name}: not read: {_messages(exc)}")
                continue
            total += len(rows)
            for row in rows:
                self.stdout.write(f"{Path(name).name}: " + _outbound_line(row))
        self.stdout.write(f"{total} ACK(s) recorded")
        if refused:
            raise CommandError(f"{refused} file(s) refused")


def _messages(exc: Any) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{key}: {' '.join(msgs)}" if key != "__all__" else " ".join(msgs)
            for key, msgs in exc.message_dict.items()
        )
    return "; ".join(exc.messages)


class Listener:
    """MLLP over TCP with python-hl7's asyncio streams; the database work runs in one worker
    thread (Django's ORM is synchronous), so messages are stored in the order they arrive."""

    def __init__(self, organization: Any, host: str, port: int, out: Any = None) -> None:
        self.organization = organization
        self.host = host
        self.port = port
        self.out = out
        self.ready = threading.Event()
        self.bound_port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._zone: str | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hl7-ingest")

    def _say(self, text: str) -> None:
        if self.out is not None:
            self.out.write(text)

    def handle_message(self, data: bytes) -> bytes:
        """One framed message's body in, the ACK out (runs in the worker thread). One message per
        transaction: the lab waits for each ACK, which follows a durable commit."""
        from django.db import close_old_connections

        from carebench.core.actor import Actor
        from carebench.labs import hl7_services

        close_old_connections()
        if self._zone is None:
            self._zone = hl7_services.zone_for(self.organization)
        actor = Actor(user=None, organization=self.organization, channel="mllp")
        ack, row = hl7_services.ingest(actor=actor, raw=data, zone=self._zone)
        code = _ack_code(ack)
        self._say(
            f"{row.control_id}: {code} {row.status}" + (f" ({row.error})" if row.error else "")
        )
        return ack.encode("utf-8")

    async def _client(self, reader: Any, writer: Any) -> None:
        from hl7.mllp import InvalidBlockError

        peer = writer.get_extra_info("peername")
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    block = await asyncio.wait_for(reader.readblock(), IDLE_TIMEOUT_SECONDS)
                except asyncio.IncompleteReadError:
                    break  # the client hung up
                except (InvalidBlockError, ValueError) as exc:
                    self._say(f"{peer}: dropped ({exc})")
                    break
                except TimeoutError:
                    break
                ack = await loop.run_in_executor(self._executor, self.handle_message, block)
                writer.writeblock(ack)
                await writer.drain()
        except (ConnectionError, OSError) as exc:
            self._say(f"{peer}: connection lost ({exc})")
        except Exception as exc:  # noqa: BLE001 - one bad client must not stop the listener
            self._say(f"{peer}: error {type(exc).__name__}: {exc}")
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def serve(self) -> None:
        from hl7.mllp import start_hl7_server

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await start_hl7_server(self._client, self.host, self.port, limit=MAX_MESSAGE_BYTES)
        self.bound_port = server.sockets[0].getsockname()[1]
        self._say(f"listening for HL7 over MLLP on {self.host}:{self.bound_port} (Ctrl+C stops)")
        self.ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            await server.wait_closed()
        self._say("stopped")

    def stop(self) -> None:
        """Stop from another thread (tests) or a signal handler."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    def run(self, install_signals: bool = True) -> None:
        async def main() -> None:
            loop = asyncio.get_running_loop()
            if install_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, self.stop)
            await self.serve()

        try:
            asyncio.run(main())
        finally:
            self._executor.shutdown(wait=True)
