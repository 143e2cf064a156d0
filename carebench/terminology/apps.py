from django.apps import AppConfig


class TerminologyConfig(AppConfig):
    name = "carebench.terminology"
    label = "terminology"
    verbose_name = "Terminology"
