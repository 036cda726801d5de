"""Arbitrary text thrown at the kiosk and console forms (hypothesis): never a 500, markup is
stored as typed and shown inert, and what was accepted is stored exactly."""

import html

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kiosk.conftest import Tablet
from visitors.messaging.models import Reminder
from visitors.offices.models import KioskLink, ReasonForVisit
from visitors.people.models import Visitor
from visitors.views.kiosk import KIOSK_COOKIE
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db

MARKUP = st.sampled_from([
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "{% debug %}",
    "'; DROP TABLE visitors_visitor; --", "<b>bold</b>", "javascript:alert(1)",
])  # fmt: skip
TEXT = st.one_of(st.text(max_size=150), MARKUP, st.text(min_size=90, max_size=400))
SLOW = settings(max_examples=15, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


def _inert(response, typed: str) -> None:
    """Anything with markup characters that comes back is escaped."""
    if "<" in typed and len(typed.strip()) > 1:
        assert typed.strip() not in response.text or html.escape(typed.strip()) == typed.strip()


@SLOW
@given(first=TEXT, last=TEXT, other=TEXT)
def test_the_kiosk_takes_any_name_without_breaking(client, office, first, last, other):
    _, token = KioskLink.issue(office=office, label="Lobby")
    client.cookies[KIOSK_COOKIE] = token
    reason = ReasonForVisit.objects.get_or_create(office=office, label_en="Job search")[0]
    tablet = Tablet(client, office)
    before = Visit.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    tablet.start()
    named = tablet.name(first, last)
    assert named.status_code < 500
    _inert(named, first)
    if named.status_code != 200:
        assert named.status_code == 422  # a clear message in the form, nothing stored
        return
    tablet.first_visit()
    tablet.reasons(reason, other=other)
    done = tablet.contact()
    assert done.status_code < 500
    _inert(done, other)
    visit = Visit.objects.filter(pk__gt=before).select_related("visitor").first()
    if done.status_code == 200 and visit is not None:
        assert visit.visitor.first_name == first.strip()  # exactly as typed, markup and all
        assert visit.reason_other in ("", other.strip())


@SLOW
@given(message=TEXT)
def test_a_broadcast_of_any_text_is_refused_clearly_or_stored_as_typed(
    client, office, clerk, message
):
    from tests.factories import VisitFactory, VisitorFactory

    Reminder.objects.all().delete()
    Visit.objects.filter(office=office).delete()
    Visitor.objects.filter(first_name="Listener").delete()
    VisitFactory(office=office, visitor=VisitorFactory(first_name="Listener",
                                                       consent_sms=True))  # fmt: skip
    client.force_login(clerk)
    response = client.post(reverse("desk:broadcast", args=[office.slug]), {"message": message},
                           follow=True)  # fmt: skip
    assert response.status_code < 500
    sent = list(Reminder.objects.values_list("context", flat=True))
    cleaned = message.strip()
    if 3 <= len(cleaned) <= 300 and "\x00" not in cleaned:
        assert [c["message"] for c in sent] == [cleaned]
    else:
        assert sent == []
    _inert(response, message)


@SLOW
@given(words=TEXT, leads=TEXT, notes=TEXT, still_open=TEXT, next_time=TEXT)
def test_the_visit_stages_take_any_text_and_keep_it_exactly(
    client, office, counsellor, words, leads, notes, still_open, next_time
):
    from tests.factories import VisitFactory, VisitorFactory
    from visitors import services
    from visitors.visits.models import OpenRequest

    visit = VisitFactory(office=office, visitor=VisitorFactory())
    services.visit_call(visit=visit, staff=counsellor, desk="Desk 1")
    client.force_login(counsellor)

    def stage(name, data):
        url = reverse("desk:visit_stage", args=[office.slug, visit.pk, name])
        response = client.post(url, data, headers={"HX-Request": "true"})
        assert response.status_code < 500, name
        return response

    stage("greeting", {})
    steps = [
        ("determining", {"visitor_words": words}),
        ("responding", {"job_leads": leads}),
        ("concluding", {"outcome": "follow_up", "notes": notes, "still_open": still_open}),
        ("future_reference", {"note_for_next_time": next_time,
                              "follow_up_on": office.local_date().isoformat()}),
    ]  # fmt: skip
    for name, data in steps:
        response = stage(name, data)
        for typed in data.values():
            _inert(response, typed)
        if response.status_code == 422:
            return  # refused with a message in the form; nothing half-recorded beyond it
    visit.refresh_from_db()
    assert visit.visitor_words == words.strip()
    assert visit.job_leads == leads.strip()
    assert visit.notes == notes.strip()
    assert visit.note_for_next_time == next_time.strip()
    if still_open.strip():
        assert OpenRequest.objects.get(raised_on=visit).description == still_open.strip()
