"""Every URL × every role → allowed or denied, as the table below says.

Columns: who asks. ``anon`` nobody signed in; ``kiosk`` / ``display`` a paired lobby device of
Riverside (a device, not a person: no staff page opens for it); ``desk``, ``counsellor``,
``manager``, ``admin`` staff of Riverside in that role; ``other-desk`` and ``other-admin`` the
same roles at Hillside, guessing Riverside's URLs.

Cells: ``ok`` the page or action works (2xx, or a redirect that is not to sign-in);
``login`` sent to sign in; ``no`` refused (403 or 404 — neither says whether the thing exists).
"""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    MembershipFactory,
    ReasonFactory,
    UserFactory,
    VisitFactory,
    VisitorFactory,
)
from visitors.integrations.models import ApiToken, WebhookSubscription
from visitors.messaging.models import Conversation, ConversationMessage, OfficeMessage, Reminder
from visitors.offices.models import KioskLink, StaffRole
from visitors.people.models import Visitor, VisitorMerge
from visitors.views.display import DISPLAY_COOKIE
from visitors.views.kiosk import KIOSK_COOKIE
from visitors.visits.models import Visit

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
desk:visitor_visit     GET     login    login    login    ok    ok    ok    ok    no    no
desk:visit             GET     login    login    login    ok    ok    ok    ok    no    no
desk:follow_ups        GET     login    login    login    ok    ok    ok    ok    no    no
desk:reminders         GET     login    login    login    ok    ok    ok    ok    no    no
desk:reminder_action   POST    login    login    login    ok    ok    ok    ok    no    no
desk:inbox             GET     login    login    login    ok    ok    ok    ok    no    no
desk:inbox_thread      GET     login    login    login    ok    ok    ok    ok    no    no
desk:inbox_reply       POST    login    login    login    ok    ok    ok    ok    no    no
desk:inbox_answered    POST    login    login    login    ok    ok    ok    ok    no    no
desk:inbox_attach      POST    login    login    login    no    no    no    ok    no    no
desk:check_in          GET     login    login    login    ok    ok    ok    ok    no    no
desk:call_next         POST    login    login    login    ok    ok    ok    ok    no    no
desk:message_take_down POST    login    login    login    ok    ok    ok    ok    no    no
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
public:office          GET     ok       ok       ok       ok    ok    ok    ok    ok    ok
public:poster          GET     ok       ok       ok       ok    ok    ok    ok    ok    ok
public:join            GET     ok       ok       ok       ok    ok    ok    ok    ok    ok
booking:book           GET     ok       ok       ok       ok    ok    ok    ok    ok    ok
booking:desk_book      GET     login    login    login    ok    ok    ok    ok    no    no
public:join            POST    bad      bad      bad      bad   bad   bad   bad   bad   bad
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
    # The public page offers joining from a phone (anonymous by design).
    office.remote_join = office.remote_booking = True
    office.save()
    office.reasons.create(label_en="Looking for work")
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
    message = OfficeMessage.objects.create(
        office=office, text_en="Running late", expires_at=timezone.now() + dt.timedelta(hours=1)
    )
    # A visitor's thread of texts, and a stray one from a number nobody has on file.
    texter = VisitorFactory(first_name="Lupe", phone="(555) 301-7777", consent_sms=True)
    VisitFactory(office=office, visitor=texter)
    thread = Conversation.objects.create(
        office=office, visitor=texter, phone="+15553017777", number="5553017777",
        key=f"{office.pk}:v{texter.pk}", awaiting_reply_since=timezone.now(),
        last_inbound_at=timezone.now(),
    )  # fmt: skip
    stray = Conversation.objects.create(
        office=office, phone="+15559998888", number="5559998888", key=f"{office.pk}:n5559998888"
    )
    for conversation in (thread, stray):
        ConversationMessage.objects.create(conversation=conversation, direction="in", body="Hi?")
    return {"users": users, "visit": visit, "visitor": visitor, "reminder": reminder,
            "message": message, "thread": thread, "stray": stray,
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
        "desk:visitor_visit": [office.slug, visitor.pk, visit.pk],
        "desk:visitor_export": [office.slug, visitor.pk],
        "desk:visitor_erase": [office.slug, visitor.pk],
        "desk:visit": [office.slug, visit.pk],
        "desk:reminder_action": [office.slug, world["reminder"].pk, "retry"],
        "desk:device_revoke": [office.slug, world["kiosk_link"].pk],
        "desk:token_revoke": [office.slug, world["api_token"].pk],
        "desk:webhook_log": [office.slug, world["webhook"].pk],
        "desk:webhook_delete": [office.slug, world["webhook"].pk],
        "desk:message_take_down": [office.slug, world["message"].pk],
        "desk:inbox_thread": [office.slug, world["thread"].pk],
        "desk:inbox_reply": [office.slug, world["thread"].pk],
        "desk:inbox_answered": [office.slug, world["thread"].pk],
        "desk:inbox_attach": [office.slug, world["stray"].pk],
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
    data = {  # what the form needs, so that a role that may act gets through
        "desk:inbox_reply": {"body": "We'll call you at 3.", "token": "f" * 32},
        "desk:inbox_attach": {"visitor": world["visitor"].pk},
        # The last step of joining, filled in right but with no proved number: refused for all,
        # signed in or not.
        "public:join": {
            "step": "verify",
            "j-first_name": "Eve",
            "j-last_name": "Smith",
            "j-reasons": [office.reasons.get().pk],
            "j-travel_minutes": "20",
            "j-phone": "(312) 555-0100",
            "j-consent": "on",
            "proof": "",
            "code": "123456",
        },
    }.get(name, {})
    response = client.post(url, data) if method == "POST" else client.get(url)
    code = response.status_code
    to_login = code == 302 and response["Location"].startswith(
        (reverse("login"), reverse("admin:login"))
    )
    got = "login" if to_login else "no" if code in (403, 404) else "ok" if code < 400 else code
    if code == 422:
        got = "bad"  # refused as bad input (422): nothing made
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


# --- Riverside's records, asked for through Hillside's own URLs ---------------------------------
#
# Hillside's staff and Hillside's token use their own slug (which they may use) with the ids of
# Riverside's visitors and visits: every such URL is refused as if the id did not exist, and
# nothing changes. Visitor records are shared, but a person is seen only at an office where they
# have a visit, an appointment, a follow-up or an open request.

HILLSIDE_WEB = [
    ("desk:visitor", "GET", "other-desk"),
    ("desk:visitor_visit", "GET", "other-desk"),
    ("desk:check_in", "GET", "other-desk"),
    ("desk:check_in", "POST", "other-desk"),
    ("desk:merge", "GET", "other-desk"),
    ("desk:merge", "POST", "other-desk"),
    ("desk:visit", "GET", "other-desk"),
    ("desk:visitor_export", "GET", "other-admin"),
    ("desk:visitor_erase", "POST", "other-admin"),
    ("desk:inbox_thread", "GET", "other-desk"),
    ("desk:inbox_thread", "GET", "other-admin"),
    ("desk:inbox_reply", "POST", "other-desk"),
    ("desk:inbox_answered", "POST", "other-desk"),
    ("desk:inbox_attach", "POST", "other-admin"),
]


@pytest.fixture
def riverside_only(world, office):
    """A second Riverside-only visitor (a duplicate of the first) and a snapshot to compare."""
    twin = VisitorFactory(
        first_name="Rosa", last_name="Okafor", phone="(555) 909-1234", email="rosa@example.org"
    )
    VisitFactory(office=office, visitor=twin, status="left")
    world["visitor"].last_name = "Okafor"
    world["visitor"].email = "first@example.org"
    world["visitor"].save()
    return twin


def _snapshot():
    return (
        sorted(Visitor.objects.values_list("pk", "merged_into", "phone", "email", "anonymised_at")),
        sorted(Visit.objects.values_list("pk", "visitor", "office", "status")),
        VisitorMerge.objects.count(),
        sorted(Conversation.objects.values_list("pk", "office", "visitor", "awaiting_reply_since")),
        ConversationMessage.objects.count(),
    )


def _hillside_web_request(client, name, method, world, other_office, twin):
    visitor, visit = world["visitor"], world["visit"]
    slug = other_office.slug
    reason = ReasonFactory(office=other_office)
    pair = {"keep": visitor.pk, "merge": twin.pk}
    check_in = {"visitor": visitor.pk, "reasons": [reason.pk], "token": "x"}
    args, data = {
        "desk:visitor": ([slug, visitor.pk], {}),
        "desk:visitor_visit": ([slug, visitor.pk, visit.pk], {}),
        "desk:check_in": ([slug], check_in if method == "POST" else {"visitor": visitor.pk}),
        "desk:merge": ([slug], pair),
        "desk:visit": ([slug, visit.pk], {}),
        "desk:visitor_export": ([slug, visitor.pk], {}),
        "desk:visitor_erase": ([slug, visitor.pk], {"confirm": "erase"}),
        "desk:inbox_thread": ([slug, world["thread"].pk], {}),
        "desk:inbox_reply": ([slug, world["thread"].pk], {"body": "Hi", "token": "f" * 32}),
        "desk:inbox_answered": ([slug, world["thread"].pk], {}),
        "desk:inbox_attach": ([slug, world["stray"].pk], {"visitor": visitor.pk}),
    }[name]
    url = reverse(name, args=args)
    return client.post(url, data) if method == "POST" else client.get(url, data)


@pytest.mark.parametrize(
    ("name", "method", "role"), HILLSIDE_WEB, ids=[f"{n}-{m}" for n, m, _r in HILLSIDE_WEB]
)
def test_it_refuses_riverside_s_ids_under_hillside_s_own_slug(
    client, world, other_office, riverside_only, name, method, role
):
    """Another office's visitor or visit through your own office's URL: 404, nothing changed."""
    client.force_login(world["users"][role])
    before = _snapshot()
    response = _hillside_web_request(client, name, method, world, other_office, riverside_only)
    assert response.status_code == 404, (name, method, response.status_code)
    assert _snapshot() == before


def test_it_lists_no_riverside_only_visitor_in_hillside_s_search(
    client, world, other_office, riverside_only
):
    """Hillside's lookup finds neither by name nor by phone someone who never came there."""
    client.force_login(world["users"]["other-desk"])
    url = reverse("desk:visitors", args=[other_office.slug])
    for query in ("Okafor", "Rosa Okafor", "1234", "5559091234"):
        response = client.get(url, {"q": query}, headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert "Nobody found" in response.text, query
        assert "Okafor" not in response.text and "…1234" not in response.text, query


def test_it_sees_at_hillside_only_what_hillside_may_see_with_both_memberships(
    client, world, office, other_office, riverside_only
):
    """Someone on staff at both offices, using Hillside's slug, sees what Hillside sees."""
    both = world["users"]["desk"]
    MembershipFactory(user=both, office=other_office, role=StaffRole.FRONT_DESK)
    client.force_login(both)
    riverside = reverse("desk:visitor", args=[office.slug, riverside_only.pk])
    hillside = reverse("desk:visitor", args=[other_office.slug, riverside_only.pk])
    assert (client.get(riverside).status_code, client.get(hillside).status_code) == (200, 404)


HILLSIDE_API = [
    ("get", "/visitors/{visitor}", None),
    ("post", "/check-ins", {"visitor_id": "{visitor}", "reason_other": "Claim"}),
    ("post", "/visitors/merge", {"keep_id": "{visitor}", "merge_id": "{twin}"}),
    ("get", "/visits/{visit}", None),
    ("post", "/visits/{visit}/actions/call", None),
    ("post", "/visits/{visit}/stages/greeting", None),
]


def _fill(value, ids):
    if isinstance(value, str):
        return int(value.format(**ids)) if value.startswith("{") else value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.fixture
def hillside_token(world, other_office):
    maker = world["users"]["other-admin"]
    return ApiToken.issue(
        name="Hillside CRM", offices=[other_office], scope="write", created_by=maker
    )[1]


@pytest.mark.parametrize(
    ("method", "path", "data"), HILLSIDE_API, ids=[f"{m}-{p}" for m, p, _d in HILLSIDE_API]
)
def test_it_refuses_riverside_s_ids_to_hillside_s_token(
    client, world, other_office, riverside_only, hillside_token, method, path, data
):
    """Hillside's token on Hillside's URLs with Riverside's ids: refused as unknown ids."""
    ids = {"visitor": world["visitor"].pk, "twin": riverside_only.pk, "visit": world["visit"].pk}
    url = f"/api/v1/offices/{other_office.slug}" + path.format(**ids)
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {hillside_token}"}
    if method == "post":
        kwargs |= {"data": json.dumps(_fill(data, ids) or {}), "content_type": "application/json"}
    before = _snapshot()
    response = getattr(client, method)(url, **kwargs)
    # An id Hillside may not see answers exactly as an id that does not exist: 404 for a path,
    # 422 naming the field for a body (so that neither tells whether the record exists).
    expected = 404 if data is None else 422
    assert response.status_code == expected, response.content
    assert _snapshot() == before
    assert "(555)" not in response.text and "@example.org" not in response.text


def test_it_finds_no_riverside_only_visitor_with_hillside_s_token(
    client, world, other_office, riverside_only, hillside_token
):
    """The API's lookup at Hillside lists nobody who never came to Hillside."""
    auth = {"HTTP_AUTHORIZATION": f"Bearer {hillside_token}"}
    for query in ("Okafor", "Rosa Okafor", "1234"):
        response = client.get(f"/api/v1/offices/{other_office.slug}/visitors", {"q": query}, **auth)
        assert (response.status_code, response.json()["count"]) == (200, 0), query


def test_it_confirms_a_name_match_at_hillside_without_contact_data(
    client, other_office, riverside_only, hillside_token
):
    """Being checked in at Hillside: the kiosk-style match confirms the name, not the phone."""
    response = client.post(
        f"/api/v1/offices/{other_office.slug}/visitors/match",
        {"first_name": "Rosa", "last_name": "Okafor", "phone_last4": "1234"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {hillside_token}",
    )
    body = response.json()
    assert (body["result"], body["visitor"]["id"]) == ("confirmed", riverside_only.pk)
    assert (body["visitor"]["phone"], body["visitor"]["email"]) == ("", "")
