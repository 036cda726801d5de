"""Book a time from a phone: type → day → slot → name and number → code → booked; then the
link from the text to see, move or cancel it. No sign-in; nothing about anyone else."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from tests.booking.conftest import NOW, TUESDAY, last_code, local
from tests.factories import OfficeFactory, VisitorFactory
from visitors.booking import services
from visitors.booking.models import Booking
from visitors.followups.models import Appointment
from visitors.people.models import PhoneVerification

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

PHONE = "(312) 555-0199"
E164 = "+13125550199"


def nine() -> str:
    return str(int(local(TUESDAY, "09:00").timestamp()))


def details(kind, **overrides) -> dict:
    data = {
        "step": "send",
        "lang": "en",
        "type": kind.pk,
        "at": nine(),
        "first_name": "Ana",
        "last_name": "Díaz",
        "phone": PHONE,
        "consent": "on",
    }
    data.update(overrides)
    return data


def token_of(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.text).group(1)


def ask_code(client, office, kind, **overrides):
    data = details(kind, **overrides)
    response = client.post(reverse("booking:book", args=[office.slug]), data)
    return response, data


def confirm(client, office, sent, data, code):
    return client.post(
        reverse("booking:book", args=[office.slug]),
        {**data, "step": "confirm", "token": token_of(sent), "code": code},
    )


def book_online(client, office, kind, texts, **overrides):
    sent, data = ask_code(client, office, kind, **overrides)
    assert sent.status_code == 200, sent.text
    return confirm(client, office, sent, data, last_code(texts))


# --- Choosing ----------------------------------------------------------------------------------


def test_it_lists_the_types_then_days_then_free_times(client, booking_office, job_help):
    url = reverse("booking:book", args=[booking_office.slug])
    other = job_help.__class__.objects.create(office=booking_office, name_en="CV review")
    other.staff.set(job_help.staff.all())
    page = client.get(url)
    assert page.status_code == 200
    assert "Job search help" in page.text and "CV review" in page.text
    assert page["X-Robots-Tag"] == "noindex" and "no-cache" in page["Cache-Control"]
    days = client.get(url, {"type": job_help.pk})
    assert f"day={TUESDAY.isoformat()}" in days.text
    slots = client.get(url, {"type": job_help.pk, "day": TUESDAY.isoformat()})
    assert ">09:00<" in slots.text and ">11:30<" in slots.text and ">12:00<" not in slots.text
    form = client.get(url, {"type": job_help.pk, "at": nine()})
    assert 'name="phone"' in form.text and "Tuesday 3 March, 09:00" in form.text


def test_it_is_not_there_when_the_office_does_not_offer_booking(client, booking_office, job_help):
    booking_office.remote_booking = False
    booking_office.save()
    assert client.get(reverse("booking:book", args=["riverside"])).status_code == 404
    assert client.get(reverse("booking:book", args=["nowhere"])).status_code == 404


def test_it_speaks_spanish_when_asked(client, booking_office, job_help):
    page = client.get(reverse("booking:book", args=["riverside"]), {"lang": "es"})
    assert '<html lang="es">' in page.text
    assert "Ayuda para buscar empleo" in page.text


def test_a_type_not_offered_online_is_not_listed_or_bookable(client, booking_office, job_help):
    job_help.bookable_online = False
    job_help.save()
    url = reverse("booking:book", args=["riverside"])
    assert "Job search help" not in client.get(url).text
    sent, _data = ask_code(client, booking_office, job_help)
    assert sent.status_code == 409
    assert not PhoneVerification.objects.exists()


def test_a_taken_time_shows_as_not_free_and_says_nobodys_name(client, booking_office, job_help):
    services.booking_make(
        kind=job_help,
        starts_at=local(TUESDAY, "09:00"),
        first_name="Marta",
        last_name="Quintero",
        made_by="desk",
    )
    url = reverse("booking:book", args=["riverside"])
    slots = client.get(url, {"type": job_help.pk, "day": TUESDAY.isoformat()})
    assert ">09:00<" not in slots.text and ">09:30<" in slots.text
    assert "Marta" not in slots.text and "Quintero" not in slots.text
    form = client.get(url, {"type": job_help.pk, "at": nine()})
    assert "no longer free" in form.text and 'name="phone"' not in form.text


def test_the_wrong_method_is_refused(client, booking_office, job_help):
    assert client.put(reverse("booking:book", args=["riverside"])).status_code == 405


# --- Proving the number and booking ---------------------------------------------------------------


def test_it_books_with_the_code_from_the_text(client, booking_office, job_help, texts):
    sent, data = ask_code(client, booking_office, job_help)
    assert "We sent a code by text" in sent.text
    assert texts[-1].to == E164
    done = confirm(client, booking_office, sent, data, last_code(texts))
    booking = Booking.objects.get()
    assert done.status_code == 302
    assert done["Location"] == (
        reverse("booking:manage", args=["riverside", booking.manage_token]) + "?lang=en&new=1"
    )
    assert booking.made_by == "online" and booking.phone == E164
    visitor = booking.appointment.visitor
    assert (visitor.first_name, visitor.last_name, visitor.consent_sms) == ("Ana", "Díaz", True)
    page = client.get(done["Location"])
    assert "You're booked" in page.text and booking.manage_token in page.text


def test_a_wrong_code_books_nothing(client, booking_office, job_help, texts):
    sent, data = ask_code(client, booking_office, job_help)
    code = last_code(texts)
    wrong = "000000" if code != "000000" else "111111"
    response = confirm(client, booking_office, sent, data, wrong)
    assert response.status_code == 422
    assert "That code is not right" in response.text
    assert not Booking.objects.exists()
    assert confirm(client, booking_office, sent, data, code).status_code == 302


def test_an_expired_code_books_nothing(client, booking_office, job_help, texts, frozen):
    sent, data = ask_code(client, booking_office, job_help)
    frozen.move_to(NOW + dt.timedelta(minutes=11))
    response = confirm(client, booking_office, sent, data, last_code(texts))
    assert response.status_code == 422 and "run out" in response.text
    assert not Booking.objects.exists()


def test_one_proof_makes_one_booking(client, booking_office, job_help, texts):
    sent, data = ask_code(client, booking_office, job_help)
    code = last_code(texts)
    assert confirm(client, booking_office, sent, data, code).status_code == 302
    again = confirm(
        client,
        booking_office,
        sent,
        {**data, "at": str(int(local(TUESDAY, "10:00").timestamp()))},
        code,
    )
    assert again.status_code == 422 and "already used" in again.text
    assert Booking.objects.count() == 1


def test_every_write_needs_a_proved_number(client, booking_office, job_help, texts):
    """A made-up token, or a real one never proved, books nothing."""
    url = reverse("booking:book", args=["riverside"])
    made_up = client.post(url, {**details(job_help), "step": "confirm", "token": "x" * 43})
    assert made_up.status_code == 422
    sent, data = ask_code(client, booking_office, job_help)
    unproved = client.post(url, {**data, "step": "confirm", "token": token_of(sent), "code": ""})
    assert unproved.status_code == 422
    assert not Booking.objects.exists()


def test_a_slot_taken_while_typing_the_code_offers_the_other_times(
    client, booking_office, job_help, texts
):
    sent, data = ask_code(client, booking_office, job_help)
    services.booking_make(
        kind=job_help,
        starts_at=local(TUESDAY, "09:00"),
        first_name="Bo",
        last_name="Lin",
        made_by="desk",
    )
    taken = confirm(client, booking_office, sent, data, last_code(texts))
    assert taken.status_code == 409
    assert "just been taken" in taken.text and ">09:00<" not in taken.text
    # The number stays proved: choosing another time needs no new code.
    again = client.post(
        reverse("booking:book", args=["riverside"]),
        {
            **data,
            "step": "confirm",
            "token": token_of(taken),
            "at": str(int(local(TUESDAY, "09:30").timestamp())),
        },
    )
    assert again.status_code == 302
    assert Booking.objects.get(made_by="online").appointment.starts_at == local(TUESDAY, "09:30")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"first_name": ""}, "This field is required."),
        ({"last_name": "x" * 101}, "at most 100 characters"),
        ({"phone": ""}, "This field is required."),
        ({"phone": "12345"}, "Enter a mobile number we can text"),
        ({"phone": "<script>alert(1)</script>"}, "Enter a mobile number we can text"),
        ({"consent": ""}, "We can book online only with texts"),
    ],
)
def test_bad_details_are_refused_with_a_reason(
    client, booking_office, job_help, texts, overrides, error
):
    response, _data = ask_code(client, booking_office, job_help, **overrides)
    assert response.status_code == 422
    assert error in response.text
    assert texts == []
    assert "<script>alert" not in response.text


def test_unicode_and_markup_in_names_are_kept_as_typed_and_shown_escaped(
    client, booking_office, job_help, texts
):
    done = book_online(
        client, booking_office, job_help, texts, first_name="<b>Zoë</b>", last_name="Nguyễn 李"
    )
    visitor = Booking.objects.get().appointment.visitor
    assert (visitor.first_name, visitor.last_name) == ("<b>Zoë</b>", "Nguyễn 李")
    page = client.get(done["Location"])
    assert "&lt;b&gt;Zoë&lt;/b&gt;" in page.text and "<b>Zoë</b>" not in page.text


def test_a_number_that_cannot_take_a_text_is_told_so(client, booking_office, job_help, settings):
    settings.SMS_BACKEND = "tests.failing_sms.FailingBackend"
    response, _data = ask_code(client, booking_office, job_help)
    assert response.status_code == 422
    assert "We could not send a text to that number" in response.text


def test_a_number_with_missed_bookings_must_come_in_person(client, booking_office, job_help, texts):
    booking_office.remote_no_show_limit = 1
    booking_office.save()
    ana = VisitorFactory(phone=PHONE)
    Appointment.objects.create(
        office=booking_office,
        visitor=ana,
        starts_at=NOW - dt.timedelta(days=3),
        purpose="Job search help",
        state="missed",
    )
    # Before the code nothing tells a stranger typing this number about its missed bookings.
    sent, data = ask_code(client, booking_office, job_help)
    assert sent.status_code == 200 and "come to the office" not in sent.text
    response = confirm(client, booking_office, sent, data, last_code(texts))
    assert response.status_code == 403
    assert "come to the office" in response.text
    assert not Booking.objects.exists()


# --- The booking's own page ---------------------------------------------------------------------


@pytest.fixture
def booked(client, booking_office, job_help, texts):
    done = book_online(client, booking_office, job_help, texts)
    assert done.status_code == 302
    return Booking.objects.get()


def manage_url(booking) -> str:
    return reverse("booking:manage", args=["riverside", booking.manage_token])


def test_the_booking_page_shows_the_booking_and_nothing_more(client, booked):
    page = client.get(manage_url(booked))
    assert page.status_code == 200
    assert "Job search help" in page.text and "Tuesday 3 March 2026, 09:00" in page.text
    assert "Ana" in page.text
    assert "Díaz" not in page.text and "0199" not in page.text
    assert page["X-Robots-Tag"] == "noindex"


def test_an_unknown_token_or_another_offices_slug_is_a_plain_404(client, booked):
    OfficeFactory(slug="hillside", remote_booking=True)
    assert client.get(reverse("booking:manage", args=["riverside", "x" * 43])).status_code == 404
    assert (
        client.get(reverse("booking:manage", args=["hillside", booked.manage_token])).status_code
        == 404
    )
    assert (
        client.post(
            reverse("booking:manage", args=["hillside", booked.manage_token]), {"action": "cancel"}
        ).status_code
        == 404
    )
    assert client.get(reverse("booking:manage", args=["riverside", "x" * 200])).status_code == 404
    # The link in the texts keeps working when the office stops booking online.
    booked.appointment.office.__class__.objects.filter(slug="riverside").update(
        remote_booking=False
    )
    assert client.get(manage_url(booked)).status_code == 200


def test_cancelling_from_the_link_frees_the_time(client, booked, job_help):
    done = client.post(manage_url(booked), {"action": "cancel", "lang": "en"})
    assert done.status_code == 302
    page = client.get(done["Location"])
    assert "Your booking is cancelled" in page.text
    assert local(TUESDAY, "09:00") in [s.starts_at for s in services.slots_free(job_help, TUESDAY)]
    again = client.post(manage_url(booked), {"action": "cancel"})
    assert again.status_code == 409


def test_moving_from_the_link_takes_the_new_time(client, booked):
    url = manage_url(booked)
    days = client.get(url, {"move": "1"})
    assert f"day={TUESDAY.isoformat()}" in days.text
    slots = client.get(url, {"move": "1", "day": TUESDAY.isoformat()})
    assert "10:30" in slots.text
    at = str(int(local(TUESDAY, "10:30").timestamp()))
    done = client.post(url, {"action": "move", "at": at, "lang": "en"})
    assert done.status_code == 302
    assert "Your booking is moved" in client.get(done["Location"]).text
    booked.appointment.refresh_from_db()
    assert booked.appointment.starts_at == local(TUESDAY, "10:30")


def test_moving_to_nonsense_changes_nothing(client, booked):
    for at in ("", "abc", "9" * 40, str(int(local(TUESDAY, "09:10").timestamp()))):
        response = client.post(manage_url(booked), {"action": "move", "at": at})
        assert response.status_code == 409
    assert client.post(manage_url(booked), {"action": "explode"}).status_code == 409
    booked.appointment.refresh_from_db()
    assert booked.appointment.starts_at == local(TUESDAY, "09:00")


def test_another_offices_type_cannot_be_booked_here(client, booking_office, job_help, texts):
    hillside = OfficeFactory(slug="hillside", remote_booking=True)
    theirs = job_help.__class__.objects.create(office=hillside, name_en="Hillside only")
    theirs.staff.set(job_help.staff.all())
    url = reverse("booking:book", args=["riverside"])
    assert "Hillside only" not in client.get(url, {"type": theirs.pk}).text
    sent, _data = ask_code(client, booking_office, theirs)
    assert sent.status_code == 409
    assert texts == []


@pytest.mark.parametrize("odd", ["²", "٣", "1²"])
def test_odd_digits_in_the_choices_get_a_page_never_an_error(client, booking_office, job_help, odd):
    url = reverse("booking:book", args=[booking_office.slug])
    assert client.get(url, {"type": odd}).status_code == 200
    assert client.get(url, {"type": job_help.pk, "at": odd}).status_code in (200, 422)
    assert client.post(url, {"type": odd, "step": "details"}).status_code < 500
