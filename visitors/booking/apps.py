from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "visitors.booking"
    label = "booking"
    verbose_name = "Online booking"
    default_auto_field = "django.db.models.BigAutoField"
