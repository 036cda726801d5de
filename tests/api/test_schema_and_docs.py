"""The OpenAPI schema documents every answer; the interactive docs load nothing from a CDN and
run under the site's Content-Security-Policy."""

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_every_operation_documents_its_errors_and_needs_a_token(schema):
    operations = [(path, method, op) for path, methods in schema["paths"].items()
                  for method, op in methods.items()]  # fmt: skip
    assert len(operations) >= 25
    for path, method, op in operations:
        assert {"400", "401", "403", "404", "422", "429"} <= set(op["responses"]), (path, method)
        assert op["security"] == [{"TokenAuth": []}], (path, method)
        assert op["summary"] and op["description"], (path, method)
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


def test_the_issue_s_endpoints_are_all_there(schema):
    paths = set(schema["paths"])
    for needed in ["/check-ins", "/queue", "/queue/call-next", "/visits/{visit_id}",
                   "/visits/{visit_id}/stages/greeting", "/visits/{visit_id}/actions/{action}",
                   "/visitors", "/visitors/match", "/visitors/merge", "/open-requests",
                   "/appointments", "/reminders", "/dashboard/day",
                   "/dashboard/range"]:  # fmt: skip
        assert f"/api/v1/offices/{{office}}{needed}" in paths, needed


def test_the_docs_are_served_from_here_with_the_csp_nonce(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    scripts = re.findall(r"<script[^>]*src=\"([^\"]+)\"[^>]*>", html)
    assert scripts == ["/static/ninja/swagger-ui-bundle.js", "/static/ninja/swagger-ui-init.js"]
    assert html.count(f'nonce="{nonce}"') == 2
    assert "cdn" not in html.lower() and "https://" not in html
    for path in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js", "ninja/swagger-ui.css"):
        assert finders.find(path), path
