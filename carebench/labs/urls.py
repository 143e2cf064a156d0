from django.urls import path

from . import views

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
]
