from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "visitors.integrations"
    label = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"
