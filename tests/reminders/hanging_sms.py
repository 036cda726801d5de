"""An SMS backend for the worker-kill test: it hangs in the middle of a send so the test can
kill the worker there. ``HANG_SMS_WHEN=before`` hangs before the provider has the message;
``after`` hangs once the provider has it but before the worker could mark the reminder sent.
The test process sees ``HANG_SMS_MARKER`` appear when the worker is hanging."""

import os
import time
from pathlib import Path

from visitors.sms import FileBackend, SmsMessage


class HangingBackend(FileBackend):
    def send(self, message: SmsMessage) -> str:
        when = os.environ["HANG_SMS_WHEN"]
        if when == "after":
            super().send(message)
        Path(os.environ["HANG_SMS_MARKER"]).write_text(message.idempotency_key)
        time.sleep(600)  # until the test kills this process
        raise AssertionError("the worker should have been killed while sending")
