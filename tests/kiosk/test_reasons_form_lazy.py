"""The reasons form compiles its queryset only when something asks for it (drawing the choices,
or an empty answer), not to check an answer against the office's cached reasons."""

import pytest

from tests.factories import ReasonFactory
from visitors.forms import ReasonsForm

pytestmark = pytest.mark.django_db


def test_a_form_only_checked_makes_no_queryset_and_drawn_shows_today_s_reasons(office):
    offered = ReasonFactory(office=office, label_en="Job search help")
    ReasonFactory(office=office, label_en="Switched off", is_active=False)
    day = office.local_date()
    form = ReasonsForm({"reasons": [offered.pk]}, office=office, day=day)
    assert form.is_valid(), form.errors
    assert [r.pk for r in form.cleaned_data["reasons"]] == [offered.pk]
    assert form.fields["reasons"]._queryset is None  # checked against the cached list only
    drawn = ReasonsForm(office=office, day=day).as_div()  # the kiosk's step, drawn
    assert "Job search help" in drawn and "Switched off" not in drawn
    assert f'value="{offered.pk}"' in drawn


def test_each_form_draws_its_own_office_s_reasons(office):
    from tests.factories import OfficeFactory

    elsewhere = OfficeFactory(name="Elsewhere", slug="elsewhere")
    ReasonFactory(office=office, label_en="Here only")
    ReasonFactory(office=elsewhere, label_en="There only")
    here = ReasonsForm(office=office, day=office.local_date()).as_div()
    there = ReasonsForm(office=elsewhere, day=elsewhere.local_date()).as_div()
    assert "Here only" in here and "There only" not in here
    assert "There only" in there and "Here only" not in there
