"""One error shape for everything: {"error": {"code", "message", "fields"?}}; bad input is a
clear 4xx naming the field, never a 500."""

import pytest

from tests.factories import ReasonFactory, VisitFactory

pytestmark = pytest.mark.django_db

CHECK_IN = "/offices/riverside/check-ins"


def _fields(response, status=422):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    return error["fields"]


def test_a_body_that_is_not_json_is_a_400(api, write_token):
    response = api("post", CHECK_IN, write_token, "{not json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_a_missing_required_field_is_named(api, write_token):
    assert "first_name" in _fields(api("post", "/offices/riverside/visitors", write_token, {
        "last_name": "Smith"}))  # fmt: skip


def test_a_wrong_type_is_named_with_its_position(api, write_token):
    fields = _fields(api("post", CHECK_IN, write_token, {"reason_ids": ["one"]}))
    assert list(fields) == ["reason_ids.0"]


def test_a_query_parameter_out_of_range_is_named(api, read_token):
    assert list(_fields(api("get", "/offices/riverside/visits?limit=0", read_token))) == ["limit"]
    assert "date" in _fields(api("get", "/offices/riverside/visits?date=yesterday", read_token))


def test_the_kiosk_s_own_rules_come_back_under_the_api_s_field_names(api, write_token):
    """Through the same forms: a name of only punctuation, a bad phone, no reason."""
    payload = {"first_name": "!!!", "last_name": "Ok", "phone": "12", "notify_when_called": True}
    fields = _fields(api("post", CHECK_IN, write_token, payload))
    assert set(fields) == {"first_name", "phone", "non_field"}


@pytest.mark.parametrize(
    ("value", "status"),
    [("x" * 5000, 422), ("", 422), ("Ana\x00", 422), ("\ud800", 422)],
    ids=["very-long", "empty", "nul", "lone-surrogate"],
)
def test_bad_text_is_a_422_not_a_500(api, write_token, office, value, status):
    ReasonFactory(office=office)
    raw = f'{{"first_name": "{value}", "last_name": "Smith"}}'.encode("utf-8", "surrogatepass")
    response = api("post", "/offices/riverside/visitors", write_token, raw)
    assert response.status_code in (400, status), response.content
    assert "error" in response.json()


def test_markup_and_any_script_are_stored_as_typed(api, write_token):
    for first, last in [("<script>alert(1)</script>", "O'Brien"), ("Đặng", "Nguyễn"),
                        ("محمد", "علي"), ("李", "小龙")]:  # fmt: skip
        response = api("post", "/offices/riverside/visitors", write_token,
                       {"first_name": first, "last_name": last})  # fmt: skip
        assert response.status_code == 201, response.content
        assert (response.json()["first_name"], response.json()["last_name"]) == (first, last)


def test_an_unknown_id_and_an_unknown_path_are_404s_in_the_same_shape(api, read_token):
    for path in ("/offices/riverside/visits/999", "/offices/riverside/visitors/999",
                 "/no/such/thing", "/offices/riverside/visits/-1"):  # fmt: skip
        response = api("get", path, read_token)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


def test_an_id_too_big_for_the_database_is_a_422(api, read_token):
    assert "visit_id" in _fields(api("get", f"/offices/riverside/visits/{2**70}", read_token))


def test_a_conflict_is_a_409_with_its_own_code(api, write_token, office):
    visit = VisitFactory(office=office)
    response = api("post", f"/offices/riverside/visits/{visit.pk}/actions/finish", write_token)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "transition_not_allowed"


def test_a_wrong_method_is_a_405(api, read_token):
    assert api("delete", "/offices/riverside/queue", read_token).status_code == 405
