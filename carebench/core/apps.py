from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "carebench.core"
    label = "core"
    verbose_name = "Core"
