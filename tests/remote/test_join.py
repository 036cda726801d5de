"""Joining the line from a phone through the office's public page, with the Django client."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.concurrency import together
from tests.factories import OfficeFactory, VisitFactory, VisitorFactory
from tests.remote.conftest import E164, PHONE, ask_code, join, join_data, last_code, proof_of
from visitors.messaging.models import Reminder, ReminderKind
from visitors.people.models import PhoneVerification, Visitor
from visitors.visits.lifecycle import Status
from visitors.visits.models import Source, Visit

pytestmark = pytest.mark.django_db


def test_the_public_page_says_how_many_wait_and_the_estimate_never_who(client, remote_office):
    VisitFactory(office=remote_office, visitor=VisitorFactory(first_name="Zelda", last_name="Q"))
    VisitFactory(office=remote_office)
    page = client.get(reverse("public:office", args=[remote_office.slug]))
    assert page.status_code == 200
    assert "2 people waiting." in page.text
    assert "Estimated wait if you join now:" in page.text
    assert "Zelda" not in page.text and "A-001" not in page.text
    assert "Join the line now" in page.text
    assert page["X-Robots-Tag"] == "noindex"
    assert "no-store" in page["Cache-Control"]


def test_the_public_page_speaks_spanish_and_marks_closed_reasons(client, remote_office):
    closed = remote_office.reasons.last()
    closed.closed_on = remote_office.local_date()
    closed.save()
    page = client.get(reverse("public:office", args=[remote_office.slug]) + "?lang=es")
    assert "Busco trabajo" in page.text
    assert "Únase a la fila ahora" in page.text or "Join the line now" not in page.text
    assert 'class="closed"' in page.text


def test_a_closed_office_says_when_it_opens_and_takes_no_place(client, remote_office, memory_sms):
    remote_office.opening_hours = {"mon": [["09:00", "17:00"]]}
    remote_office.save()
    sunday_night = dt.datetime(2026, 11, 29, 22, 0, tzinfo=remote_office.zone)
    with time_machine.travel(sunday_night, tick=False):
        page = client.get(reverse("public:office", args=[remote_office.slug]))
        assert "Closed now" in page.text and "We open Monday at 09:00." in page.text
        assert "Join the line now</a>" not in page.text
        refused, _data = ask_code(client, remote_office)
    assert "The office is closed now" in refused.text
    assert memory_sms == [] and not Visit.objects.exists()


def test_an_office_that_does_not_offer_it_has_no_join_page(client, memory_sms):
    office = OfficeFactory(slug="plain", remote_join=False)
    assert client.get(reverse("public:join", args=[office.slug])).status_code == 404
    assert "Join the line now" not in client.get(reverse("public:office", args=["plain"])).text
    assert client.get(reverse("public:office", args=["nowhere"])).status_code == 404


def test_a_phone_joins_with_the_code_and_follows_its_place(client, remote_office, memory_sms):
    sent, _data = ask_code(client, remote_office)
    assert sent.status_code == 200
    assert "ending in 0199" in sent.text
    assert memory_sms[-1].to == E164
    assert not Visit.objects.exists()  # nothing before the code
    stored = PhoneVerification.objects.get()
    assert last_code(memory_sms) not in stored.code_hash  # a keyed hash, never the code
    done = join(client, remote_office, memory_sms)
    assert done.status_code == 302
    visit = Visit.objects.get()
    assert visit.source == Source.REMOTE and visit.on_the_way and visit.travel_minutes == 20
    assert visit.visitor.phone == E164 and visit.visitor.consent_sms
    assert visit.notify_when_called
    assert done["Location"].startswith(reverse("status:page", args=[visit.status_token]))
    status = client.get(done["Location"])
    assert "You are on your way" in status.text and "I'm here" in status.text


def test_the_same_code_sent_ten_times_gives_one_place(client, remote_office, memory_sms):
    sent, data = ask_code(client, remote_office)
    final = {**data, "step": "verify", "proof": proof_of(sent), "code": last_code(memory_sms)}
    answers = [client.post(reverse("public:join", args=["riverside"]), final) for _ in range(10)]
    assert {a.status_code for a in answers} == {302}
    assert Visit.objects.count() == 1 and Visitor.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_sends_of_the_proved_form_give_one_place(remote_office, memory_sms):
    from django.test import Client

    sent, data = ask_code(Client(), remote_office)
    final = {**data, "step": "verify", "proof": proof_of(sent), "code": last_code(memory_sms)}
    results = together(
        10, lambda i: Client().post(reverse("public:join", args=["riverside"]), final).status_code
    )
    assert results.count(302) >= 1
    assert all(r in (302, 422) for r in results), results
    assert Visit.objects.count() == 1 and Visitor.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("j-phone", "", "We need a mobile number"),
        ("j-phone", "12345", "whole mobile number"),
        ("j-phone", "<script>alert(1)</script>", "whole mobile number"),
        ("j-first_name", "", "Please type your name here."),
        ("j-first_name", "x" * 101, "at most 100 characters"),
        ("j-first_name", "<>!!", "with letters"),
        ("j-consent", "", "only keep your place if we may text you"),
        ("j-reasons", [], "Please choose at least one reason"),
        ("j-other", "y" * 201, "at most 200 characters"),
        ("j-travel_minutes", "999", "Select a valid choice"),
    ],
)
def test_bad_input_gets_a_clear_message_and_no_text(
    client, remote_office, memory_sms, field, value, message
):
    response, _data = ask_code(client, remote_office, **{field: value})
    assert response.status_code == 422
    assert message in response.text
    assert memory_sms == [] and not PhoneVerification.objects.exists()


def test_unicode_names_and_markup_in_words_are_kept_as_typed(client, remote_office, memory_sms):
    done = join(
        client, remote_office, memory_sms,
        **{"j-first_name": "Zoë-Łucja", "j-last_name": "Nguyễn", "j-reasons": [],
           "j-other": "<b>help</b> with my résumé"},
    )  # fmt: skip
    assert done.status_code == 302
    visit = Visit.objects.get()
    assert (
        visit.visitor.first_name == "Zoë-Łucja"
        and visit.reason_other == "<b>help</b> with my résumé"
    )
    status = client.get(done["Location"])
    assert "<b>help</b>" not in status.text


def test_a_wrong_code_is_refused_and_five_wrong_codes_end_the_proof(
    client, remote_office, memory_sms
):
    sent, data = ask_code(client, remote_office)
    right = last_code(memory_sms)
    wrong = "000000" if right != "000000" else "111111"
    final = {**data, "step": "verify", "proof": proof_of(sent), "code": wrong}
    url = reverse("public:join", args=[remote_office.slug])
    first = client.post(url, final)
    assert first.status_code == 422 and "That code is not right" in first.text
    for _ in range(4):
        client.post(url, final)
    late = client.post(url, {**final, "code": right})
    assert late.status_code == 422 and "Too many wrong codes" in late.text
    assert not Visit.objects.exists()


def test_an_expired_code_is_refused(client, remote_office, memory_sms):
    sent, data = ask_code(client, remote_office)
    final = {**data, "step": "verify", "proof": proof_of(sent), "code": last_code(memory_sms)}
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)):
        late = client.post(reverse("public:join", args=[remote_office.slug]), final)
    assert late.status_code == 422 and "run out" in late.text
    assert not Visit.objects.exists()


def test_a_proof_for_one_number_does_not_take_a_place_for_another(
    client, remote_office, memory_sms
):
    sent, data = ask_code(client, remote_office)
    final = {**data, "step": "verify", "proof": proof_of(sent), "code": last_code(memory_sms),
             "j-phone": "(312) 555-0100"}  # fmt: skip
    refused = client.post(reverse("public:join", args=[remote_office.slug]), final)
    assert refused.status_code == 422 and "ask for a new code" in refused.text
    assert not Visit.objects.exists()


def test_a_proof_from_another_office_does_not_work_here(client, remote_office, memory_sms):
    other = OfficeFactory(slug="hillside", remote_join=True)
    other.reasons.create(label_en="Looking for work")
    sent, data = ask_code(client, remote_office)
    other_data = {**data, "j-reasons": [other.reasons.get().pk], "step": "verify",
                  "proof": proof_of(sent), "code": last_code(memory_sms)}  # fmt: skip
    refused = client.post(reverse("public:join", args=["hillside"]), other_data)
    assert refused.status_code == 422
    assert not Visit.objects.exists()


def test_a_made_up_proof_token_is_refused(client, remote_office, memory_sms):
    data = join_data(remote_office)
    refused = client.post(
        reverse("public:join", args=[remote_office.slug]),
        {**data, "step": "verify", "proof": "x" * 43, "code": "123456"},
    )
    assert refused.status_code == 422 and not Visit.objects.exists()


def test_the_daily_cap_of_remote_places_holds(client, remote_office, memory_sms):
    remote_office.remote_daily_cap = 1
    remote_office.save()
    assert join(client, remote_office, memory_sms).status_code == 302
    page = client.get(reverse("public:office", args=[remote_office.slug]))
    assert "places from phones are all taken" in page.text
    second = client.get(reverse("public:join", args=[remote_office.slug]))
    assert "places from phones are all taken" in second.text
    assert Visit.objects.count() == 1


def test_repeated_no_shows_must_check_in_on_site(client, remote_office, memory_sms):
    remote_office.remote_no_show_limit = 2
    remote_office.save()
    visitor = VisitorFactory(first_name="Ana", last_name="Díaz", phone=PHONE)
    for days in (3, 10):
        when = timezone.now() - dt.timedelta(days=days)
        VisitFactory(office=remote_office, visitor=visitor, source=Source.REMOTE,
                     status=Status.NO_SHOW, checked_in_at=when, called_at=when)  # fmt: skip
    # The code first: before it, nothing tells a stranger typing this number about its past.
    sent, _data = ask_code(client, remote_office)
    assert sent.status_code == 200 and "check in at the office itself" not in sent.text
    refused = join(client, remote_office, memory_sms)
    assert refused.status_code == 422
    assert "check in at the office itself" in refused.text
    assert not Visit.objects.filter(status=Status.WAITING).exists()


def test_a_returning_visitor_is_recognised_only_by_name_and_proved_number(
    client, remote_office, memory_sms
):
    known = VisitorFactory(first_name="Ana", last_name="Díaz", phone="312-555-0199")
    assert join(client, remote_office, memory_sms, **{"j-first_name": "ana"}).status_code == 302
    assert Visit.objects.get().visitor == known
    assert Visitor.objects.count() == 1


def test_a_known_name_with_another_number_is_a_new_visitor(client, remote_office, memory_sms):
    known = VisitorFactory(first_name="Ana", last_name="Díaz", phone="312-555-7777")
    assert join(client, remote_office, memory_sms).status_code == 302
    visit = Visit.objects.get()
    assert visit.visitor != known and Visitor.objects.count() == 2


def test_the_same_last_four_on_another_area_code_is_not_recognised(
    client, remote_office, memory_sms
):
    known = VisitorFactory(first_name="Ana", last_name="Díaz", phone="(773) 555-0199")
    assert join(client, remote_office, memory_sms).status_code == 302
    assert Visit.objects.get().visitor != known


def test_someone_already_waiting_gets_their_own_place_back(client, remote_office, memory_sms):
    known = VisitorFactory(first_name="Ana", last_name="Díaz", phone=PHONE)
    waiting = VisitFactory(office=remote_office, visitor=known)
    done = join(client, remote_office, memory_sms)
    assert done["Location"].startswith(reverse("status:page", args=[waiting.status_token]))
    assert Visit.objects.count() == 1


def test_joining_texts_time_to_head_in_when_the_wait_is_already_short(
    client, remote_office, memory_sms
):
    join(client, remote_office, memory_sms, **{"j-travel_minutes": "30"})
    visit = Visit.objects.get()
    assert visit.head_in_at is not None
    assert Reminder.objects.filter(visit=visit, kind=ReminderKind.HEAD_IN).count() == 1
    assert Reminder.objects.filter(visit=visit, kind=ReminderKind.CHECKED_IN).count() == 1


def test_a_text_that_cannot_be_sent_says_so(client, remote_office, settings):
    settings.SMS_BACKEND = "tests.failing_sms.FailingBackend"
    response, _data = ask_code(client, remote_office)
    assert response.status_code == 422
    assert "could not send a text to that number" in response.text
    assert not PhoneVerification.objects.exists()


def test_a_proof_older_than_its_life_takes_no_place(client, remote_office, memory_sms, settings):
    sent, data = ask_code(client, remote_office)
    final = {**data, "step": "verify", "proof": proof_of(sent), "code": last_code(memory_sms)}
    remote_office.remote_join = True
    remote_office.remote_daily_cap = 0  # refused today: the page is kept and sent again later
    remote_office.save()
    url = reverse("public:join", args=[remote_office.slug])
    assert client.post(url, final).status_code == 422
    remote_office.remote_daily_cap = 60
    remote_office.save()
    later = timezone.now() + dt.timedelta(minutes=settings.VERIFY_VALID_MINUTES + 1)
    with time_machine.travel(later):
        again = client.post(url, final)
    assert again.status_code == 422 and "ask for a new code" in again.text
    assert not Visit.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_joins_racing_for_the_last_place_of_the_day_get_one(remote_office, memory_sms):
    from django.test import Client

    remote_office.remote_daily_cap = 1
    remote_office.save()
    forms = []
    for n in range(6):
        client = Client()
        sent, data = ask_code(
            client, remote_office, **{"j-phone": f"(312) 555-02{n:02d}", "j-first_name": f"P{n}"}
        )
        forms.append((client, {**data, "step": "verify", "proof": proof_of(sent),
                               "code": last_code(memory_sms)}))  # fmt: skip
    url = reverse("public:join", args=[remote_office.slug])
    results = together(6, lambda i: forms[i][0].post(url, forms[i][1]).status_code)
    assert sorted(results) == [302, 422, 422, 422, 422, 422], results
    assert Visit.objects.filter(source=Source.REMOTE).count() == 1


@pytest.mark.parametrize("odd", ["²", "A²", "٣", "\u0000", "x" * 50])
def test_odd_characters_get_a_clear_answer_never_an_error(client, remote_office, odd):
    from tests.kiosk.conftest import Tablet
    from visitors.offices.models import KioskLink
    from visitors.views.kiosk import KIOSK_COOKIE

    visit = VisitFactory(office=remote_office)
    status = reverse("status:page", args=[visit.status_token])
    # A NUL byte is refused whole (400) before any view; the rest reach the views.
    assert client.get(status, {"best": odd}).status_code in (200, 400)
    assert client.post(status + "here/", {"code": odd}).status_code in (302, 400, 422)
    _link, token = KioskLink.issue(office=remote_office, label="Lobby")
    client.cookies[KIOSK_COOKIE] = token
    tablet = Tablet(client, remote_office)
    answer = tablet.post("arrived", ticket=odd, phone_last4=odd)
    assert answer.status_code in (400, 422)


def test_the_door_poster_carries_the_public_page_s_address_and_qr_code(client, remote_office):
    poster = client.get(reverse("public:poster", args=[remote_office.slug]))
    assert poster.status_code == 200
    address = "http://localhost:8000" + reverse("public:office", args=[remote_office.slug])
    assert address in poster.text and "<svg" in poster.text
    assert "Join the line from your phone" in poster.text and "Únase a la fila" in poster.text
    assert client.get(reverse("public:poster", args=["nowhere"])).status_code == 404
