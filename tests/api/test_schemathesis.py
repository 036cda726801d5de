"""Schemathesis over the whole schema, in-process (WSGI): generated requests with a valid write
token for Riverside never get a 5xx or an answer the schema does not describe. CI also runs it
against a live server (.ci/run)."""

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from frontdesk.wsgi import application
from tests.factories import ReasonFactory, VisitFactory

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def in_test_transaction():
    """Keep the test's connection open across requests, as Django's test client does (a WSGI
    request otherwise closes it when it finishes, in the middle of the test's transaction)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def riverside_data(office, in_test_transaction):
    ReasonFactory(office=office)
    VisitFactory(office=office)


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(
    max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
def test_every_operation_answers_as_documented(case, write_token, riverside_data):
    if case.path_parameters and "office" in case.path_parameters:
        case.path_parameters["office"] = "riverside"
    case.call_and_validate(headers={"Authorization": f"Bearer {write_token}"}, checks=CHECKS)
