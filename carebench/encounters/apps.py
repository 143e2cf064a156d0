from django.apps import AppConfig


class EncountersConfig(AppConfig):
    name = "carebench.encounters"
    label = "encounters"
    verbose_name = "Encounters"
