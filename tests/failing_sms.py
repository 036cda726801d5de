"""An SMS backend whose provider refuses every number."""

from visitors.sms import BaseBackend, SmsError


class FailingBackend(BaseBackend):
    def send(self, message) -> str:
        raise SmsError("invalid number", permanent=True)
