"""Frontdesk's JSON API, version 1, at /api/v1/ (django-ninja; OpenAPI 3 at /api/v1/openapi.json,
interactive docs at /api/v1/docs). See docs/api.md."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Router
from ninja.openapi.docs import Swagger

from visitors.api import errors, people, reports, visits
from visitors.api.auth import TokenAuth, TokenThrottle
from visitors.api.errors import body, responses
from visitors.api.schemas import TokenOut
from visitors.offices.models import Office, StaffMembership

DESCRIPTION = """\
Frontdesk's API for case-management and reporting systems.

**Auth**: `Authorization: Bearer <token>`. An office admin makes a token at
`/desk/<office>/integrations/`, for some of their offices, read-only (GET) or read-and-write.
A token acts for the person who made it, and never beyond what their memberships allow today.

**Errors** always look like `{"error": {"code": "…", "message": "…", "fields": {…}}}`;
`fields` names each invalid field. **Lists** are paged with `limit` and `offset` and answer
`count`, `next` and `previous`. Webhooks and their signatures are described in docs/api.md.
"""


class Docs(Swagger):
    """Swagger UI from ninja's bundled static files, with the site's CSP nonce."""

    template = "integrations/api_docs.html"


api = NinjaAPI(
    title="Frontdesk API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=TokenAuth(),
    throttle=[TokenThrottle()],
    docs=Docs(settings={"validatorUrl": None, "persistAuthorization": False}),
)
errors.install(api)

offices = Router(tags=["Offices"])


@offices.get(
    "/token",
    response=responses({200: TokenOut}),
    summary="This token and its offices",
    description="The offices this token may reach now, with its maker's role at each; an office "
    "where the maker no longer works is left out.",
)
def token(request):
    token = request.auth
    memberships = {
        m.office_id: m.role
        for m in StaffMembership.objects.filter(user=token.created_by, is_active=True)
    }
    reachable = Office.objects.filter(api_tokens=token, pk__in=memberships).order_by("name")
    return {
        "name": token.name,
        "prefix": token.prefix,
        "scope": token.scope,
        "offices": [
            {
                "slug": o.slug,
                "name": o.name,
                "time_zone": o.time_zone,
                "role": memberships[o.pk],
                "today": o.local_date(),
            }
            for o in reachable
        ],  # fmt: skip
    }


api.add_router("", offices)
api.add_router("", visits.router)
api.add_router("", people.router)
api.add_router("", people.lists)
api.add_router("", reports.router)


@csrf_exempt  # token-authenticated like the API: no session, so no CSRF to check
def not_found(request, rest: str = "") -> JsonResponse:
    """Any other path under /api/v1/: the API's 404, not the site's HTML page."""
    return JsonResponse(body(404, "No such endpoint; see /api/v1/docs."), status=404)
