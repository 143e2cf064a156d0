"""Reminder channels: email through Django's mail backend, text messages through a pluggable
SMS backend (the console backend prints them; a clinic plugs in its gateway's).
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

logger = logging.getLogger("carebench.reminders")


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str) -> None: ...


class ConsoleSmsBackend:
    """Writes each text message to the log and keeps it in `outbox` (development and tests)."""

    outbox: list[tuple[str, str]] = []

    def send(self, *, to: str, body: str) -> None:
        ConsoleSmsBackend.outbox.append((to, body))
        logger.warning("SMS to %s: %s", to, body)


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.CAREBENCH_SMS_BACKEND)()
    return backend


def send_email(*, to: str, subject: str, body: str) -> None:
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)


def send_sms(*, to: str, body: str) -> None:
    sms_backend().send(to=to, body=body)
