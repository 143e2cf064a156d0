from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "carebench.inbox"
    label = "inbox"
    verbose_name = "Inbox: phone messages, refill requests and tasks"
