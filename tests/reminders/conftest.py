import pytest

from visitors import sms


@pytest.fixture
def memory_sms(settings):
    """Texts go to a list instead of a provider; the list is returned."""
    settings.SMS_BACKEND = "visitors.sms.MemoryBackend"
    sms.MemoryBackend.outbox = []
    return sms.MemoryBackend.outbox
