"""Waiting visitors hear from us: an office message shows on every status page and on the lobby
display (both languages) until it expires or is taken down, as well as by text to those who
agreed; a place that got worse is explained without saying who; a visitor who agreed to texts
gets one text at check-in with the ticket and the status link."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import VisitFactory, VisitorFactory
from visitors import outbox, services
from visitors.messaging.models import OfficeMessage, Reminder
from visitors.offices.models import KioskLink
from visitors.people.models import PriorityCategory

pytestmark = pytest.mark.django_db


def _status(client, visit, **params):
    return client.get(reverse("status:page", args=[visit.status_token]), params)


def _display_client(office) -> Client:
    display = Client()
    _link, token = KioskLink.issue(office=office, label="TV", capability="display")
    display.get(reverse("display:open", args=[office.slug, token]))
    return display


def _broadcast(client, office, **data):
    form = {"message": "Running 20 minutes behind today.", "minutes": "60"} | data
    return client.post(reverse("desk:broadcast", args=[office.slug]), form, follow=True)


def test_a_message_shows_on_status_pages_and_the_display_in_both_languages(client, office, clerk):
    english = VisitFactory(office=office)  # no phone, no consent: only the page reaches them
    spanish = VisitFactory(office=office, visitor=VisitorFactory(preferred_language="es"))
    display = _display_client(office)
    board = reverse("display:board", args=[office.slug])
    held = display.get(board).text
    version = held.split("?v=", 1)[1].split('"', 1)[0]
    assert display.get(board, {"v": version}, headers={"HX-Request": "true"}).status_code == 204

    client.force_login(clerk)
    page = _broadcast(client, office, message_es="Vamos 20 minutos atrasados.").text
    assert "Message shown on the status pages and the lobby display" in page
    message = OfficeMessage.objects.get()
    assert (message.text_en, message.text_es, message.created_by) == (
        "Running 20 minutes behind today.", "Vamos 20 minutos atrasados.", clerk,
    )  # fmt: skip
    assert "Running 20 minutes behind today." in _status(Client(), english).text
    es_page = _status(Client(), spanish).text
    assert "Vamos 20 minutos atrasados." in es_page
    assert "Running 20 minutes behind today." not in es_page
    # The open display changes at its next poll, and shows both languages.
    moved = display.get(board, {"v": version}, headers={"HX-Request": "true"})
    assert moved.status_code == 200
    assert "Running 20 minutes behind today." in moved.text
    assert '<span lang="es">Vamos 20 minutos atrasados.</span>' in moved.text


def test_a_message_ends_when_it_expires_or_is_taken_down(client, office, clerk):
    visit = VisitFactory(office=office)
    client.force_login(clerk)
    _broadcast(client, office, minutes="30")
    assert "Running 20 minutes behind" in _status(Client(), visit).text
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=31)):
        assert "Running 20 minutes behind" not in _status(Client(), visit).text
    console = client.get(reverse("desk:console", args=[office.slug])).text
    assert "English only" in console  # no Spanish version given
    message = OfficeMessage.objects.get()
    take_down = reverse("desk:message_take_down", args=[office.slug, message.pk])
    assert take_down in console
    client.post(take_down)
    assert "Running 20 minutes behind" not in _status(Client(), visit).text
    assert take_down not in client.get(reverse("desk:console", args=[office.slug])).text


def test_another_office_cannot_take_a_message_down(client, office, other_office, outsider, clerk):
    client.force_login(clerk)
    _broadcast(client, office)
    message = OfficeMessage.objects.get()
    client.force_login(outsider)
    for slug in (office.slug, other_office.slug):
        response = client.post(reverse("desk:message_take_down", args=[slug, message.pk]))
        assert response.status_code in (403, 404)
    assert OfficeMessage.objects.get().expires_at > timezone.now()


def test_bad_messages_get_a_clear_answer_and_nothing_is_shown(client, office, clerk):
    client.force_login(clerk)
    assert (
        "Ensure this value has at most 300 characters"
        in _broadcast(client, office, message_es="x" * 301).text
    )
    assert "Select a valid choice" in _broadcast(client, office, minutes="100000").text
    assert not OfficeMessage.objects.exists()
    _broadcast(client, office, message="<script>alert(1)</script> late")
    visit = VisitFactory(office=office)
    page = _status(Client(), visit).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; late" in page and "<script>alert" not in page


def test_the_text_goes_in_the_visitor_s_language(client, office, clerk, memory_sms):
    visitor = VisitorFactory(preferred_language="es", phone="(555) 201-4477", consent_sms=True)
    VisitFactory(office=office, visitor=visitor)
    client.force_login(clerk)
    _broadcast(client, office, message_es="Vamos 20 minutos atrasados.")
    reminder = Reminder.objects.get(kind=Reminder.Kind.BROADCAST)
    subject, body = outbox._render(reminder)
    assert "Vamos 20 minutos atrasados." in body and "Running" not in body


def test_a_worse_place_is_explained_without_saying_who(client, office, clerk):
    now = timezone.now()
    first = VisitFactory(office=office, checked_in_at=now - dt.timedelta(minutes=20))
    ours = VisitFactory(office=office, checked_in_at=now - dt.timedelta(minutes=10))
    page = _status(Client(), ours).text
    assert "You are number 2 in line." in page and "placed ahead of you" not in page
    veteran = VisitorFactory(
        first_name="Veronica", priority_category=PriorityCategory.COVERED_VETERAN
    )
    VisitFactory(office=office, visitor=veteran, priority=1)
    partial = _status(Client(), ours, lang="en", best="2")
    assert "You are number 3 in line." in partial.text
    assert "You were number 2." in partial.text and "placed ahead of you" in partial.text
    assert "Veronica" not in partial.text
    assert "best=2" in partial.text  # the page keeps its best place for the next poll
    services.visit_call(visit=first, staff=clerk, desk="1")
    again = _status(Client(), ours, lang="en", best="2").text
    assert "You are number 2 in line." in again and "placed ahead of you" not in again


def test_one_text_at_check_in_with_the_status_link_only_with_consent(
    client, office, clerk, settings
):
    settings.PUBLIC_URL = "https://frontdesk.example.org"
    client.force_login(clerk)
    agreed = VisitorFactory(phone="(555) 201-3344", consent_sms=True, preferred_language="es")
    silent = VisitorFactory(phone="(555) 201-5566", consent_sms=False)
    for visitor in (agreed, silent):
        services.visit_check_in(office=office, visitor=visitor, source="desk")
    texts = Reminder.objects.filter(kind=Reminder.Kind.CHECKED_IN)
    assert [r.visitor for r in texts] == [agreed]
    reminder = texts.get()
    visit = reminder.visit
    subject, body = outbox._render(reminder)
    url = "https://frontdesk.example.org" + reverse("status:page", args=[visit.status_token])
    assert url in body and visit.ticket_code in body
    assert "Reply STOP" in body or "STOP" in body
