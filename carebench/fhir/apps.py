from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "carebench.fhir"
    label = "fhir"
    verbose_name = "FHIR API"
