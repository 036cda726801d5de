"""A visitor record made at an office before any visit (an integration's POST, an import with
--office) is that office's alone.

Found by an outside probe: such a record belonged to no office, so another office's token could
check it in by id — and then read its phone, email and birth date, or overwrite its phone. Ids
are sequential, so guessing them was cheap.
"""

from io import StringIO

import pytest
from django.core.management import call_command

from tests.api.conftest import Api
from tests.factories import ReasonFactory, VisitorFactory
from visitors.people.models import Visitor
from visitors.visits.models import Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    return Api(client)


def _check_in(api, token, office, visitor_id, **extra):
    reason = ReasonFactory(office=office)
    return api("post", f"/offices/{office.slug}/check-ins", token,
               {"visitor_id": visitor_id, "reason_ids": [reason.pk], **extra})  # fmt: skip


def test_a_visitor_made_by_one_office_s_integration_is_not_another_s(
    api, write_token, other_token, office, other_office
):
    made = api("post", "/offices/hillside/visitors", other_token, {
        "first_name": "Uncheckd", "last_name": "Bcreated", "phone": "555 999 8888",
        "email": "private-b@example.org", "birth_date": "1980-02-03"})  # fmt: skip
    assert made.status_code == 201
    pk = made.json()["id"]
    # Its own office reads it; the other neither reads it nor checks it in.
    assert api("get", f"/offices/hillside/visitors/{pk}", other_token).status_code == 200
    assert api("get", f"/offices/riverside/visitors/{pk}", write_token).status_code == 404
    refused = _check_in(api, write_token, office, pk, phone="555 111 2222")
    assert refused.status_code == 422
    assert list(refused.json()["error"]["fields"]) == ["visitor_id"]
    assert api("get", f"/offices/riverside/visitors/{pk}", write_token).status_code == 404
    assert Visitor.objects.get(pk=pk).phone == "555 999 8888"  # not overwritten
    assert not Visit.objects.exists()
    # Its own office checks it in by id.
    assert _check_in(api, other_token, other_office, pk).status_code == 201


def test_an_import_for_an_office_is_that_office_s(
    api, write_token, other_token, office, other_office, tmp_path
):
    path = tmp_path / "visitors.csv"
    path.write_text("first_name,last_name,phone\nAna,Importada,(555) 201-7777\n", "utf-8")
    call_command("import_visitors", str(path), "--office", "hillside", stdout=StringIO())
    pk = Visitor.objects.get(last_name="Importada").pk
    assert _check_in(api, write_token, office, pk).status_code == 422
    assert api("get", f"/offices/hillside/visitors/{pk}", other_token).status_code == 200
    assert _check_in(api, other_token, other_office, pk).status_code == 201


def test_a_record_no_office_made_is_still_checked_in_by_the_first_office(api, write_token, office):
    """Records from before (or an import without --office) belong to no office yet."""
    loose = VisitorFactory(first_name="Old", last_name="Record")
    assert _check_in(api, write_token, office, loose.pk).status_code == 201
