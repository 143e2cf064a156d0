"""Visit pages: rooming and vitals for one encounter, alerts, a patient's vitals history."""

from django.urls import path

from . import views

app_name = "encounters"
urlpatterns = [
    path("<int:pk>/", views.encounter, name="encounter"),
    path("<int:pk>/chief-complaint/", views.chief_complaint, name="chief_complaint"),
    path("<int:pk>/rooming/<slug:item>/", views.rooming_item, name="rooming_item"),
    path("<int:pk>/vitals/", views.record_vitals, name="record_vitals"),
    path("<int:pk>/ready/", views.ready, name="ready"),
    path("alerts/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("walk-in/<int:patient_id>/", views.walk_in, name="walk_in"),
    path("patients/<int:patient_id>/vitals/", views.vitals_history, name="vitals_history"),
]
