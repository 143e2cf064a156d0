from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "carebench.billing"
    label = "billing"
    verbose_name = "Billing and coding"
