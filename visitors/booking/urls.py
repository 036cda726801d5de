"""Online booking's pages: the public ones under /o/<office>/, the desk's under /desk/<office>/."""

from django.urls import path

from visitors.booking import views

app_name = "booking"
urlpatterns = [
    path("o/<slug:slug>/book/", views.book, name="book"),
    path("o/<slug:slug>/booking/<str:token>/", views.manage, name="manage"),
    path("desk/<slug:slug>/book/", views.desk_book, name="desk_book"),
    path("desk/<slug:slug>/bookings/<int:pk>/cancel/", views.desk_cancel, name="desk_cancel"),
]
