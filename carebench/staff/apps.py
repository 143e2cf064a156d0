from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "carebench.staff"
    label = "staff"
    verbose_name = "Staff: credentials and scope of practice"
