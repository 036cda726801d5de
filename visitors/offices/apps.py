from django.apps import AppConfig


class OfficesConfig(AppConfig):
    name = "visitors.offices"
    label = "offices"
    verbose_name = "Offices and staff"
    default_auto_field = "django.db.models.BigAutoField"
