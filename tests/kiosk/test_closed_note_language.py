"""A closed reason's note with no Spanish version, on the Spanish kiosk, is marked as English."""

import pytest

pytestmark = pytest.mark.django_db


def test_an_english_only_note_is_marked_as_english_for_screen_readers(tablet, reasons, office):
    """Better the English note than none; lang="en" lets a screen reader say it in English."""
    reasons[2].closed_on, reasons[2].closed_note = office.local_date(), "Programme full"
    reasons[2].save()
    tablet.start(language="es")
    tablet.name("Ana", "Ruiz")
    screen = tablet.first_visit()
    assert (
        'Seguro de desempleo — sin cupo hoy: <span lang="en">Programme full</span>' in screen.text
    )
