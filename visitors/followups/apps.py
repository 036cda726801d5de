from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "visitors.followups"
    label = "followups"
    verbose_name = "Appointments, workshops and follow-ups"
    default_auto_field = "django.db.models.BigAutoField"
