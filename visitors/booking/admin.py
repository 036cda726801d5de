"""Where an office admin sets up booking: the types, the staff's weekly hours and the days
that differ. Bookings themselves are made and changed on the booking pages, not here."""

from django.contrib import admin

from visitors.admin import OfficeScoped
from visitors.booking.models import AppointmentType, AvailabilityException, StaffAvailability


@admin.register(AppointmentType)
class AppointmentTypeAdmin(OfficeScoped, admin.ModelAdmin):
    list_display = (
        "name_en",
        "office",
        "duration_minutes",
        "capacity_per_slot",
        "book_ahead_days",
        "is_active",
        "bookable_online",
    )
    list_filter = ("office", "is_active", "bookable_online")
    filter_horizontal = ("staff",)
    search_fields = ("name_en", "name_es")


@admin.register(StaffAvailability)
class StaffAvailabilityAdmin(OfficeScoped, admin.ModelAdmin):
    list_display = ("user", "office", "weekday", "starts", "ends")
    list_filter = ("office", "weekday")


@admin.register(AvailabilityException)
class AvailabilityExceptionAdmin(OfficeScoped, admin.ModelAdmin):
    list_display = ("date", "user", "office", "starts", "ends", "available", "note")
    list_filter = ("office", "available")
    date_hierarchy = "date"
