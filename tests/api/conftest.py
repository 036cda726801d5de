"""Personas for the API: integration tokens made by an office admin.

- ``admin``: office admin at Riverside; makes the tokens.
- ``write_token`` / ``read_token``: Riverside, read-and-write / read-only, made by ``admin``.
- ``other_token``: a Hillside admin's token — nothing of Riverside's.
"""

import json

import pytest

from tests.conftest import _member
from visitors.integrations.models import ApiToken
from visitors.offices.models import StaffRole

API = "/api/v1"


@pytest.fixture
def admin(office):
    return _member(office, "office_admin", StaffRole.ADMIN)


def _issue(user, offices, scope, name="Case manager"):
    return ApiToken.issue(name=name, offices=offices, scope=scope, created_by=user)


@pytest.fixture
def write_token(admin, office):
    return _issue(admin, [office], "write")[1]


@pytest.fixture
def read_token(admin, office):
    return _issue(admin, [office], "read", name="Reports")[1]


@pytest.fixture
def other_token(other_office):
    other_admin = _member(other_office, "hillside_admin", StaffRole.ADMIN)
    return _issue(other_admin, [other_office], "write")[1]


class Api:
    """Calls /api/v1 with a token, as an integration would."""

    def __init__(self, client):
        self.client = client

    def __call__(self, method: str, path: str, token: str | None = None, data=None, **extra):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        kwargs = {}
        if data is None and method.lower() in ("post", "patch", "put"):
            kwargs = {"data": b"", "content_type": "application/json"}  # no body at all
        elif data is not None:
            kwargs = {"data": data if isinstance(data, (str, bytes)) else json.dumps(data),
                      "content_type": "application/json"}  # fmt: skip
        url = path if path.startswith("http") or path.startswith(API) else f"{API}{path}"
        return getattr(self.client, method.lower())(url, **kwargs, **headers, **extra)


@pytest.fixture
def api(client):
    return Api(client)
