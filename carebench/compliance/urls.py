from django.urls import path

from . import views

app_name = "compliance"

urlpatterns = [
    path("", views.home, name="home"),
    path("devices/", views.devices, name="devices"),
    path("devices/new/", views.add_device, name="add_device"),
    path("devices/<int:pk>/", views.device, name="device"),
    path("devices/<int:pk>/plans/", views.add_plan, name="add_plan"),
    path("devices/<int:pk>/service/", views.record_service, name="record_service"),
    path("devices/<int:pk>/status/", views.device_status, name="device_status"),
    path("storage/<int:pk>/", views.storage_unit, name="storage_unit"),
    path("storage/<int:pk>/readings/", views.add_reading, name="add_reading"),
    path("storage/<int:pk>/upload/", views.upload_readings, name="upload_readings"),
    path("excursions/<int:pk>/", views.excursion, name="excursion"),
    path("excursions/<int:pk>/resolve/", views.resolve_excursion, name="resolve_excursion"),
    path("sterilization/", views.cycles, name="cycles"),
    path("sterilization/new/", views.new_cycle, name="new_cycle"),
    path("sterilization/sets/", views.add_instrument_set, name="add_instrument_set"),
    path("sterilization/<int:pk>/", views.cycle, name="cycle"),
    path("sterilization/<int:pk>/bi/", views.read_bi, name="read_bi"),
    path("sterilization/<int:pk>/recall/", views.recall_cycle, name="recall_cycle"),
]
