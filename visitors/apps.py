from django.apps import AppConfig


class VisitorsConfig(AppConfig):
    name = "visitors"
    verbose_name = "Visitors and visits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The sign-in signal receiver of the second factor (frontdesk is not an app).
        from django.apps import apps
        from django.db.models.signals import post_migrate

        import frontdesk.auth  # noqa: F401  (a saved user is forgotten by the user cache)
        import frontdesk.checks  # noqa: F401  (production checks for check --deploy)
        import frontdesk.two_factor  # noqa: F401
        import visitors.access  # noqa: F401  (a changed membership is forgotten by its cache)
        import visitors.polling  # noqa: F401  (signing out ends the session's poll permits)
        import visitors.webhooks  # noqa: F401  (a changed subscription is forgotten by its cache)
        from visitors.offices import roles  # keeps role groups in step with memberships

        # After each domain app's migrate (when its permissions exist), make the role groups
        # and fill them; idempotent, so the last one leaves every permission in place.
        for label in roles.ROLE_APPS:
            post_migrate.connect(
                roles.after_migrate, sender=apps.get_app_config(label),
                dispatch_uid=f"role-groups-{label}",
            )  # fmt: skip
