from django.apps import AppConfig


class EkgConfig(AppConfig):
    name = "carebench.ekg"
    label = "ekg"
    verbose_name = "EKG"
