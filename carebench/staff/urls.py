from django.urls import path

from . import views

app_name = "staff"

urlpatterns = [
    path("", views.credentials, name="credentials"),
    path("credentials/add/", views.add_credential, name="add_credential"),
    path("credentials/<int:pk>/proof/", views.proof, name="proof"),
    path("credentials/<int:pk>/verify/", views.verify, name="verify"),
    path("credentials/<int:pk>/void/", views.void, name="void"),
    path("ce/add/", views.add_ce, name="add_ce"),
    path("workers/<int:pk>/", views.worker, name="worker"),
    path("rules/", views.rules, name="rules"),
    path("cosign/", views.cosign_queue, name="cosign_queue"),
    path("cosign/<int:pk>/", views.cosign, name="cosign"),
    path("rules/add/", views.add_rule, name="add_rule"),
    path("rules/examples/", views.load_examples, name="load_examples"),
    path("rules/<int:pk>/retire/", views.retire_rule, name="retire_rule"),
]
