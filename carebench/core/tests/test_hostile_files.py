"""Hostile files for every importer: a clear error, memory bounded, nothing written.

The corpus is made here, in code (no binaries checked in): each importer's own valid sample is
truncated, emptied, swapped for random bytes, re-encoded (UTF-16, Latin-1 bytes that are not
UTF-8, NUL bytes, a BOM), pushed just over the importer's size limit, replaced by a zip bomb,
or sent under a file name that climbs out of its folder (`../`, an absolute path). Each page
importer is driven through its page as a person would (a 500 fails the test: the test client
re-raises it); each command importer through its command.

For every refusal: the page answers 413 or 422 (the command: CommandError or an AE/AR line)
with a message that names the file, row, line, column or segment and the rule; no row of the
importer's tables is written and the audit chain gains no write event (a page that shows the
patient again records its read, as every read does; the HL7 interface logs a refused message
as an error row with a failure event, by design); no file is left in the temporary folder or
written beside the working directory. For the zip bombs, the files just over a limit and the
floods of bad rows, the Python heap (tracemalloc, from the request built to the answer) stays
under twice the file's size plus 16 MB (the test client copies the body once; the importer may
read the file once), and a zip bomb stays under a quarter of the 64 MB it inflates to.

Not covered: a proof of credential (staff) is checked by its first bytes only, so a PDF cut
short with its header intact is kept; images (JPEG, PNG, TIFF) are not checked for an end
marker anywhere. CSV and HL7 v2 files have no end marker: a file cut at a row boundary is a
shorter valid file; the corpus cuts them inside the header, which is refused.
"""

from __future__ import annotations

import io
import random
import tracemalloc
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from carebench.audit.models import Action, AuditEvent, Outcome
from carebench.conftest import signed_in
from carebench.core import clock
from carebench.testing import actor_for, make_patient

MB = 1024 * 1024
MULTIPART = MULTIPART_CONTENT.split(";")[0]  # the content type without Django's boundary
BOMB_BYTES = 64 * MB  # what the zip bomb inflates to: past every limit (50 MB is the largest)
PEAK_LIMIT = 16 * MB  # the working set besides the file itself (read at most once)
READS = {Action.VIEW, Action.SEARCH}

X12_SAMPLE = Path(__file__).resolve().parents[2] / "billing/x12/samples/835-three-claims.x12"
HL7_SAMPLE = Path(__file__).resolve().parents[2] / "labs/hl7/samples/oru_cbc.hl7"
PDF = b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


# --- the corpus --------------------------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


_BOMB: dict[str, bytes] = {}


def zip_bomb() -> bytes:
    """A zip of a few dozen kilobytes holding 64 MB of zeros (made once per run)."""
    if "bomb" not in _BOMB:
        _BOMB["bomb"] = _zip({"rec.dat": bytes(BOMB_BYTES), "rec.hea": b"rec 1 500 1000\n"})
    return _BOMB["bomb"]


def lying_zip_bomb() -> bytes:
    """The bomb with its headers claiming 1 KB: only a reader that trusts them inflates it."""
    data = bytearray(zip_bomb())
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (at := data.find(signature, start)) >= 0:
            if bytes(data[at + size_at : at + size_at + 4]) == BOMB_BYTES.to_bytes(4, "little"):
                data[at + size_at : at + size_at + 4] = (1024).to_bytes(4, "little")
            start = at + 4
    return bytes(data)


def nested_zip_bomb() -> bytes:
    """A zip holding a zip bomb (named like a WFDB signal file) and a header."""
    return _zip(
        {"rec.hea": b"rec 1 500 1000\nrec.dat 16 200 16 0 0 0 0 II\n", "rec.dat": zip_bomb()}
    )


def random_bytes(size: int = 8192) -> bytes:
    return random.Random(20261123).randbytes(size)


def wfdb_record(stem: str = "rec") -> dict[str, bytes]:
    """A small valid WFDB record: one lead (II) at 500 Hz for 10 s, format 16."""
    import numpy as np

    from carebench.ekg.tests.helpers import synthetic_csv

    lines = synthetic_csv().decode().splitlines()[2:]
    lead = np.array([float(line.split(",")[2]) for line in lines])
    signal = np.round(lead * 200).astype("<i2")
    header = f"{stem} 1 500 {signal.size}\n{stem}.dat 16 200 16 0 {int(signal[0])} 0 0 II\n"
    return {f"{stem}.hea": header.encode(), f"{stem}.dat": signal.tobytes()}


@dataclass(frozen=True)
class Case:
    """One hostile file: how it is made from the importer's valid sample (and its file name)."""

    name: str
    make: Callable[[Importer, bytes], bytes]
    filename: Callable[[Importer], str] = lambda imp: imp.filename
    refused: bool = True  # False: a file that is valid despite it (a BOM, an odd name)


def _in_field(imp: Importer, data: bytes, value: bytes) -> bytes:
    assert imp.text_value.encode() in data, f"{imp.name}: sample lacks {imp.text_value!r}"
    return data.replace(imp.text_value.encode(), value, 1)


CASES = {
    case.name: case
    for case in [
        Case("empty", lambda imp, data: b""),
        Case("truncated", lambda imp, data: imp.truncate(data)),
        Case("random-bytes", lambda imp, data: random_bytes()),
        Case("utf16", lambda imp, data: data.decode("utf-8").encode("utf-16")),
        Case("latin1", lambda imp, data: _in_field(imp, data, b"Caf\xe9 \xff")),
        Case(
            "nul-byte",
            lambda imp, data: _in_field(imp, data, imp.text_value[:2].encode() + b"\x00"),
        ),
        Case("bom", lambda imp, data: b"\xef\xbb\xbf" + data, refused=False),
        Case("just-over-limit", lambda imp, data: imp.oversize(data)),
        Case("zip-bomb", lambda imp, data: zip_bomb()),
        Case(
            "dotdot-name",
            lambda imp, data: data,
            filename=lambda imp: "../../../../etc/cron.d/" + imp.filename,
            refused=False,
        ),
        Case(
            "absolute-name",
            lambda imp, data: data,
            filename=lambda imp: "/tmp/carebench-hostile-" + imp.filename,
            refused=False,
        ),
        Case("error-flood", lambda imp, data: data + imp.bad_row * FLOOD_ROWS),
        Case("lying-zip-bomb", lambda imp, data: lying_zip_bomb(), lambda imp: "record.zip"),
        Case("nested-zip-bomb", lambda imp, data: nested_zip_bomb(), lambda imp: "record.zip"),
        Case(
            "zip-dotdot-members",
            lambda imp, data: _zip(
                {
                    ("../../../../" if name.endswith(".hea") else "/tmp/") + name: body
                    for name, body in wfdb_record("evil").items()
                }
            ),
            lambda imp: "record.zip",
            refused=False,
        ),
        Case(
            "formula",
            lambda imp, data: _in_field(imp, data, b"=cmd|' /C calc'!A0"),
            refused=False,
        ),
    ]
}
TEXT_CASES = ["utf16", "latin1", "nul-byte", "bom"]
COMMON = ["empty", "truncated", "random-bytes", "just-over-limit", "zip-bomb"]
NAMES = ["dotdot-name", "absolute-name"]
ZIPS = ["lying-zip-bomb", "nested-zip-bomb", "zip-dotdot-members"]
# the cases whose memory is measured (tracemalloc slows every allocation, so not all of them)
MEASURED = {"zip-bomb", "lying-zip-bomb", "nested-zip-bomb", "just-over-limit", "error-flood"}
FLOOD_ROWS = 5_000  # bad rows under the size limit: the page lists a few problems, not all


# --- the importers -----------------------------------------------------------------------------


@dataclass
class Target:
    """Where one importer is reached, with what, and which tables it writes."""

    client: Client | None = None
    url: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    file_field: str = "file"
    tables: list[Any] = field(default_factory=list)
    names: Callable[[], list[str]] = list  # the file names it kept, if any
    run: Callable[[Path], list[str]] | None = None  # a command: the file in, messages out


@dataclass
class Importer:
    name: str
    filename: str
    limit: int  # bytes: the importer's own limit
    sample: Callable[[Any], bytes]
    setup: Callable[[Any, Any], Target]  # (pytest request, the clinic) -> Target
    text_value: str = ""  # a text value in the sample, where bad bytes go
    cases: list[str] = field(default_factory=list)
    accepts: set[str] = field(default_factory=set)  # cases this importer reads correctly
    cut: float = 0.5  # where `truncated` cuts the sample (a fraction of its length)
    bad_row: bytes = b""  # for `error-flood`: a row that breaks the rules
    pad: bytes = b""  # for `just-over-limit`: a segment to fill (default: blank lines or NULs)

    def truncate(self, data: bytes) -> bytes:
        return data[: int(len(data) * self.cut)]

    def oversize(self, data: bytes) -> bytes:
        """The sample padded to one byte over the limit, still looking like the format."""
        missing = self.limit + 1 - len(data)
        if self.pad:
            # one character over once the segment's terminator is set aside
            return data + self.pad + b"x" * (missing - len(self.pad)) + b"\r"
        return data + (b"\n" * missing if self.text else b"\x00" * missing)

    @property
    def text(self) -> bool:
        return bool(self.text_value)


def _ekg_sample(ctx: Any) -> bytes:
    from carebench.ekg.tests.helpers import synthetic_csv

    return synthetic_csv(seconds=4)


def _ekg(request: Any, ctx: Any) -> Target:
    from carebench.ekg.models import EkgRecording

    mat = request.getfixturevalue("mat")
    patient = make_patient(mat, family_name="Hostile", given_name="Tracing")
    return Target(
        client=signed_in(mat),
        url=reverse("ekg:upload", args=[patient.pk]),
        tables=[EkgRecording],
        names=lambda: list(EkgRecording.objects.values_list("original_filename", flat=True)),
    )


def _x12(request: Any, ctx: Any) -> Target:
    from carebench.billing.models import ClaimPayment, EligibilityCheck, Remittance
    from carebench.testing import make_billing_clinic

    biller = request.getfixturevalue("biller")
    make_billing_clinic(biller)
    return Target(
        client=signed_in(biller),
        url=reverse("billing:files"),
        tables=[Remittance, ClaimPayment, EligibilityCheck],
        names=lambda: list(Remittance.objects.values_list("file_name", flat=True)),
    )


def _billing_setup(request: Any, action: str) -> tuple[Client, dict[str, Any]]:
    from carebench.testing import make_billing_clinic

    manager = request.getfixturevalue("manager")
    clinic = make_billing_clinic(manager)
    fields: dict[str, Any] = {"action": action}
    if action == "fees":
        fields["schedule"] = clinic.standard.pk
    return signed_in(manager), fields


def _codes(request: Any, ctx: Any) -> Target:
    from carebench.billing.models import ProcedureCode

    client, fields = _billing_setup(request, "codes")
    return Target(client, reverse("billing:setup"), fields, tables=[ProcedureCode])


def _fees(request: Any, ctx: Any) -> Target:
    from carebench.billing.models import Fee

    client, fields = _billing_setup(request, "fees")
    return Target(client, reverse("billing:setup"), fields, tables=[Fee])


CATALOG = (
    "code,name,loinc,specimen_type,container,min_volume_ml,fasting,performed\n"
    "TSH,Thyroid stimulating hormone,3016-3,serum,gold_sst,1,no,Lab\n"
    "CBC,Complete blood count,58410-2,whole blood,lavender,1,no,Lab\n"
)


def _catalog(request: Any, ctx: Any) -> Target:
    from carebench.labs.models import LabTest

    manager = request.getfixturevalue("manager")
    return Target(signed_in(manager), reverse("labs:catalog"), tables=[LabTest])


def _logger_sample(ctx: Any) -> bytes:
    from zoneinfo import ZoneInfo

    from django.conf import settings

    zone = ZoneInfo(settings.CAREBENCH_DEFAULT_TIME_ZONE)
    start = clock.now().astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    rows = [
        f"{start + timedelta(minutes=15 * n):%Y-%m-%d %H:%M},{4.6 + n / 10:.1f}" for n in range(4)
    ]
    return ("Logger,Fridge-01\nTimestamp,Temperature °C\n" + "\n".join(rows) + "\n").encode()


def _logger(request: Any, ctx: Any) -> Target:
    from carebench.compliance.models import Excursion, TemperatureReading
    from carebench.meds import services as meds

    mat = request.getfixturevalue("mat")
    actor = actor_for(mat)
    fridge = meds.add_storage_unit(
        actor=actor,
        facility=actor.organization.facilities.first(),
        name="Vaccine fridge",
        kind="refrigerator",
    )
    return Target(
        signed_in(mat),
        reverse("compliance:upload_readings", args=[fridge.pk]),
        file_field="upload-file",
        tables=[TemperatureReading, Excursion],
    )


def _document(request: Any, ctx: Any) -> Target:
    from carebench.patients.document_models import Document, DocumentContent

    mat = request.getfixturevalue("mat")
    patient = make_patient(mat, family_name="Hostile", given_name="Paper")
    return Target(
        signed_in(mat),
        reverse("patients:upload_document", args=[patient.pk]),
        {"category": "other", "title": "Outside records"},
        tables=[Document, DocumentContent],
        names=lambda: list(Document.objects.values_list("original_name", flat=True)),
    )


def _proof(request: Any, ctx: Any) -> Target:
    from carebench.staff.models import Credential
    from carebench.staff.tests.factories import credential_type

    mat = request.getfixturevalue("mat")
    today = clock.today()
    return Target(
        signed_in(mat),
        reverse("staff:add_credential"),
        {
            "cred-credential_type": credential_type(mat.organization, "CCMA").pk,
            "cred-number": "CCMA-778899",
            "cred-issued_on": f"{today - timedelta(days=30):%m/%d/%Y}",
            "cred-expires_on": f"{today + timedelta(days=700):%m/%d/%Y}",
        },
        file_field="cred-proof",
        tables=[Credential],
    )


def _hl7_command(request: Any, ctx: Any) -> Target:
    from carebench.labs.models import Hl7Message, LabResult

    org = request.getfixturevalue("org")

    def run(path: Path) -> list[str]:
        out, err = io.StringIO(), io.StringIO()
        call_command(
            "carebench_hl7", "import", str(path), "--organization", org.slug, stdout=out, stderr=err
        )
        lines = [*err.getvalue().splitlines(), *out.getvalue().splitlines()]
        refused = [line for line in lines if ": AE " in line or ": AR " in line]
        if refused or "no HL7 message" in err.getvalue():
            return refused or err.getvalue().splitlines()
        return []

    def kept() -> list[Any]:
        # the interface logs every message; a refused one only as an error or rejected row
        refused = (Hl7Message.Status.ERROR, Hl7Message.Status.REJECTED)
        return list(Hl7Message.objects.exclude(status__in=refused))

    return Target(run=run, tables=[LabResult, _Rows(kept)])


def _hl7_sample(ctx: Any) -> bytes:
    text = HL7_SAMPLE.read_text()
    for key, value in {
        "{MRN}": "M000123",
        "{FAMILY}": "Hostile",
        "{GIVEN}": "Result",
        "{PLACER}": "L26-000001",
        "{ACCESSION}": "A26-000001",
    }.items():
        text = text.replace(key, value)
    return text.encode()


def _x12_command(request: Any, ctx: Any) -> Target:
    from carebench.billing.models import ClaimPayment, Remittance
    from carebench.testing import make_billing_clinic

    biller = request.getfixturevalue("biller")
    make_billing_clinic(biller)

    def run(path: Path) -> list[str]:
        out = io.StringIO()
        try:
            call_command(
                "carebench_x12",
                "import-835",
                str(path),
                "--org",
                biller.organization.slug,
                stdout=out,
                stderr=io.StringIO(),
            )
        except CommandError as exc:
            return [str(exc)]
        return []

    return Target(run=run, tables=[Remittance, ClaimPayment])


def _catalog_command(request: Any, ctx: Any) -> Target:
    from carebench.labs.models import LabTest

    org = request.getfixturevalue("org")

    def run(path: Path) -> list[str]:
        try:
            call_command("load_lab_catalog", str(path), "--org", org.slug, stdout=io.StringIO())
        except CommandError as exc:
            return [str(exc)]
        return []

    return Target(run=run, tables=[LabTest])


@dataclass
class _Rows:
    """A 'table' given as a function listing its rows."""

    rows: Callable[[], list[Any]]


def _counts(tables: list[Any]) -> list[int]:
    return [len(t.rows()) if isinstance(t, _Rows) else t.objects.count() for t in tables]


PAGES = [
    Importer(
        "ekg-upload",
        "ekg.csv",
        50 * MB,
        _ekg_sample,
        _ekg,
        text_value="I,II",  # the lead names, which are stored
        cases=COMMON + TEXT_CASES + NAMES + ZIPS,
    ),
    Importer(
        "x12-upload",
        "era.835",
        50 * MB,
        lambda ctx: X12_SAMPLE.read_bytes(),
        _x12,
        text_value="ACME HEALTH PLAN",
        cases=COMMON + TEXT_CASES + NAMES,
        accepts={"latin1"},
    ),
    Importer(
        "procedure-codes-csv",
        "codes.csv",
        5 * MB,
        lambda ctx: (
            b"code,label,kind\n99213,Office visit established,cpt\n36415,Venipuncture,cpt\n"
        ),
        _codes,
        text_value="Office visit established",
        cases=COMMON + TEXT_CASES + NAMES + ["formula", "error-flood"],
        cut=0.05,
        bad_row=b"x,y\n",
    ),
    Importer(
        "fee-schedule-csv",
        "fees.csv",
        5 * MB,
        lambda ctx: b"code,amount\n99215,210.00\n87804,25.00\n",
        _fees,
        text_value="210.00",
        cases=COMMON + TEXT_CASES + NAMES + ["error-flood"],
        cut=0.25,
        bad_row=b"x,y\n",
    ),
    Importer(
        "lab-catalog-csv",
        "catalog.csv",
        1_000_000,
        lambda ctx: CATALOG.encode(),
        _catalog,
        text_value="Thyroid stimulating hormone",
        cases=COMMON + TEXT_CASES + NAMES + ["formula", "error-flood"],
        cut=0.05,
        bad_row=b"x,,,,,,,\n",
    ),
    Importer(
        "temperature-logger-csv",
        "logger.csv",
        5 * MB,
        _logger_sample,
        _logger,
        text_value="Fridge-01",
        cases=COMMON + TEXT_CASES + NAMES + ["error-flood"],
        accepts={"latin1"},  # a Windows logger's file (cp1252) is read as such
        cut=0.1,
        bad_row=b"yesterday,warm\n",
    ),
    Importer(
        "patient-document",
        "scan.pdf",
        20 * MB,
        lambda ctx: PDF,
        _document,
        cases=COMMON + NAMES,
    ),
    Importer(
        "credential-proof",
        "certificate.pdf",
        5 * MB,
        lambda ctx: PDF,
        _proof,
        # not "truncated": a proof is checked by its first bytes only (see the module docstring)
        cases=["empty", "random-bytes", "just-over-limit", "zip-bomb", *NAMES],
    ),
]
COMMANDS = [
    Importer(
        "hl7-import-command",
        "results.hl7",
        1_000_000,
        _hl7_sample,
        _hl7_command,
        text_value="Platelet count verified by smear review.",
        cases=COMMON + TEXT_CASES,
        accepts={"latin1"},  # HL7 v2 files without a charset are read as Latin-1 (8859/1)
        cut=0.03,
        pad=b"NTE|2|L|",
    ),
    Importer(
        "x12-import-835-command",
        "era.835",
        50 * MB,
        lambda ctx: X12_SAMPLE.read_bytes(),
        _x12_command,
        text_value="ACME HEALTH PLAN",
        cases=COMMON + TEXT_CASES,
        accepts={"latin1"},
    ),
    Importer(
        "lab-catalog-command",
        "catalog.csv",
        1_000_000,
        lambda ctx: CATALOG.encode(),
        _catalog_command,
        text_value="Thyroid stimulating hormone",
        cases=COMMON + TEXT_CASES,
        cut=0.05,
    ),
]
IMPORTERS = {imp.name: imp for imp in [*PAGES, *COMMANDS]}


# --- reading what came back --------------------------------------------------------------------


class _Errors(HTMLParser):
    """The text of the error summary, field errors and error messages of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self.depth:
            self.depth += 1
        elif {"error-summary", "field-error", "message-error", "errorlist"} & set(classes):
            self.depth = 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.texts[-1] += data


def page_errors(response: Any) -> list[str]:
    if response.status_code == 413:
        return [response.content.decode()]
    parser = _Errors()
    parser.feed(response.content.decode())
    return [" ".join(t.split()) for t in parser.texts if t.strip()]


NAMED = (
    "file", "row", "line", "column", "segment", "header", "MB", "bytes", "MSH", "ISA", "zip",
    "encod", "UTF", "character", "empty", "PDF", "JPEG", "csv", "835", "X12",
)  # fmt: skip


def assert_clear(messages: list[str], what: str) -> None:
    assert messages, f"{what}: refused without a message"
    text = " ".join(messages)
    assert any(word.lower() in text.lower() for word in NAMED), (
        f"{what}: the message names no file, row, line, segment or rule: {text}"
    )
    for leak in ("Traceback", "Exception", "object at 0x", "NoneType"):
        assert leak not in text, f"{what}: an internal error leaked: {text}"


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: Any, settings: Any) -> Path:
    """The temporary folder (for Django's upload files and the importers' own) and the working
    directory, deep inside tmp_path, so a `../` name that escaped would land in tmp_path."""
    scratch = tmp_path / "tmp"
    work = tmp_path / "work" / "a" / "b" / "c" / "d"
    scratch.mkdir()
    work.mkdir(parents=True)
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    settings.FILE_UPLOAD_TEMP_DIR = str(scratch)
    monkeypatch.chdir(work)
    return tmp_path


def _prepare(
    imp: Importer, target: Target, name: str, data: bytes, sandbox: Path
) -> Callable[[], tuple[list[str], Any]]:
    """What sends the file to the importer, with the file already written or the request body
    already built (so the memory measured is the importer's, not the test client's); sending
    gives (messages, response or None)."""
    if target.run is not None:
        run = target.run
        path = sandbox / "in" / Path(name).name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)

        def command() -> tuple[list[str], Any]:
            messages = run(path)
            path.unlink()
            path.parent.rmdir()
            return messages, None

        return command
    client = target.client
    assert client is not None
    upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    body = encode_multipart(BOUNDARY, {**target.fields, target.file_field: upload})

    def page() -> tuple[list[str], Any]:
        response = client.post(target.url, body, content_type=f"{MULTIPART}; boundary={BOUNDARY}")
        assert response.status_code in (302, 413, 422), (
            f"{imp.name}: answered {response.status_code}: {page_errors(response)}"
        )
        return (page_errors(response) if response.status_code != 302 else []), response

    return page


def _writes() -> int:
    """Audit events of writes (reads, and the record of a refusal itself, are not writes)."""
    return AuditEvent.objects.exclude(action__in=READS).exclude(outcome=Outcome.FAILURE).count()


def _run_case(
    request: Any, imp: Importer, case: Case, sandbox: Path, record: Callable[[str, Any], None]
) -> None:
    target = imp.setup(request, None)
    sample = imp.sample(None)
    data = case.make(imp, sample)
    name = case.filename(imp)
    before = _counts(target.tables)
    writes = _writes()
    outside = Path(name)
    existed = outside.is_absolute() and outside.exists()
    send = _prepare(imp, target, name, data, sandbox)
    peak = 0
    if case.name in MEASURED:
        tracemalloc.start()
        try:
            messages, response = send()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    else:
        messages, response = send()
    what = f"{imp.name} / {case.name}"
    if case.name in MEASURED:
        record("heap_peak_mb", round(peak / MB, 1))
    record("file_mb", round(len(data) / MB, 3))
    refused = case.refused and case.name not in imp.accepts
    if refused:
        assert_clear(messages, what)
        assert _counts(target.tables) == before, f"{what}: rows were written"
        assert _writes() == writes, f"{what}: a write was audited"
    else:
        assert not messages, f"{what}: a valid file was refused: {messages}"
        assert _counts(target.tables) != before, f"{what}: nothing was imported"
        for kept in target.names():
            assert "/" not in kept and "\\" not in kept and not kept.startswith("."), kept
    # nothing left in the temporary folder, nothing written beside the working directory
    assert _files(sandbox / "tmp") == set(), f"{what}: files left behind"
    assert {p for p in _files(sandbox) if not p.startswith(("tmp", "work"))} == set()
    assert _files(sandbox / "work") == {"a", "a/b", "a/b/c", "a/b/c/d"}
    if outside.is_absolute():
        assert outside.exists() == existed, f"{what}: wrote {outside}"
    # memory: the test client's copy of the request body, the file read once at most by the
    # importer, and a bounded working set; never the inflated bomb
    bound = PEAK_LIMIT + 2 * len(data)
    assert peak < bound, f"{what}: the heap peaked at {peak / MB:.1f} MB"
    if case.name == "error-flood":
        assert len(" ".join(messages)) < 20_000, f"{what}: {len(messages)} messages"
    if "zip-bomb" in case.name:
        assert peak < BOMB_BYTES // 4, f"{what}: the zip bomb was inflated ({peak / MB:.1f} MB)"
    if case.name == "formula" and response is not None:
        _assert_export_is_inert(target)


def _assert_export_is_inert(target: Target) -> None:
    """The audit log's CSV export (the one CSV that leaves carebench) starts no cell with a
    spreadsheet formula character."""
    import csv

    assert target.client is not None
    response = target.client.get(reverse("audit:report"), {"format": "csv"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    for row in csv.reader(io.StringIO(body)):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), f"formula cell: {cell!r}"


PARAMS = [
    pytest.param(imp.name, case, id=f"{imp.name}-{case}")
    for imp in IMPORTERS.values()
    for case in imp.cases
]


@pytest.mark.parametrize("importer,case", PARAMS)
def test_hostile_file(
    db: Any, request: Any, sandbox: Path, record_property: Any, importer: str, case: str
) -> None:
    _run_case(request, IMPORTERS[importer], CASES[case], sandbox, record_property)


# --- a request body over the 60 MB upload limit ------------------------------------------------


class _CountingBody(io.RawIOBase):
    """A request body of `size` bytes that counts how much of it anyone read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.taken = 0

    def read(self, n: int | None = -1) -> bytes:
        n = self.size - self.taken if n is None or n < 0 else min(n, self.size - self.taken)
        self.taken += n
        return b"0" * n


@pytest.mark.parametrize("importer", [imp.name for imp in PAGES])
def test_an_upload_over_60_mb_is_refused_before_a_byte_is_read(
    db: Any, request: Any, sandbox: Path, importer: str
) -> None:
    target = IMPORTERS[importer].setup(request, None)
    assert target.client is not None
    before = _counts(target.tables)
    body = _CountingBody(60 * MB + 1)
    response = target.client.generic(
        "POST",
        target.url,
        CONTENT_TYPE="multipart/form-data; boundary=hostile",
        CONTENT_LENGTH=str(body.size),
        **{"wsgi.input": body},
    )
    assert response.status_code == 413
    assert "the limit is 62914560 bytes (60 MB for a file upload)" in response.content.decode()
    assert body.taken == 0
    assert _counts(target.tables) == before
    assert _files(sandbox / "tmp") == set()


def test_a_real_61_mb_upload_is_refused_and_nothing_is_kept(
    db: Any, request: Any, sandbox: Path
) -> None:
    target = IMPORTERS["ekg-upload"].setup(request, None)
    assert target.client is not None
    upload = SimpleUploadedFile("huge.csv", b"0" * (61 * MB), content_type="text/csv")
    response = target.client.post(target.url, {"file": upload})
    assert response.status_code == 413
    assert _counts(target.tables) == [0]
    assert _files(sandbox / "tmp") == set()
