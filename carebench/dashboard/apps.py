from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "carebench.dashboard"
    label = "dashboard"
    verbose_name = "The manager's dashboard"
