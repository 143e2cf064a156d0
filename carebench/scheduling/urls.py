"""Schedule pages: day and week views, booking, appointments, the flow board, setup, feeds."""

from django.urls import path

from . import views

app_name = "scheduling"
urlpatterns = [
    path("", views.day, name="day"),
    path("week/", views.week, name="week"),
    path("book/", views.book, name="book"),
    path("book/patients/", views.patient_options, name="patient_options"),
    path("book/slots/", views.slots, name="slots"),
    path("appointments/<int:pk>/", views.appointment, name="appointment"),
    path("appointments/<int:pk>/reschedule/", views.reschedule, name="reschedule"),
    path("appointments/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("appointments/<int:pk>/no-show/", views.no_show, name="no_show"),
    path("appointments/<int:pk>/advance/", views.advance, name="advance"),
    path("board/", views.board, name="board"),
    path("rooms/<int:pk>/status/", views.room_status, name="room_status"),
    path("setup/providers/", views.providers, name="providers"),
    path("setup/providers/<int:pk>/", views.provider, name="provider"),
    path("setup/rooms/", views.rooms, name="rooms"),
    path("setup/types/", views.types, name="types"),
    path("providers/<int:pk>/calendar.ics", views.calendar, name="calendar"),
]
