from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "carebench.patients"
    label = "patients"
    verbose_name = "Patients"
