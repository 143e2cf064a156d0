from django.urls import path

from . import views

app_name = "meds"

urlpatterns = [
    path("", views.stock, name="stock"),
    path("stock/receive/", views.receive, name="receive"),
    path("stock/lots/<int:pk>/", views.lot, name="lot"),
    path("stock/lots/<int:pk>/status/", views.lot_status, name="lot_status"),
    path("stock/lots/<int:pk>/adjust/", views.lot_adjust, name="lot_adjust"),
    path("scan/", views.scan_lookup, name="scan"),
    path("patients/<int:patient_id>/", views.patient_page, name="patient"),
    path(
        "patients/<int:patient_id>/standing/<int:protocol_id>/",
        views.run_standing_order,
        name="run_standing_order",
    ),
    path("patients/<int:patient_id>/order/", views.provider_order, name="provider_order"),
    path("patients/<int:patient_id>/history/", views.record_history, name="record_history"),
    path("orders/<int:pk>/give/", views.give, name="give"),
    path("orders/<int:pk>/refuse/", views.refuse, name="refuse"),
    path("orders/<int:pk>/cosign/", views.cosign, name="cosign"),
    path("cosign/", views.cosign_queue, name="cosign_queue"),
    path("doses/<int:pk>/", views.administration, name="administration"),
    path("doses/<int:pk>/reaction/", views.add_reaction, name="add_reaction"),
    path("doses/<int:pk>/void/", views.void, name="void"),
    path("doses/<int:pk>/handout.pdf", views.handout, name="handout"),
    path("registry/", views.registry, name="registry"),
    path("setup/", views.setup, name="setup"),
    path("setup/products/", views.add_product, name="add_product"),
    path("setup/storage/", views.add_storage_unit, name="add_storage_unit"),
]
