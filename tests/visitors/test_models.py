"""Offices' local time and opening hours, visitors' search keys and name normalisation."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import OfficeFactory, VisitorFactory, aware
from visitors.offices.models import Office, validate_opening_hours, validate_time_zone
from visitors.people.recognition import normalise_name, phone_digits


def test_it_gives_the_office_s_local_day_and_its_utc_bounds():
    """Times are stored in UTC; an office's day runs midnight to midnight in its own zone."""
    office = Office(time_zone="America/Chicago")
    start, end = office.day_bounds(dt.date(2026, 3, 8))  # DST starts that night in the US
    assert (start, end) == (aware(2026, 3, 8, 6, 0), aware(2026, 3, 9, 5, 0))
    assert office.local_date(aware(2026, 3, 9, 4, 59)) == dt.date(2026, 3, 8)
    assert office.local_date(aware(2026, 3, 9, 5, 0)) == dt.date(2026, 3, 9)


@pytest.mark.parametrize(
    ("at", "is_open"),
    [
        (aware(2026, 3, 2, 13, 59), False),  # Monday 07:59 in Chicago
        (aware(2026, 3, 2, 14, 0), True),  # 08:00
        (aware(2026, 3, 2, 22, 59), True),  # 16:59
        (aware(2026, 3, 2, 23, 0), False),  # 17:00
        (aware(2026, 3, 7, 16, 0), False),  # Saturday
    ],
)
def test_it_knows_when_the_office_is_open(at, is_open):
    assert Office(time_zone="America/Chicago").is_open_at(at) is is_open


@pytest.mark.parametrize(
    "hours",
    [
        [],
        {"monday": [["08:00", "17:00"]]},
        {"mon": ["08:00", "17:00"]},
        {"mon": [["8am", "5pm"]]},
        {"mon": [["17:00", "08:00"]]},
        {"mon": "08:00-17:00"},
    ],
)
def test_it_rejects_malformed_opening_hours_with_a_message(hours):
    with pytest.raises(ValidationError) as error:
        validate_opening_hours(hours)
    assert error.value.messages[0]


def test_it_accepts_split_opening_hours_and_closed_days():
    validate_opening_hours({"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "sat": []})


def test_it_rejects_an_unknown_time_zone():
    with pytest.raises(ValidationError, match="not a known time zone"):
        validate_time_zone("Mars/Olympus_Mons")


@pytest.mark.django_db
def test_it_validates_an_office_as_a_whole():
    office = OfficeFactory.build(slug="x", ticket_prefix="a1", time_zone="Nowhere/City")
    with pytest.raises(ValidationError) as error:
        office.full_clean()
    assert set(error.value.message_dict) == {"ticket_prefix", "time_zone"}


@pytest.mark.django_db
def test_it_keeps_the_search_keys_in_step_with_the_names():
    visitor = VisitorFactory(
        first_name="José-Luis", last_name="  Núñez ", phone="+1 (555) 201-4477"
    )
    assert (visitor.first_key, visitor.last_key, visitor.phone_last4) == (
        "jose luis",
        "nunez",
        "4477",
    )
    visitor.last_name = "O’Brien"
    visitor.save(update_fields=["last_name"])
    visitor.refresh_from_db()
    assert visitor.last_key == "o brien"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("MARÍA", "maria"),
        ("Nguyễn", "nguyen"),
        ("Siobhán", "siobhan"),
        ("Straße", "strasse"),
        ("  Mary   Ann ", "mary ann"),
        ("D'Angelo", "d angelo"),
        ("王", "王"),
        ("𝕬𝖓𝖆", "ana"),
    ],
)
def test_it_normalises_case_accents_and_punctuation(raw, key):
    assert normalise_name(raw) == key


@given(st.text(max_size=60))
def test_normalising_is_idempotent_and_keeps_letters(name):
    """A key normalises to itself, and a name with any letter never keys as empty."""
    key = normalise_name(name)
    assert normalise_name(key) == key
    if any(ch.isalpha() for ch in name):
        assert key


def test_it_keeps_only_digits_of_a_phone_number():
    assert phone_digits("+1 (555) 201-4477 ext. 9") == "155520144779"


def test_a_name_that_grows_when_normalised_still_saves(db):
    """A 100-character name of letters that normalise to two (ß -> ss) keeps a 100-character
    search key instead of failing the check-in (PostgreSQL refuses an over-long value)."""
    visitor = VisitorFactory(first_name="ß" * 100, last_name="García")
    visitor.refresh_from_db()
    assert visitor.first_key == "s" * 100
