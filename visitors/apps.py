from django.apps import AppConfig


class VisitorsConfig(AppConfig):
    name = "visitors"
    verbose_name = "Visitors and visits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The sign-in signal receiver of the second factor (frontdesk is not an app).
        from django.db.models.signals import post_migrate

        import frontdesk.two_factor  # noqa: F401
        import visitors.polling  # noqa: F401  (signing out ends the session's poll permits)
        import visitors.roles  # keeps role groups in step with memberships

        # After migrate (when permissions exist), make the role groups and fill them.
        post_migrate.connect(visitors.roles.after_migrate, sender=self)
