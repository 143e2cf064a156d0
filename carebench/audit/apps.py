from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "carebench.audit"
    label = "audit"
    verbose_name = "Audit"
