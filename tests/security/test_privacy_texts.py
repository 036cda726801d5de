"""A visitor's texts follow the person: a merge moves their threads to the kept record (joining
a thread already there), the export includes them, and anonymising removes their words."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import VisitFactory, VisitorFactory
from visitors import conversations, privacy, services
from visitors.messaging.models import Conversation, ConversationMessage

pytestmark = pytest.mark.django_db


def _texting(office, first, phone):
    person = VisitorFactory(first_name=first, last_name="Díaz", phone=phone, consent_sms=True)
    VisitFactory(office=office, visitor=person, status="left",
                 checked_in_at=timezone.now() - dt.timedelta(days=3))  # fmt: skip
    return person


def test_a_merge_moves_and_joins_the_threads(office, manager):
    keep = _texting(office, "Rosa", "(555) 301-0001")
    dupe = _texting(office, "Rosa Maria", "(555) 301-0002")
    conversations.inbound_receive(sender="+15553010001", body="Hello from my first number")
    conversations.inbound_receive(sender="+15553010002", body="And from the second")
    assert Conversation.objects.count() == 2
    services.visitor_merge(keep=keep, merge=dupe, by=manager, office=office)
    (thread,) = Conversation.objects.all()
    assert thread.visitor == keep and thread.office == office
    assert sorted(thread.messages.values_list("body", flat=True)) == [
        "And from the second", "Hello from my first number",
    ]  # fmt: skip
    assert thread.awaiting_reply_since is not None


def test_a_merge_moves_a_thread_the_kept_person_lacks(office, manager):
    keep = _texting(office, "Rosa", "(555) 301-0001")
    dupe = _texting(office, "Rosa Maria", "(555) 301-0002")
    conversations.inbound_receive(sender="+15553010002", body="Only from the second")
    services.visitor_merge(keep=keep, merge=dupe, by=manager, office=office)
    thread = Conversation.objects.get()
    assert thread.visitor == keep
    assert thread.key == Conversation.key_for(office_id=office.pk, visitor_id=keep.pk, number="")


def test_export_has_the_texts_and_anonymising_removes_them(office):
    rosa = _texting(office, "Rosa", "(555) 301-0001")
    conversations.inbound_receive(sender="+15553010001", body="My new number is 555-0199")
    exported = privacy.visitor_export(rosa)
    assert [t["body"] for t in exported["texts"]] == ["My new number is 555-0199"]
    privacy.visitor_anonymise(rosa)
    assert list(ConversationMessage.objects.values_list("body", flat=True)) == ["(removed)"]
    thread = Conversation.objects.get()
    assert (thread.phone, thread.number) == ("", "")
