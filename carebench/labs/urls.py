from django.urls import path

from . import hl7_views, poc_views, views

app_name = "labs"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("scan/", views.scan, name="scan"),
    path("catalog/", views.catalog, name="catalog"),
    path("cosign/", views.cosign_queue, name="cosign_queue"),
    path("patients/<int:patient_id>/order/", views.new_order, name="new_order"),
    path(
        "visits/<int:encounter_id>/order/",
        views.new_order_for_encounter,
        name="new_order_for_encounter",
    ),
    path("orders/<int:pk>/", views.order, name="order"),
    path("orders/<int:pk>/requisition.pdf", views.requisition_pdf, name="requisition"),
    path("orders/<int:pk>/cosign/", views.cosign, name="cosign"),
    path("orders/<int:pk>/draw/", views.draw_guide, name="draw"),
    path("orders/<int:pk>/labels.<str:fmt>", views.order_labels, name="order_labels"),
    path("specimens/<int:pk>/", views.specimen, name="specimen"),
    path("specimens/<int:pk>/label.<str:fmt>", views.specimen_label, name="specimen_label"),
    path("specimens/<int:pk>/<str:action>/", views.specimen_action, name="specimen_action"),
    path("manifests/", views.manifests, name="manifests"),
    path("manifests/<int:pk>/", views.manifest, name="manifest"),
    path("manifests/<int:pk>/pickup/", views.manifest_pickup, name="manifest_pickup"),
    path("interface/", hl7_views.interface, name="hl7_interface"),
    path("interface/messages/<int:pk>/", hl7_views.message, name="hl7_message"),
    path("interface/messages/<int:pk>/match/", hl7_views.resolve, name="hl7_resolve"),
    path("interface/messages/<int:pk>/resend/", hl7_views.resend, name="hl7_resend"),
    path("qc/", poc_views.qc, name="qc"),
    path("qc/run/", poc_views.qc_run, name="qc_run"),
    path("qc/kit-lots/", poc_views.add_kit_lot, name="add_kit_lot"),
    path("qc/kit-lots/<int:pk>/retire/", poc_views.retire_kit_lot, name="retire_kit_lot"),
    path("qc/devices/", poc_views.add_device, name="add_device"),
    path("items/<int:pk>/result/", poc_views.poc_entry, name="poc_entry"),
    path("orders/<int:pk>/review/", poc_views.review, name="review"),
    path("orders/<int:pk>/cancel/", poc_views.cancel, name="cancel_order"),
    path("patients/<int:patient_id>/results/", poc_views.patient_results, name="results"),
    path(
        "patients/<int:patient_id>/results/recent/",
        poc_views.recent_results,
        name="recent_results",
    ),
]
