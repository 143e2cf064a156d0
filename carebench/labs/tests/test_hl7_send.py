"""Outbound messages over MLLP: reading ACKs (pure), `record_ack` (AE with warnings only is
accepted), `import_acks`, `requeue`, `send_queued` against a tiny receiver in a thread (AA, AE
with ERRs, AR, another MSA-2, no answer, connection refused; one message type per run, so the
lab's ORM^O01 and the registry's VXU^V04 never go to the other's receiver),
`carebench hl7 send | acks`, and Resend on the Interface page."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from carebench.audit.models import AuditEvent
from carebench.conftest import signed_in
from carebench.core import clock
from carebench.labs import hl7_services
from carebench.labs.hl7 import mllp
from carebench.labs.hl7.ack import AckReadError, read_ack
from carebench.labs.hl7.parse import read_header
from carebench.labs.models import Hl7Message

from .conftest import order_for

AT = datetime(2025, 3, 14, 15, 30, tzinfo=UTC)
ERR_CVX = (
    "ERR||RXA^1^5^1^1|103^Table value not found^HL70357|E||||Vaccine code 999 is not a CVX code"
)
ERR_ADDRESS = "ERR||PID^1^11|101^Required field missing^HL70357|W||||Address \\T\\ ZIP missing"
ERR_INFO = "ERR||RXA^1^9|0^Message accepted^HL70357|I||||Historical dose recorded as given"
ERR_NO_SEVERITY = "ERR||RXA^1^5|103^Table value not found^HL70357|||||Unknown vaccine"


def ack(code: str, control_id: str, *errs: str) -> str:
    lines = [
        "MSH|^~\\&|IIS|STATE|CAREBENCH|clinic|20250314153001+0000||ACK^V04^ACK"
        f"|A{control_id}|P|2.5.1",
        f"MSA|{code}|{control_id}",
        *errs,
    ]
    return "\r".join(lines) + "\r"


def answering(code: str, *errs: str) -> Callable[[str], str]:
    """A receiver that acknowledges each message by its own MSH-10."""
    return lambda text: ack(code, read_header(text).control_id, *errs)


class Receiver:
    """A tiny MLLP receiver in a thread: each framed message is kept in `received` and answered
    with what `reply` returns for it (None: no answer)."""

    def __init__(self, reply: Callable[[str], str | None]) -> None:
        self.reply = reply
        self.received: list[str] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.05)
        self.port: int = self.server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.server.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                deframer = mllp.Deframer()
                while True:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        break
                    if not data:
                        break  # the sender hung up
                    for body in deframer.feed(data):
                        text = body.decode("utf-8")
                        self.received.append(text)
                        answer = self.reply(text)
                        if answer is not None:
                            conn.sendall(mllp.frame(answer))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _queued(lab, *codes: str) -> list[Hl7Message]:
    """One queued ORM^O01 per order placed (the usual way outbound messages are made)."""
    return [Hl7Message.objects.get(order=order_for(lab, code)) for code in codes or ("CBC",)]


def _events(message: Hl7Message):
    return AuditEvent.objects.filter(
        resource_type="Hl7Message", resource_id=str(message.pk), action="update"
    ).order_by("seq")


def _local(lab) -> str:
    zone = ZoneInfo(hl7_services.zone_for(lab.org))
    return AT.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _send(lab, port: int, **kw):
    """send_queued for the lab's ORM^O01 queue (unless `message_types` says otherwise)."""
    kw.setdefault("message_types", ["ORM"])
    with clock.frozen(AT):
        return hl7_services.send_queued(actor=lab.mat, host="127.0.0.1", port=port, **kw)


def _queued_vxu(lab, control_id: str = "V0001") -> Hl7Message:
    """A queued registry VXU^V04 of the lab's patient, in the same outbound table."""
    return Hl7Message.objects.create(
        organization=lab.org,
        direction="out",
        message_type="VXU^V04",
        control_id=control_id,
        raw=(
            f"MSH|^~\\&|CAREBENCH|clinic|IIS|STATE|20250314||VXU^V04^VXU_V04|{control_id}|P|2.5.1\r"
        ),
        status="queued",
        patient=lab.patient,
    )


# --- reading an ACK (pure) --------------------------------------------------------------------


def test_read_ack_accepted():
    read = read_ack(mllp.frame(ack("AA", "L000001")))
    assert (read.code, read.acknowledged_id, read.control_id) == ("AA", "L000001", "AL000001")
    assert read.errors == ()
    assert read.describe() == ""


def test_read_ack_puts_errors_in_words_errors_first():
    read = read_ack(ack("AE", "L000001", ERR_ADDRESS, ERR_CVX).replace("\r", "\n"))
    assert read.errors[1].location == "RXA-5.1"
    assert read.describe() == (
        "RXA-5.1: Vaccine code 999 is not a CVX code (Table value not found, error); "
        "PID-11: Address & ZIP missing (Required field missing, warning)"
    )


def test_read_ack_takes_v23_err1_and_msa3():
    read = read_ack(ack("AR", "L1", "ERR|PID^1^3^101&Required field missing~OBR^2^4^103"))
    assert (
        read.describe() == "PID-3: Required field missing; OBR-4 (segment 2): Table value not found"
    )
    assert read_ack(ack("AE", "L1").replace("MSA|AE|L1", "MSA|AE|L1|bad dose")).describe() == (
        "bad dose"
    )


def test_read_ack_skips_message_accepted_err():
    assert read_ack(ack("AA", "L1", "ERR||MSH^1^10|0^Message accepted^HL70357|I")).errors == ()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("MSA|AA|L1\r", "MSH"),
        ("MSH|^~\\&|IIS|ST|||||ACK|A1|P|2.5.1\r", "MSA"),
        ("MSH|^~\\&|IIS|ST|||||ACK|A1|P|2.5.1\rMSA|OK|L1\r", "MSA-1"),
    ],
)
def test_read_ack_refuses_what_is_not_an_ack(text, field):
    with pytest.raises(AckReadError) as caught:
        read_ack(text)
    assert caught.value.field == field


# --- record_ack, import_acks, requeue ---------------------------------------------------------


@pytest.mark.django_db
def test_record_ack_aa_accepts_and_audits(lab):
    (message,) = _queued(lab)
    with clock.frozen(AT):
        done = hl7_services.record_ack(
            actor=lab.mat, message=message, ack_text=ack("AA", message.control_id)
        )
    assert (done.status, done.ack_code, done.error, done.processed_at) == ("accepted", "AA", "", AT)
    (event,) = _events(message)
    assert '"ack": "AA"' in event.detail and '"previous": "queued"' in event.detail


@pytest.mark.django_db
def test_record_ack_ae_keeps_the_error_in_words(lab):
    (message,) = _queued(lab)
    done = hl7_services.record_ack(
        actor=lab.mat, message=message, ack_text=ack("AE", message.control_id, ERR_CVX)
    )
    message.refresh_from_db()
    assert message.status == done.status == "error"
    assert message.ack_code == "AE"
    assert message.error == (
        "RXA-5.1: Vaccine code 999 is not a CVX code (Table value not found, error)"
    )


@pytest.mark.parametrize("errs", [(ERR_ADDRESS,), (ERR_ADDRESS, ERR_INFO), (ERR_INFO,)])
@pytest.mark.django_db
def test_record_ack_ae_with_warnings_only_is_accepted_keeping_them(lab, errs):
    message = _queued_vxu(lab)
    done = hl7_services.record_ack(
        actor=lab.mat, message=message, ack_text=ack("AE", message.control_id, *errs)
    )
    message.refresh_from_db()
    assert (message.status, done.status, message.ack_code) == ("accepted", "accepted", "AE")
    assert message.error.startswith("accepted with warnings: ")
    assert (
        message.error
        == "accepted with warnings: " + read_ack(ack("AE", message.control_id, *errs)).describe()
    )
    (event,) = _events(message)
    assert '"warnings_only": true' in event.detail and '"status": "accepted"' in event.detail


@pytest.mark.django_db
def test_record_ack_ae_with_warnings_words_the_warning(lab):
    message = _queued_vxu(lab)
    done = hl7_services.record_ack(
        actor=lab.mat, message=message, ack_text=ack("AE", message.control_id, ERR_ADDRESS)
    )
    assert done.error == (
        "accepted with warnings: PID-11: Address & ZIP missing (Required field missing, warning)"
    )


@pytest.mark.parametrize(
    "errs",
    [
        (ERR_ADDRESS, ERR_CVX),  # a warning and an error
        (ERR_INFO, ERR_CVX.replace("|E|", "|F|")),  # information and a fatal error
        (ERR_ADDRESS, ERR_NO_SEVERITY),  # an ERR without a severity counts as an error
        (ERR_NO_SEVERITY,),
        ("ERR|PID^1^11^101&Required field missing",),  # v2.3/2.4 ERR-1: no severity
        (),  # AE and no ERR at all
    ],
)
@pytest.mark.django_db
def test_record_ack_ae_with_any_error_severity_is_an_error(lab, errs):
    message = _queued_vxu(lab)
    done = hl7_services.record_ack(
        actor=lab.mat, message=message, ack_text=ack("AE", message.control_id, *errs)
    )
    assert (done.status, done.ack_code) == ("error", "AE")
    assert not done.error.startswith("accepted with warnings")


@pytest.mark.parametrize(("code", "status"), [("CE", "error"), ("AR", "rejected")])
@pytest.mark.django_db
def test_record_ack_warnings_only_accept_an_ae_only(lab, code, status):
    message = _queued_vxu(lab)
    done = hl7_services.record_ack(
        actor=lab.mat, message=message, ack_text=ack(code, message.control_id, ERR_ADDRESS)
    )
    assert done.status == status
    assert not done.error.startswith("accepted with warnings")


@pytest.mark.django_db
def test_record_ack_warnings_prefix_is_cut_with_the_rest(lab):
    message = _queued_vxu(lab)
    long_warning = ERR_ADDRESS.replace("Address \\T\\ ZIP missing", "y" * 600)
    done = hl7_services.record_ack(
        actor=lab.mat, message=message, ack_text=ack("AE", message.control_id, long_warning)
    )
    assert done.status == "accepted"
    assert len(done.error) == 500
    assert done.error.startswith("accepted with warnings: PID-11: yyy")
    assert done.error.endswith("…")


@pytest.mark.django_db
def test_import_acks_accepts_an_ae_with_warnings_only(lab):
    message = _queued_vxu(lab)
    (row,) = hl7_services.import_acks(
        actor=lab.mat, text=ack("AE", message.control_id, ERR_ADDRESS)
    )
    assert (row.status, row.ack_code) == ("accepted", "AE")
    assert row.error.startswith("accepted with warnings: PID-11:")


@pytest.mark.parametrize(
    ("code", "status"),
    [("AR", "rejected"), ("CA", "accepted"), ("CE", "error"), ("CR", "rejected")],
)
@pytest.mark.django_db
def test_record_ack_codes(lab, code, status):
    (message,) = _queued(lab)
    done = hl7_services.record_ack(
        actor=lab.mat, message=message, ack_text=ack(code, message.control_id)
    )
    assert (done.status, done.ack_code) == (status, code)


@pytest.mark.django_db
def test_record_ack_for_another_control_id_is_refused_naming_msa2(lab):
    (message,) = _queued(lab)
    with pytest.raises(ValidationError) as caught:
        hl7_services.record_ack(actor=lab.mat, message=message, ack_text=ack("AA", "L999999"))
    assert "L999999" in " ".join(caught.value.message_dict["MSA-2"])
    message.refresh_from_db()
    assert (message.status, message.ack_code) == ("queued", "")
    assert not _events(message).exists()


@pytest.mark.django_db
def test_record_ack_error_is_cut_to_the_field(lab):
    (message,) = _queued(lab)
    long_err = ERR_CVX.replace("is not a CVX code", "x" * 400)
    done = hl7_services.record_ack(
        actor=lab.mat, message=message, ack_text=ack("AE", message.control_id, long_err, long_err)
    )
    assert len(done.error) == 500
    assert done.error.endswith("…")


@pytest.mark.django_db
def test_import_acks_matches_a_batch_file_by_msa2(lab):
    first, second = _queued(lab, "CBC", "CMP")
    text = (
        "FHS|^~\\&|IIS\nBHS|^~\\&|IIS\n"
        + ack("AA", second.control_id).replace("\r", "\n")
        + ack("AE", first.control_id, ERR_CVX).replace("\r", "\n")
        + "BTS|2\nFTS|1\n"
    )
    rows = hl7_services.import_acks(actor=lab.mat, text=text)
    assert [(r.control_id, r.status) for r in rows] == [
        (second.control_id, "accepted"),
        (first.control_id, "error"),
    ]


@pytest.mark.django_db
def test_import_acks_with_an_unknown_msa2_writes_nothing(lab):
    (message,) = _queued(lab)
    text = ack("AA", message.control_id) + ack("AA", "L424242")
    with pytest.raises(ValidationError) as caught:
        hl7_services.import_acks(actor=lab.mat, text=text)
    assert "ACK 2: no outbound message L424242" in caught.value.message_dict["MSA-2"]
    message.refresh_from_db()
    assert message.status == "queued"


@pytest.mark.django_db
def test_requeue_puts_an_errored_message_back_audited(lab):
    (message,) = _queued(lab)
    hl7_services.record_ack(
        actor=lab.mat, message=message, ack_text=ack("AE", message.control_id, ERR_CVX)
    )
    again = hl7_services.requeue(actor=lab.mat, message=message)
    assert (again.status, again.ack_code, again.error, again.processed_at) == (
        "queued",
        "",
        "",
        None,
    )
    last = _events(message).last()
    assert '"requeued": true' in last.detail and "Vaccine code 999" in last.detail


@pytest.mark.parametrize("code", [None, "AA"])
@pytest.mark.django_db
def test_requeue_refuses_a_queued_or_accepted_message(lab, code):
    (message,) = _queued(lab)
    if code:
        message = hl7_services.record_ack(
            actor=lab.mat, message=message, ack_text=ack(code, message.control_id)
        )
    with pytest.raises(ValidationError) as caught:
        hl7_services.requeue(actor=lab.mat, message=message)
    assert "status" in caught.value.message_dict


# --- send_queued over MLLP --------------------------------------------------------------------


@pytest.mark.django_db
def test_send_aa_in_created_order(lab):
    first, second = _queued(lab, "CBC", "CMP")
    with Receiver(answering("AA")) as receiver:
        outcomes = _send(lab, receiver.port)
    assert [read_header(t).control_id for t in receiver.received] == [
        first.control_id,
        second.control_id,
    ]
    assert receiver.received[0] == first.raw
    assert [(m.control_id, m.status, m.processed_at, out) for m, out in outcomes] == [
        (first.control_id, "accepted", AT, "AA"),
        (second.control_id, "accepted", AT, "AA"),
    ]


@pytest.mark.django_db
def test_send_ae_stays_an_error_with_the_err_in_words(lab):
    (message,) = _queued(lab)
    with Receiver(answering("AE", ERR_CVX, ERR_ADDRESS)) as receiver:
        ((row, outcome),) = _send(lab, receiver.port)
    message.refresh_from_db()
    assert (outcome, message.status, message.ack_code) == ("AE", "error", "AE")
    assert (
        message.error
        == row.error
        == (
            "RXA-5.1: Vaccine code 999 is not a CVX code (Table value not found, error); "
            "PID-11: Address & ZIP missing (Required field missing, warning)"
        )
    )
    assert _events(message).count() == 1


@pytest.mark.django_db
def test_send_ar_is_rejected_and_the_run_goes_on(lab):
    _queued(lab, "CBC", "CMP")
    with Receiver(answering("AR")) as receiver:
        outcomes = _send(lab, receiver.port)
    assert [(m.status, out) for m, out in outcomes] == [("rejected", "AR"), ("rejected", "AR")]


@pytest.mark.django_db
def test_send_an_ack_for_another_message_leaves_it_sent_and_stops(lab):
    first, second = _queued(lab, "CBC", "CMP")
    with Receiver(lambda text: ack("AA", "L999999")) as receiver:
        outcomes = _send(lab, receiver.port)
    assert len(receiver.received) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert [out for _, out in outcomes] == [hl7_services.NO_ACK, hl7_services.NOT_SENT]
    assert (first.status, first.ack_code, first.processed_at) == ("sent", "", AT)
    assert "MSA-2: the ACK is for L999999" in first.error
    assert second.status == "queued"
    assert second.error.startswith(f"not sent: stopped after {first.control_id}")


@pytest.mark.django_db
def test_send_without_an_ack_in_time_is_sent_waiting(lab):
    (message,) = _queued(lab)
    with Receiver(lambda text: None) as receiver:
        ((row, outcome),) = _send(lab, receiver.port, timeout=0.5)
    assert outcome == hl7_services.NO_ACK
    assert row.status == "sent"
    assert row.error == (
        f"sent, no ACK within 0.5 s from 127.0.0.1:{receiver.port} at {_local(lab)}"
    )
    (event,) = _events(message)
    assert event.outcome == "failure"


@pytest.mark.django_db
def test_send_connection_refused_leaves_them_queued_with_why(lab):
    first, second = _queued(lab, "CBC", "CMP")
    port = _free_port()
    outcomes = _send(lab, port, timeout=0.5)
    assert [out for _, out in outcomes] == [hl7_services.NOT_SENT] * 2
    for message in (first, second):
        message.refresh_from_db()
        assert (message.status, message.processed_at) == ("queued", None)
        assert message.error == f"not sent: connection refused to 127.0.0.1:{port} at {_local(lab)}"
    event = AuditEvent.objects.filter(resource_type="Hl7Message", outcome="failure").get()
    assert first.control_id in event.detail and second.control_id in event.detail


@pytest.mark.django_db
def test_send_only_the_organizations_queue_up_to_the_limit(lab, other_org):
    first, _second = _queued(lab, "CBC", "CMP")
    Hl7Message.objects.create(
        organization=other_org,
        direction="out",
        message_type="VXU^V04",
        control_id="V1",
        raw="MSH|^~\\&|CAREBENCH|other|IIS|ST|20250314||VXU^V04^VXU_V04|V1|P|2.5.1\r",
        status="queued",
    )
    with Receiver(answering("AA")) as receiver:
        outcomes = _send(lab, receiver.port, limit=1)
    assert [m.control_id for m, _ in outcomes] == [first.control_id]
    assert [read_header(t).control_id for t in receiver.received] == [first.control_id]


@pytest.mark.django_db
def test_send_with_nothing_queued_does_not_connect(lab):
    assert _send(lab, _free_port()) == []


@pytest.mark.django_db
def test_send_orm_leaves_the_registrys_vxu_queued(lab):
    (order_message,) = _queued(lab)
    vxu = _queued_vxu(lab)
    with Receiver(answering("AA")) as lab_receiver:
        outcomes = _send(lab, lab_receiver.port, message_types=["ORM"])
    assert [read_header(t).control_id for t in lab_receiver.received] == [order_message.control_id]
    assert [(m.control_id, out) for m, out in outcomes] == [(order_message.control_id, "AA")]
    vxu.refresh_from_db()
    assert (vxu.status, vxu.ack_code, vxu.error) == ("queued", "", "")


@pytest.mark.django_db
def test_send_vxu_leaves_the_labs_orders_queued(lab):
    (order_message,) = _queued(lab)
    vxu = _queued_vxu(lab)
    with Receiver(answering("AA")) as registry:
        outcomes = _send(lab, registry.port, message_types=["VXU"])
    assert registry.received == [vxu.raw]
    assert [(m.control_id, out) for m, out in outcomes] == [(vxu.control_id, "AA")]
    order_message.refresh_from_db()
    assert (order_message.status, order_message.error) == ("queued", "")


@pytest.mark.django_db
def test_send_by_code_and_event_and_several_types(lab):
    (order_message,) = _queued(lab)
    vxu = _queued_vxu(lab)
    with Receiver(answering("AA")) as receiver:
        _send(lab, receiver.port, message_types=["VXU^V04"])
    assert receiver.received == [vxu.raw]
    with Receiver(answering("AA")) as receiver:
        assert _send(lab, receiver.port, message_types=["VXU^V05"]) == []
    with Receiver(answering("AA")) as receiver:
        _send(lab, receiver.port, message_types=["orm", "VXU"])
    assert receiver.received == [order_message.raw]


@pytest.mark.django_db
def test_send_a_connection_failure_marks_only_that_types_messages(lab):
    (order_message,) = _queued(lab)
    vxu = _queued_vxu(lab)
    outcomes = _send(lab, _free_port(), timeout=0.5, message_types=["VXU"])
    assert [(m.control_id, out) for m, out in outcomes] == [(vxu.control_id, "not sent")]
    order_message.refresh_from_db()
    assert order_message.error == ""


@pytest.mark.django_db
def test_send_the_limit_counts_that_types_messages_only(lab):
    _queued(lab, "CBC", "CMP")
    first_vxu = _queued_vxu(lab, "V0001")
    _queued_vxu(lab, "V0002")
    with Receiver(answering("AA")) as registry:
        outcomes = _send(lab, registry.port, message_types=["VXU"], limit=1)
    assert [m.control_id for m, _ in outcomes] == [first_vxu.control_id]


def test_send_queued_requires_the_message_types():
    with pytest.raises(TypeError):
        hl7_services.send_queued(actor=None, host="127.0.0.1", port=2575)  # type: ignore[call-arg]


@pytest.mark.parametrize("types", [[], "VXU", [""], ["V"], ["VXU^"], ["VXU", "*"], ["%"]])
@pytest.mark.django_db
def test_send_refuses_bad_message_types_naming_the_field(lab, types):
    _queued(lab)
    _queued_vxu(lab)
    with pytest.raises(ValidationError) as caught:
        _send(lab, _free_port(), message_types=types)
    assert "message_types" in caught.value.message_dict
    assert set(Hl7Message.objects.values_list("status", "error")) == {("queued", "")}


@pytest.mark.django_db
def test_send_an_ae_with_warnings_only_is_accepted(lab):
    vxu = _queued_vxu(lab)
    with Receiver(answering("AE", ERR_ADDRESS)) as registry:
        ((row, outcome),) = _send(lab, registry.port, message_types=["VXU"])
    vxu.refresh_from_db()
    assert (outcome, vxu.status, vxu.ack_code) == ("AE", "accepted", "AE")
    assert vxu.error == row.error
    assert vxu.error.startswith("accepted with warnings: PID-11: Address & ZIP missing")
    with pytest.raises(ValidationError):
        hl7_services.requeue(actor=lab.mat, message=vxu)  # taken: nothing to resend


@pytest.mark.django_db
def test_a_resent_message_that_is_accepted_loses_its_error(lab):
    (message,) = _queued(lab)
    with Receiver(answering("AE", ERR_CVX)) as receiver:
        _send(lab, receiver.port)
    hl7_services.requeue(actor=lab.mat, message=message)
    with Receiver(answering("AA")) as receiver:
        ((row, _),) = _send(lab, receiver.port)
    assert (row.status, row.ack_code, row.error) == ("accepted", "AA", "")


# --- commands ---------------------------------------------------------------------------------


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("carebench_hl7", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_send_command_prints_a_line_per_message(lab):
    (message,) = _queued(lab)
    with Receiver(answering("AE", ERR_CVX)) as receiver:
        out, _ = _run("send", "--type", "ORM", "--host", "127.0.0.1", "--port", str(receiver.port))
    assert (
        f"{message.control_id} ORM^O01 AE error (RXA-5.1: Vaccine code 999 is not a CVX code" in out
    )
    assert f"1 ORM message(s) to 127.0.0.1:{receiver.port}: AE 1" in out


@pytest.mark.django_db
def test_send_command_fails_when_nothing_could_be_sent(lab):
    (message,) = _queued(lab)
    with pytest.raises(CommandError, match="1 message"):
        _run(
            "send",
            "--type",
            "ORM",
            "--host",
            "127.0.0.1",
            "--port",
            str(_free_port()),
            "--timeout",
            "0.5",
        )
    message.refresh_from_db()
    assert message.status == "queued"
    assert "connection refused" in message.error


@pytest.mark.django_db
def test_send_command_requires_the_type(lab):
    _queued(lab)
    with pytest.raises(CommandError, match="--type"):
        _run("send", "--host", "127.0.0.1", "--port", str(_free_port()))
    with pytest.raises(CommandError, match="invalid choice"):
        _run("send", "--type", "ADT", "--host", "127.0.0.1", "--port", str(_free_port()))
    assert set(Hl7Message.objects.values_list("status", "error")) == {("queued", "")}


@pytest.mark.django_db
def test_send_command_type_orm_does_not_send_a_queued_vxu(lab):
    (order_message,) = _queued(lab)
    vxu = _queued_vxu(lab)
    with Receiver(answering("AA")) as lab_receiver:
        out, _ = _run(
            "send", "--type", "ORM", "--host", "127.0.0.1", "--port", str(lab_receiver.port)
        )
    assert lab_receiver.received == [order_message.raw]
    assert vxu.control_id not in out
    assert f"1 ORM message(s) to 127.0.0.1:{lab_receiver.port}: AA 1" in out
    vxu.refresh_from_db()
    assert vxu.status == "queued"


@pytest.mark.django_db
def test_send_command_type_vxu_does_not_send_a_queued_order(lab):
    (order_message,) = _queued(lab)
    vxu = _queued_vxu(lab)
    with Receiver(answering("AE", ERR_ADDRESS)) as registry:
        out, _ = _run("send", "--type", "VXU", "--host", "127.0.0.1", "--port", str(registry.port))
    assert registry.received == [vxu.raw]
    assert order_message.control_id not in out
    assert f"{vxu.control_id} VXU^V04 AE accepted (accepted with warnings: PID-11:" in out
    order_message.refresh_from_db()
    assert order_message.status == "queued"


@pytest.mark.django_db
def test_send_command_with_nothing_of_that_type_queued(lab):
    _queued(lab)
    port = _free_port()  # nothing listens: nothing to send, so no connection is tried
    out, _ = _run("send", "--type", "VXU", "--host", "127.0.0.1", "--port", str(port))
    assert out.strip() == f"0 VXU message(s) to 127.0.0.1:{port}: nothing queued"
    assert (Hl7Message.objects.get().status, Hl7Message.objects.get().error) == ("queued", "")


@pytest.mark.django_db
def test_acks_command_reads_ack_files(lab, tmp_path):
    first, second = _queued(lab, "CBC", "CMP")
    (tmp_path / "a.hl7").write_text(ack("AA", first.control_id))
    (tmp_path / "b.hl7").write_text(ack("AR", second.control_id))
    out, _ = _run("acks", str(tmp_path / "a.hl7"), str(tmp_path / "b.hl7"))
    assert f"a.hl7: {first.control_id} ORM^O01 AA accepted" in out
    assert f"b.hl7: {second.control_id} ORM^O01 AR rejected" in out
    assert "2 ACK(s) recorded" in out


# --- the Interface page -----------------------------------------------------------------------


def _errored(lab) -> Hl7Message:
    (message,) = _queued(lab)
    return hl7_services.record_ack(
        actor=lab.mat, message=message, ack_text=ack("AE", message.control_id, ERR_CVX)
    )


@pytest.mark.django_db
def test_interface_shows_the_ack_and_error_and_offers_resend(lab, mat):
    message = _errored(lab)
    body = signed_in(mat).get(reverse("labs:hl7_interface")).content.decode()
    assert "Vaccine code 999 is not a CVX code" in body
    assert ">AE<" in body
    assert reverse("labs:hl7_resend", args=[message.pk]) in body


@pytest.mark.django_db
def test_resend_from_the_page_queues_it_again_audited(lab, mat):
    message = _errored(lab)
    response = signed_in(mat).post(reverse("labs:hl7_resend", args=[message.pk]))
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.ack_code) == ("queued", "")
    last = _events(message).last()
    assert last.user_id == mat.pk and '"requeued": true' in last.detail


@pytest.mark.django_db
def test_provider_sees_no_resend_and_cannot_post_it(lab, provider):
    message = _errored(lab)
    client = signed_in(provider)
    body = client.get(reverse("labs:hl7_interface")).content.decode()
    assert reverse("labs:hl7_resend", args=[message.pk]) not in body
    assert client.post(reverse("labs:hl7_resend", args=[message.pk])).status_code == 403
    message.refresh_from_db()
    assert message.status == "error"


@pytest.mark.django_db
def test_resend_of_another_organizations_message_is_not_found(lab, other_mat):
    message = _errored(lab)
    response = signed_in(other_mat).post(reverse("labs:hl7_resend", args=[message.pk]))
    assert response.status_code == 404


@pytest.mark.django_db
def test_message_page_offers_resend_and_comes_back_to_it(lab, mat):
    message = _errored(lab)
    client = signed_in(mat)
    page = client.get(reverse("labs:hl7_message", args=[message.pk])).content.decode()
    assert reverse("labs:hl7_resend", args=[message.pk]) in page
    response = client.post(reverse("labs:hl7_resend", args=[message.pk]), {"next": "message"})
    assert response["Location"] == reverse("labs:hl7_message", args=[message.pk])
