"""Patient pages: search, register, the chart and its sections."""

from django.urls import path

from . import views

app_name = "patients"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("icd10/", views.icd10_search, name="icd10_search"),
    path("new/", views.register, name="register"),
    path("<int:pk>/", views.chart, name="chart"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/voided/", views.voided, name="voided"),
    path("<int:pk>/coverage/add/", views.add_coverage, name="add_coverage"),
    path("<int:pk>/allergies/add/", views.add_allergy, name="add_allergy"),
    path("<int:pk>/allergies/none-known/", views.no_known_allergies, name="no_known_allergies"),
    path("<int:pk>/medications/add/", views.add_medication, name="add_medication"),
    path(
        "<int:pk>/medications/reconcile/", views.reconcile_medications, name="reconcile_medications"
    ),
    path("<int:pk>/problems/add/", views.add_problem, name="add_problem"),
    path("<int:pk>/history/add/", views.add_history, name="add_history"),
    path(
        "<int:pk>/<slug:section_key>/<int:entry_id>/correct/",
        views.correct_entry,
        name="correct_entry",
    ),
    path("<int:pk>/<slug:section_key>/<int:entry_id>/void/", views.void_entry, name="void_entry"),
]
