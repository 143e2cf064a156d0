"""Patient pages: search, register, the chart and its sections."""

from django.urls import path

from . import document_views, referral_views, views

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
    # documents (document_views.py)
    path("<int:patient_id>/documents/", document_views.patient_documents, name="documents"),
    path(
        "<int:patient_id>/documents/upload/",
        document_views.upload_document,
        name="upload_document",
    ),
    path(
        "<int:patient_id>/documents/recent/",
        document_views.recent_documents,
        name="recent_documents",
    ),
    path("documents/<int:pk>/", document_views.document_detail, name="document"),
    path("documents/<int:pk>/file/", document_views.document_file, name="document_file"),
    path("documents/<int:pk>/void/", document_views.void_document, name="void_document"),
    # imaging and referral orders (referral_views.py)
    path("orders/worklist/", referral_views.worklist, name="referral_worklist"),
    path("<int:patient_id>/orders/", referral_views.patient_orders, name="outside_orders"),
    path("<int:patient_id>/orders/new/", referral_views.new_order, name="new_outside_order"),
    path("orders/<int:pk>/", referral_views.outside_order, name="outside_order"),
    path("orders/<int:pk>/send/", referral_views.send_order, name="send_outside_order"),
    path("orders/<int:pk>/schedule/", referral_views.schedule_order, name="schedule_outside_order"),
    path("orders/<int:pk>/result/", referral_views.receive_result, name="outside_order_result"),
    path("orders/<int:pk>/review/", referral_views.review_order, name="review_outside_order"),
    path("orders/<int:pk>/cancel/", referral_views.cancel_order, name="cancel_outside_order"),
]
