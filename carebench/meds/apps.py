from django.apps import AppConfig


class MedsConfig(AppConfig):
    name = "carebench.meds"
    label = "meds"
    verbose_name = "Injections and immunizations"
