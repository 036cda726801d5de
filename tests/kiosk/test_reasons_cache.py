"""The office's active reasons come from the cache on the kiosk's screens and in the forms that
check the ones chosen (kiosk and API), and are forgotten at once when one changes: switched off,
closed for the day, reopened, renamed, deleted, or changed by a QuerySet.update."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import ReasonFactory
from visitors import services
from visitors.forms import ReasonsForm
from visitors.offices.models import ReasonForVisit
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db


def _offered(tablet):
    page = tablet.identify("Nadia", "Okafor").content.decode()
    tablet.state = ""
    return page


def test_the_reasons_screen_and_the_last_step_do_not_read_the_reasons_again(tablet, reasons):
    _offered(tablet)  # read once, cached
    with CaptureQueriesContext(connection) as captured:
        tablet.identify("Ada", "Lovelace")
        assert tablet.finish(reasons[0]).status_code == 200
    assert "offices_reasonforvisit" not in " ".join(q["sql"] for q in captured.captured_queries)
    assert list(Visit.objects.get(visitor__first_name="Ada").reasons.all()) == [reasons[0]]


@pytest.mark.parametrize("change", ["switched_off", "update", "delete", "closed_today"])
def test_a_reason_changed_any_way_is_gone_from_the_tablet_at_once(tablet, reasons, change):
    gone = reasons[0]
    pk = gone.pk  # (None once deleted)
    assert f'name="reasons" value="{pk}"' in _offered(tablet)
    if change == "switched_off":
        gone.is_active = False
        gone.save()
    elif change == "update":
        ReasonForVisit.objects.filter(pk=gone.pk).update(is_active=False)
    elif change == "delete":
        gone.delete()
    else:
        services.reason_close_for_today(reason=gone, note="Full today")
    page = _offered(tablet)
    assert f'name="reasons" value="{pk}"' not in page
    if change == "closed_today":
        assert "Full today" in page  # shown, not offered
    tablet.identify("Ada", "Lovelace")
    refused = tablet.post("finish", reasons=[pk], priority_category="none", ahead_count="3")
    assert refused.status_code == 422
    assert not Visit.objects.filter(visitor__first_name="Ada").exists()


def test_a_new_or_renamed_reason_shows_at_once(tablet, reasons):
    _offered(tablet)
    reasons[1].label_en = "Résumé clinic"
    reasons[1].save()
    added = ReasonFactory(office=tablet.office, label_en="Unemployment claim")
    page = _offered(tablet)
    assert "Résumé clinic" in page
    assert f'name="reasons" value="{added.pk}"' in page


def test_the_form_answers_as_the_model_field_did(office, reasons):
    day = office.local_date()
    other = ReasonFactory(label_en="Another office's")
    cases = {
        "not_a_number": (["abc"], "invalid_pk_value"),
        "another_office": ([str(other.pk)], "invalid_choice"),
        "unknown": (["999999"], "invalid_choice"),
    }
    for data, code in cases.values():
        form = ReasonsForm({"reasons": data}, office=office, day=day)
        assert not form.is_valid()
        assert form.errors.as_data()["reasons"][0].code == code
    both = [str(reasons[1].pk), str(reasons[0].pk), str(reasons[0].pk)]
    form = ReasonsForm({"reasons": both}, office=office, day=day)
    assert form.is_valid()
    # The office's order, each once, as the model field's queryset gave them.
    assert list(form.cleaned_data["reasons"]) == list(
        ReasonForVisit.objects.filter(pk__in=[r.pk for r in reasons[:2]])
    )
