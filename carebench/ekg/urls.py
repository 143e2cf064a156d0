"""EKG pages: a patient's EKGs and upload, the review queue, one EKG with its report and sign."""

from django.urls import path

from . import views

app_name = "ekg"
urlpatterns = [
    path("review/", views.review_queue, name="review"),
    path("patients/<int:patient_id>/", views.patient_ekgs, name="patient"),
    path("patients/<int:patient_id>/upload/", views.upload, name="upload"),
    path("<int:pk>/", views.ekg_page, name="ekg"),
    path("<int:pk>/report.<str:fmt>", views.report, name="report"),
    path("<int:pk>/original/", views.original, name="original"),
    path("<int:pk>/sign/", views.sign, name="sign"),
    path("<int:pk>/void/", views.void, name="void"),
]
