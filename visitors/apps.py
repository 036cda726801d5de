from django.apps import AppConfig


class VisitorsConfig(AppConfig):
    name = "visitors"
    verbose_name = "Visitors and visits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The sign-in signal receiver of the second factor (frontdesk is not an app).
        import frontdesk.two_factor  # noqa: F401
