"""Audit events: append-only and chained by hash, one chain per organization.

Each event stores the hash of the one before it in its chain and a SHA-256 over its own content,
so editing or deleting a row breaks the chain where it happened (`carebench audit verify`).
The database refuses UPDATE and DELETE on the table (triggers, see the migration).
"""

from __future__ import annotations

from typing import Any

from django.db import models


class Action(models.TextChoices):
    VIEW = "view", "View"
    SEARCH = "search", "Search"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    VOID = "void", "Void"
    EXPORT = "export", "Export"
    NOTIFY = "notify", "Notification sent"
    LOGIN = "login", "Login"
    LOGIN_FAILED = "login_failed", "Login failed"
    LOCKED_OUT = "locked_out", "Locked out"
    LOGOUT = "logout", "Logout"
    SESSION_EXPIRED = "session_expired", "Session expired"
    MFA_ENROLLED = "mfa_enrolled", "MFA enrolled"
    MFA_FAILED = "mfa_failed", "MFA failed"
    PRIVILEGE_CHANGE = "privilege_change", "Privilege change"
    TOKEN_CREATED = "token_created", "API token created"
    ACCESS_DENIED = "access_denied", "Access denied"
    BACKUP = "backup", "Backup"
    RESTORE = "restore", "Restore"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"


class AuditChainHead(models.Model):
    """The last link of one chain; locked while an event is appended."""

    chain = models.CharField(max_length=40, primary_key=True)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"{self.chain} @ {self.seq}"


class AuditEvent(models.Model):
    chain = models.CharField(max_length=40)
    seq = models.BigIntegerField()
    occurred_at = models.DateTimeField(db_index=True)
    organization_id = models.BigIntegerField(null=True, blank=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=30, choices=Action.choices)
    resource_type = models.CharField(max_length=60, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    client_address = models.CharField(max_length=64, blank=True)
    channel = models.CharField(max_length=10, default="web")
    detail = models.TextField(blank=True, default="")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique"),
        ]
        indexes = [
            models.Index(fields=["organization_id", "occurred_at"], name="audit_org_time"),
            models.Index(
                fields=["organization_id", "patient_id", "occurred_at"],
                name="audit_org_patient_time",
            ),
            models.Index(
                fields=["organization_id", "user_id", "occurred_at"], name="audit_org_user_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq} {self.action} by {self.username or '-'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("audit events are append-only")
