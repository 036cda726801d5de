"""A reason closed for the day from the console carries a note in each language: the Spanish
kiosk shows the Spanish note, and the console marks a note given in English only."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _close(client, office, reason, **notes):
    return client.post(
        reverse("desk:reason_close", args=[office.slug]), {"reason": reason.pk, **notes},
        follow=True,
    )  # fmt: skip


def test_the_spanish_kiosk_shows_the_spanish_note(office, clerk, tablet, reasons):
    client = Client()
    client.force_login(clerk)
    page = _close(client, office, reasons[2], note="Programme full", note_es="Programa completo")
    reasons[2].refresh_from_db()
    assert (reasons[2].closed_note, reasons[2].closed_note_es) == (
        "Programme full", "Programa completo",
    )  # fmt: skip
    assert "English only" not in page.text
    tablet.start(language="es")
    tablet.name("Ana", "Ruiz")
    screen = tablet.first_visit()
    assert "Programa completo" in screen.text
    assert "Programme full" not in screen.text


def test_a_note_in_english_only_is_marked_on_the_console_and_falls_back(
    office, clerk, tablet, reasons
):
    client = Client()
    client.force_login(clerk)
    page = _close(client, office, reasons[2], note="Programme full")
    assert "English only" in page.text
    tablet.start(language="es")
    tablet.name("Ana", "Ruiz")
    assert "Programme full" in tablet.first_visit().text
    # Reopened: both notes go.
    _close(client, office, reasons[2], reopen="1")
    reasons[2].refresh_from_db()
    assert (reasons[2].closed_on, reasons[2].closed_note, reasons[2].closed_note_es) == (
        None,
        "",
        "",
    )


def test_a_spanish_note_too_long_is_refused_and_nothing_closes(client, office, clerk, reasons):
    client.force_login(clerk)
    page = _close(client, office, reasons[1], note="Full", note_es="x" * 201)
    assert "Choose a reason to close." in page.text or "at most 200" in page.text
    reasons[1].refresh_from_db()
    assert reasons[1].closed_on is None
