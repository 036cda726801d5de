"""`match_visitor --json`: the kiosk's rule from the command line — two people who both fit the
name and the digits are never confirmed; the birthday tells them apart."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.factories import VisitorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_marias():
    right = VisitorFactory(first_name="María", last_name="López", phone="(555) 201-4477",
                           birth_date=dt.date(1988, 3, 14))  # fmt: skip
    other = VisitorFactory(first_name="Maria", last_name="Lopez", phone="(555) 733-4477",
                           birth_date=dt.date(1979, 11, 2))  # fmt: skip
    return right, other


def _match(*args):
    out, err = StringIO(), StringIO()
    call_command("match_visitor", "--first", "Maria", "--last", "Lopez", *args, "--json",
                 stdout=out, stderr=err)  # fmt: skip
    return json.loads(out.getvalue()), err.getvalue()


def test_two_who_fit_the_digits_are_neither_confirmed_and_the_birthday_is_asked(two_marias):
    rows, err = _match("--phone-last4", "4477")
    assert {row["id"] for row in rows} == {v.pk for v in two_marias}
    assert [row["confirmed"] for row in rows] == [False, False]
    assert set(rows[0]) == {"id", "first_name", "last_name", "score", "confirmed"}
    assert "2 records fit; none is confirmed (give --birth-date as well" in err


def test_with_the_birthday_too_the_right_one_is_confirmed(two_marias):
    right, _other = two_marias
    rows, err = _match("--phone-last4", "4477", "--birth-date", "1988-03-14")
    assert [row["id"] for row in rows if row["confirmed"]] == [right.pk]
    assert err == ""


def test_at_an_office_the_other_factor_counts_only_once_several_fit_its_own(two_marias, office):
    right, other = two_marias
    rows, _ = _match("--phone-last4", "4477", "--birth-date", "1988-03-14", "--office", office.slug)
    assert [row["id"] for row in rows if row["confirmed"]] == [right.pk]
    # Digits that only one fits: the birthday given is not needed, and not held against them.
    rows, _ = _match("--phone-last4", "4477", "--birth-date", "1970-01-01", "--office", office.slug)
    assert [row["id"] for row in rows if row["confirmed"]] == []  # still two fit the digits
    other.phone, other.phone_last4 = "(555) 733-9999", "9999"
    other.save()
    rows, _ = _match("--phone-last4", "4477", "--birth-date", "1970-01-01", "--office", office.slug)
    assert [row["id"] for row in rows if row["confirmed"]] == [right.pk]


def test_when_nothing_tells_them_apart_it_says_so(two_marias):
    right, other = two_marias
    other.birth_date = right.birth_date
    other.save()
    rows, err = _match("--phone-last4", "4477")
    assert not any(row["confirmed"] for row in rows)
    assert "no other factor tells them apart" in err
