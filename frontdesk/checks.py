"""System checks for a production setup (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Error, Tags, register

from visitors import sms


@register(Tags.security, deploy=True)
def sms_backend_sends(app_configs, **kwargs) -> list[Error]:
    if not sms.sends_nothing():
        return []
    return [
        Error(
            f"SMS_BACKEND is {settings.SMS_BACKEND} with DEBUG=0: texts would be marked sent "
            "but never leave the building.",
            hint="Set SMS_BACKEND=visitors.sms.TwilioBackend (with TWILIO_ACCOUNT_SID, "
            "TWILIO_AUTH_TOKEN and SMS_FROM), or SMS_ALLOW_TEST_BACKEND=1 for a staging setup.",
            id="frontdesk.E001",
        )
    ]
