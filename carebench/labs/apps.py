from django.apps import AppConfig


class LabsConfig(AppConfig):
    name = "carebench.labs"
    label = "labs"
    verbose_name = "Lab orders and specimens"
