from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "carebench.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling"
