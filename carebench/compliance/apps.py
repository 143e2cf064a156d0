from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "carebench.compliance"
    label = "compliance"
    verbose_name = "Compliance: equipment, temperatures, sterilization"
