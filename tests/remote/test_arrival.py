"""On the way, then here: the lobby code, the kiosk, the desk; call next passes over those on
the way; a place nobody came for is released; "time to head in"."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    MembershipFactory,
    OfficeFactory,
    UserFactory,
    VisitFactory,
    VisitorFactory,
)
from tests.kiosk.conftest import Tablet
from tests.remote.conftest import join
from visitors import dashboard, remote, services
from visitors.messaging.models import Reminder, ReminderKind
from visitors.offices.models import KioskLink, StaffRole
from visitors.views.display import DISPLAY_COOKIE
from visitors.views.kiosk import KIOSK_COOKIE
from visitors.visits.lifecycle import Status
from visitors.visits.models import Source, Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_the_way(client, remote_office, memory_sms):
    assert join(client, remote_office, memory_sms).status_code == 302
    return Visit.objects.get()


@pytest.fixture
def desk_user(remote_office):
    user = UserFactory(username="dana")
    MembershipFactory(user=user, office=remote_office, role=StaffRole.FRONT_DESK)
    return user


def _here(client, visit, code):
    return client.post(reverse("status:here", args=[visit.status_token]), {"code": code})


def test_the_lobby_display_shows_the_code_and_i_m_here_takes_it(client, remote_office, on_the_way):
    _link, token = KioskLink.issue(office=remote_office, label="TV", capability="display")
    client.cookies[DISPLAY_COOKIE] = token
    board = client.get(reverse("display:board", args=[remote_office.slug]))
    code = remote.lobby_code(remote_office)
    assert f'id="lobby-code">{code}<' in board.text
    done = _here(client, on_the_way, code)
    assert done.status_code == 302
    on_the_way.refresh_from_db()
    assert not on_the_way.on_the_way and on_the_way.arrived_by == "lobby_code"
    assert on_the_way.arrived_at is not None
    page = client.get(reverse("status:page", args=[on_the_way.status_token]))
    assert "You are on your way" not in page.text and 'id="here-form"' not in page.text


def test_a_wrong_lobby_code_is_refused_with_a_clear_message(client, remote_office, on_the_way):
    right = remote.lobby_code(remote_office)
    wrong = f"{(int(right) + 1) % 10000:04d}"
    if remote.lobby_code_ok(remote_office, wrong):  # the previous window's code, by chance
        wrong = f"{(int(right) + 2) % 10000:04d}"
    for bad in (wrong, "", "12", "abcd", "<script>"):
        refused = _here(client, on_the_way, bad)
        assert refused.status_code == 422
        assert "not the code on the lobby screen" in refused.text
    on_the_way.refresh_from_db()
    assert on_the_way.on_the_way


def test_the_code_from_the_window_before_still_works_and_older_ones_do_not(remote_office):
    now = timezone.now()
    assert remote.lobby_code_ok(remote_office, remote.lobby_code(remote_office, at=now), at=now)
    earlier = now - remote.LOBBY_WINDOW
    assert remote.lobby_code_ok(remote_office, remote.lobby_code(remote_office, at=earlier), at=now)
    old = remote.lobby_code(remote_office, at=now - 3 * remote.LOBBY_WINDOW)
    current = {remote.lobby_code(remote_office, at=now, windows_back=b) for b in (0, 1)}
    if old not in current:
        assert not remote.lobby_code_ok(remote_office, old, at=now)


def test_another_office_s_lobby_code_does_not_work_here(remote_office):
    other = OfficeFactory(slug="hillside", remote_join=True)
    mine = {remote.lobby_code(remote_office, windows_back=b) for b in (0, 1)}
    theirs = remote.lobby_code(other)
    assert remote.lobby_code_ok(remote_office, theirs) == (theirs in mine)


def test_the_kiosk_marks_someone_who_joined_from_their_phone_as_here(
    client, remote_office, on_the_way
):
    _link, token = KioskLink.issue(office=remote_office, label="Lobby")
    client.cookies[KIOSK_COOKIE] = token
    tablet = Tablet(client, remote_office)
    home = tablet.home()
    assert "I joined from my phone" in home.text
    shown = tablet.post("arrived", show="1")
    assert "Your ticket number" in shown.text
    refused = tablet.post("arrived", ticket=on_the_way.ticket_code, phone_last4="1234")
    assert refused.status_code == 422 and "could not find that ticket" in refused.text
    done = tablet.post("arrived", ticket=on_the_way.ticket_code.lower(), phone_last4="0199")
    assert done.status_code == 200 and "Thank you, you are here" in done.text
    assert "Díaz" not in done.text  # the ticket only, no name on the lobby tablet
    on_the_way.refresh_from_db()
    assert not on_the_way.on_the_way and on_the_way.arrived_by == "kiosk"


def test_the_kiosk_finds_a_ticket_typed_as_a_bare_number(remote_office, on_the_way):
    number = str(on_the_way.ticket_number)
    assert remote.kiosk_find(remote_office, ticket=number, phone_last4="0199") == on_the_way


def test_the_kiosk_does_not_find_another_office_s_ticket(client, remote_office, on_the_way):
    other = OfficeFactory(slug="hillside", remote_join=True, ticket_prefix="A")
    assert remote.kiosk_find(other, ticket=on_the_way.ticket_code, phone_last4="0199") is None


def test_staff_mark_someone_arrived_from_the_console(client, remote_office, on_the_way, desk_user):
    client.force_login(desk_user)
    console = client.get(reverse("desk:console", args=[remote_office.slug]))
    assert "On the way (1)" in console.text and f'id="arrived-{on_the_way.pk}"' in console.text
    client.post(reverse("desk:visit_action", args=[remote_office.slug, on_the_way.pk, "arrived"]))
    on_the_way.refresh_from_db()
    assert not on_the_way.on_the_way and on_the_way.arrived_by == "staff"
    console = client.get(reverse("desk:console", args=[remote_office.slug]))
    assert "On the way (" not in console.text and "Joined from a phone" in console.text


def test_another_office_s_staff_cannot_mark_them_arrived(client, remote_office, on_the_way):
    other = OfficeFactory(slug="hillside")
    outsider = UserFactory(username="olga")
    MembershipFactory(user=outsider, office=other, role=StaffRole.FRONT_DESK)
    client.force_login(outsider)
    for slug in ("hillside", "riverside"):
        response = client.post(reverse("desk:visit_action", args=[slug, on_the_way.pk, "arrived"]))
        assert response.status_code in (403, 404)
    on_the_way.refresh_from_db()
    assert on_the_way.on_the_way


def test_call_next_passes_over_people_on_the_way(remote_office, on_the_way, desk_user):
    later = VisitFactory(
        office=remote_office, ticket_number=50,
        checked_in_at=timezone.now() + dt.timedelta(seconds=5),
    )  # fmt: skip
    called = services.queue_call_next(office=remote_office, staff=desk_user)
    assert called == later
    assert services.queue_call_next(office=remote_office, staff=desk_user) is None
    on_the_way.refresh_from_db()
    assert on_the_way.status == Status.WAITING


def test_an_office_may_let_call_next_take_people_on_the_way(remote_office, on_the_way, desk_user):
    remote_office.remote_call_on_the_way = True
    remote_office.save()
    assert services.queue_call_next(office=remote_office, staff=desk_user) == on_the_way


def test_called_and_not_here_within_the_grace_time_the_place_is_released(
    client, remote_office, on_the_way, desk_user
):
    services.visit_call(visit=on_the_way, staff=desk_user)
    page = client.get(reverse("status:page", args=[on_the_way.status_token]))
    assert "You are being called! Come to the front desk now" in page.text
    assert remote.release_overdue(now=timezone.now() + dt.timedelta(minutes=9)) == 0
    assert remote.release_overdue(now=timezone.now() + dt.timedelta(minutes=11)) == 1
    on_the_way.refresh_from_db()
    assert on_the_way.status == Status.NO_SHOW and on_the_way.released_at is not None
    text = Reminder.objects.get(visit=on_the_way, kind=ReminderKind.PLACE_RELEASED)
    assert text.context["join_url"].endswith(reverse("public:office", args=["riverside"]))
    page = client.get(reverse("status:page", args=[on_the_way.status_token]))
    assert "Your place was released." in page.text and "Join the line again" in page.text
    assert remote.release_overdue(now=timezone.now() + dt.timedelta(minutes=30)) == 0


def test_arriving_after_the_call_keeps_the_place(client, remote_office, on_the_way, desk_user):
    services.visit_call(visit=on_the_way, staff=desk_user)
    assert _here(client, on_the_way, remote.lobby_code(remote_office)).status_code == 302
    assert remote.release_overdue(now=timezone.now() + dt.timedelta(minutes=30)) == 0
    on_the_way.refresh_from_db()
    assert on_the_way.status == Status.CALLED and on_the_way.released_at is None


def test_time_to_head_in_is_texted_once_when_the_line_reaches_their_travel_time(
    client, remote_office, memory_sms, desk_user
):
    for n in range(8):
        VisitFactory(office=remote_office, checked_in_at=timezone.now() - dt.timedelta(minutes=n))
    join(client, remote_office, memory_sms, **{"j-travel_minutes": "20"})
    visit = Visit.objects.get(source=Source.REMOTE)
    assert visit.head_in_at is None  # eight ahead at 12 minutes each: far more than 20
    told = []
    for _ in range(8):
        services.queue_call_next(office=remote_office, staff=desk_user)
        visit.refresh_from_db()
        told.append(visit.head_in_at is not None)
    assert told[-1] and not told[0]
    assert Reminder.objects.filter(visit=visit, kind=ReminderKind.HEAD_IN).count() == 1
    page = client.get(reverse("status:page", args=[visit.status_token]))
    assert "It is time to head in." in page.text


def test_the_dashboard_counts_remote_joins_arrivals_and_released_places(
    client, remote_office, memory_sms, desk_user
):
    join(client, remote_office, memory_sms)
    first = Visit.objects.get()
    remote.visit_arrive(visit=first, how=remote.ArrivedBy.STAFF, by=desk_user)
    VisitorFactory(first_name="Bo", last_name="Ng", phone="(312) 555-0142")
    join(client, remote_office, memory_sms, **{"j-first_name": "Bo", "j-last_name": "Ng",
                                                "j-phone": "(312) 555-0142"})  # fmt: skip
    second = Visit.objects.exclude(pk=first.pk).get()
    services.visit_call(visit=second, staff=desk_user)
    remote.release_overdue(now=timezone.now() + dt.timedelta(minutes=30))
    figures = dashboard.day_figures([remote_office], remote_office.local_date(), now=timezone.now())
    assert figures.headline["remote_joins"] == 2
    assert figures.headline["remote_arrived"] == 1
    assert figures.headline["remote_released"] == 1


def test_the_release_round_runs_from_the_celery_task(remote_office, on_the_way, desk_user):
    from visitors.tasks import release_overdue_places

    services.visit_call(visit=on_the_way, staff=desk_user)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=15)):
        assert release_overdue_places() == 1
