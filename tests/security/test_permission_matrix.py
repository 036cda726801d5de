"""Every URL × every role → allowed or denied, as the table below says.

Columns: who asks. ``anon`` nobody signed in; ``kiosk`` / ``display`` a paired lobby device of
Riverside (a device, not a person: no staff page opens for it); ``desk``, ``counsellor``,
``manager``, ``admin`` staff of Riverside in that role; ``other-desk`` and ``other-admin`` the
same roles at Hillside, guessing Riverside's URLs.

Cells: ``ok`` the page or action works (2xx, or a redirect that is not to sign-in);
``login`` sent to sign in; ``no`` refused (403 or 404 — neither says whether the thing exists).
"""

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory, VisitFactory, VisitorFactory
from visitors.models import ApiToken, KioskLink, Reminder, StaffRole, WebhookSubscription
from visitors.views.display import DISPLAY_COOKIE
from visitors.views.kiosk import KIOSK_COOKIE

pytestmark = pytest.mark.django_db

ROLES = ["anon", "kiosk", "display", "desk", "counsellor", "manager", "admin", "other-desk",
         "other-admin"]  # fmt: skip

# URL name           method anon   kiosk  display desk couns. mgr admin other-desk other-admin
TABLE = """
desk:home              GET     login    login    login    ok    ok    ok    ok    ok    ok
desk:console           GET     login    login    login    ok    ok    ok    ok    no    no
desk:queue             GET     login    login    login    ok    ok    ok    ok    no    no
desk:visitors          GET     login    login    login    ok    ok    ok    ok    no    no
desk:visitor           GET     login    login    login    ok    ok    ok    ok    no    no
desk:visit             GET     login    login    login    ok    ok    ok    ok    no    no
desk:follow_ups        GET     login    login    login    ok    ok    ok    ok    no    no
desk:reminders         GET     login    login    login    ok    ok    ok    ok    no    no
desk:reminder_action   POST    login    login    login    ok    ok    ok    ok    no    no
desk:check_in          GET     login    login    login    ok    ok    ok    ok    no    no
desk:call_next         POST    login    login    login    ok    ok    ok    ok    no    no
desk:visitor_export    GET     login    login    login    no    no    no    ok    no    no
desk:visitor_erase     GET     login    login    login    no    no    no    ok    no    no
desk:devices           GET     login    login    login    no    no    no    ok    no    no
desk:device_revoke     POST    login    login    login    no    no    no    ok    no    no
desk:integrations      GET     login    login    login    no    no    no    ok    no    no
desk:token_revoke      POST    login    login    login    no    no    no    ok    no    no
desk:webhook_log       GET     login    login    login    no    no    no    ok    no    no
desk:webhook_delete    POST    login    login    login    no    no    no    ok    no    no
dashboard:day          GET     login    login    login    no    no    ok    ok    no    no
dashboard:range        GET     login    login    login    no    no    ok    ok    no    no
dashboard:export       GET     login    login    login    no    no    ok    ok    no    no
kiosk:home             GET     no       ok       no       no    no    no    no    no    no
display:board          GET     no       no       ok       no    no    no    no    no    no
status:page            GET     ok       ok       ok       ok    ok    ok    ok    ok    ok
admin:index            GET     login    login    login    login login login login login login
"""


def _rows():
    for line in TABLE.strip().splitlines():
        name, method, *cells = line.split()
        assert len(cells) == len(ROLES), name
        for role, expected in zip(ROLES, cells, strict=True):
            yield pytest.param(name, method, role, expected, id=f"{name}-{role}")


@pytest.fixture
def world(office, other_office):
    users = {}
    for role, office_, key in [
        (StaffRole.FRONT_DESK, office, "desk"), (StaffRole.COUNSELLOR, office, "counsellor"),
        (StaffRole.MANAGER, office, "manager"), (StaffRole.ADMIN, office, "admin"),
        (StaffRole.FRONT_DESK, other_office, "other-desk"),
        (StaffRole.ADMIN, other_office, "other-admin"),
    ]:  # fmt: skip
        users[key] = UserFactory(username=key.replace("-", "_"))
        MembershipFactory(user=users[key], office=office_, role=role)
    visitor = VisitorFactory()
    visit = VisitFactory(office=office, visitor=visitor)
    reminder = Reminder.objects.create(
        office=office, visitor=visitor, kind="appointment", channel="sms", state="failed",
        due_at=visit.checked_in_at, idempotency_key="matrix",
    )  # fmt: skip
    kiosk_link, kiosk_token = KioskLink.issue(office=office, label="Lobby")
    _, display_token = KioskLink.issue(office=office, label="Screen", capability="display")
    api_token, _ = ApiToken.issue(
        name="Case manager", offices=[office], scope="read", created_by=users["admin"]
    )
    webhook = WebhookSubscription.objects.create(
        office=office, url="https://example.org/hook", events=["visit.called"]
    )
    return {"users": users, "visit": visit, "visitor": visitor, "reminder": reminder,
            "kiosk": kiosk_token, "display": display_token, "kiosk_link": kiosk_link,
            "api_token": api_token, "webhook": webhook}  # fmt: skip


def _url(name, office, world):
    visit, visitor = world["visit"], world["visitor"]
    args = {
        "desk:home": [],
        "dashboard:day": [],
        "dashboard:range": [],
        "dashboard:export": [],
        "admin:index": [],
        "desk:visitor": [office.slug, visitor.pk],
        "desk:visitor_export": [office.slug, visitor.pk],
        "desk:visitor_erase": [office.slug, visitor.pk],
        "desk:visit": [office.slug, visit.pk],
        "desk:reminder_action": [office.slug, world["reminder"].pk, "retry"],
        "desk:device_revoke": [office.slug, world["kiosk_link"].pk],
        "desk:token_revoke": [office.slug, world["api_token"].pk],
        "desk:webhook_log": [office.slug, world["webhook"].pk],
        "desk:webhook_delete": [office.slug, world["webhook"].pk],
        "status:page": [visit.status_token],
    }.get(name, [office.slug])
    url = reverse(name, args=args)
    if name.startswith("dashboard:"):
        url += f"?office={office.slug}"
    return url


@pytest.mark.parametrize(("name", "method", "role", "expected"), list(_rows()))
def test_who_may_reach_what(client, office, world, name, method, role, expected):
    if role == "kiosk":
        client.cookies[KIOSK_COOKIE] = world["kiosk"]
    elif role == "display":
        client.cookies[DISPLAY_COOKIE] = world["display"]
    elif role != "anon":
        client.force_login(world["users"][role])
    url = _url(name, office, world)
    response = client.post(url) if method == "POST" else client.get(url)
    code = response.status_code
    to_login = code == 302 and response["Location"].startswith(
        (reverse("login"), reverse("admin:login"))
    )
    got = "login" if to_login else "no" if code in (403, 404) else "ok" if code < 400 else code
    assert got == expected, f"{role} {method} {url}: {code} {response.get('Location', '')}"


def test_the_table_covers_every_staff_and_device_url():
    """A new staff or device URL must be added to the table above.

    The JSON API (/api/v1/) is not here: it takes integration tokens, not sessions or device
    cookies, and tests/api/test_auth.py holds its own table of token × office × role × scope.
    """
    from visitors.urls import dashboard_patterns, desk_patterns, display_patterns, kiosk_patterns

    listed = {line.split()[0] for line in TABLE.strip().splitlines()}
    steps_with_their_own_tests = {
        "desk:broadcast", "desk:reason_close", "desk:request_resolve", "desk:visit_transfer",
        "desk:visit_stage", "desk:visit_finish", "desk:visit_referrals", "desk:visit_action",
        "desk:merge", "desk:follow_up", "desk:follow_up_contact", "desk:follow_up_close",
        "dashboard:report", "kiosk:step", "kiosk:open", "display:open",
    }  # fmt: skip
    for patterns in (desk_patterns, dashboard_patterns, kiosk_patterns, display_patterns):
        urls, namespace = patterns
        for pattern in urls:
            name = f"{namespace}:{pattern.name}"
            assert name in listed or name in steps_with_their_own_tests, name
