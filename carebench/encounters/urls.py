"""Visit pages: rooming and vitals for one encounter, alerts, a patient's vitals history."""

from django.urls import path

from . import procedure_views, views

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
    # the procedure room and wound care (procedure_views.py)
    path("procedures/templates/", procedure_views.templates, name="procedure_templates"),
    path(
        "procedures/templates/install/",
        procedure_views.install_templates,
        name="install_procedure_templates",
    ),
    path(
        "procedures/templates/<int:pk>/",
        procedure_views.edit_template,
        name="procedure_template",
    ),
    path("<int:pk>/procedures/", procedure_views.procedures, name="procedures"),
    path("procedures/<int:pk>/", procedure_views.procedure, name="procedure"),
    path(
        "procedures/<int:pk>/handout.pdf",
        procedure_views.procedure_handout,
        name="procedure_handout",
    ),
    path(
        "procedures/<int:pk>/consents/<int:consent_id>/",
        procedure_views.consent_image,
        name="consent_image",
    ),
    path("procedures/<int:pk>/<slug:step>/", procedure_views.procedure_step, name="procedure_step"),
    path("patients/<int:patient_id>/wounds/", procedure_views.wounds, name="wounds"),
    path("wounds/<int:pk>/", procedure_views.wound, name="wound"),
    path("wounds/<int:pk>/assess/", procedure_views.assess_wound, name="assess_wound"),
    path("wounds/<int:pk>/status/", procedure_views.wound_status, name="wound_status"),
    path("wound-photos/<int:pk>/", procedure_views.wound_photo, name="wound_photo"),
]
