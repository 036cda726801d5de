"""Name keys at scale (issue 17): the key rows carry the second factors and follow changes to
them, and ranking by name reads only the first rows of a common key yet still finds everyone
who must be scored."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.db.models import Count

from tests.factories import UserFactory, VisitorFactory
from visitors import selectors, services
from visitors.identify import Answer, identify
from visitors.people.models import Visitor, VisitorNameKey
from visitors.people.recognition import CANDIDATE_POOL, query_keys
from visitors.selectors import visitor_match

pytestmark = pytest.mark.django_db


def _factors(visitor) -> set[tuple[str, int | None]]:
    rows = VisitorNameKey.objects.filter(visitor=visitor)
    return set(rows.values_list("phone_last4", "birth_month_day"))


def test_key_rows_carry_the_phone_digits_and_birthday():
    ana = VisitorFactory(phone="(555) 201-4477", birth_date=dt.date(1980, 4, 12))
    assert ana.name_keys.count() > 1
    assert _factors(ana) == {("4477", 412)}
    nobody = VisitorFactory(phone="", birth_date=None)
    assert _factors(nobody) == {("", None)}


@pytest.mark.parametrize("update_fields", [None, ["phone", "birth_date"]])
def test_key_rows_follow_a_new_phone_or_birthday(update_fields):
    ana = VisitorFactory(
        first_name="Ana", last_name="Ruiz", phone="(555) 201-4477", birth_date=dt.date(1980, 4, 12)
    )
    ana.phone, ana.birth_date = "(555) 999-1234", dt.date(1980, 12, 31)
    ana.save(update_fields=update_fields)
    assert _factors(ana) == {("1234", 1231)}
    assert visitor_match(first_name="Ana", last_name="Ruiz", phone_last4="1234")[0].confirmed
    assert not any(
        c.confirmed for c in visitor_match(first_name="Ana", last_name="Ruiz", phone_last4="4477")
    )
    by_birthday = visitor_match(first_name="Ana", last_name="Ruiz", birth_month_day=(12, 31))
    assert by_birthday[0].visitor == ana and by_birthday[0].confirmed


def test_a_birth_date_given_as_text_is_stored_on_the_keys():
    ana = VisitorFactory.build(first_name="Ana", last_name="Ruiz", birth_date="1980-04-12")
    ana.save()
    assert _factors(ana) == {("4477", 412)}


def test_a_merge_moves_the_phone_onto_the_kept_keys(office):
    keep = VisitorFactory(first_name="Ana", last_name="Ruiz", phone="")
    merge = VisitorFactory(first_name="Ana", last_name="Ruiz", phone="(555) 201-4477")
    services.visitor_merge(keep=keep, merge=merge, by=UserFactory(), office=office)
    assert _factors(keep) == {("4477", None)}
    assert not VisitorNameKey.objects.filter(visitor=merge).exists()
    found = visitor_match(first_name="Ana", last_name="Ruiz", phone_last4="4477")
    assert [c.visitor.pk for c in found if c.confirmed] == [keep.pk]


def test_the_migration_copies_the_factors_onto_existing_key_rows():
    ana = VisitorFactory(phone="(555) 201-4477", birth_date=dt.date(1980, 4, 12))
    VisitorNameKey.objects.update(phone_last4="", birth_month_day=None)  # as before 0002
    migration = importlib.import_module("visitors.people.migrations.0002_name_key_second_factors")
    migration.copy_second_factors(apps, None)
    assert _factors(ana) == {("4477", 412)}


# --- Common keys read only in part ----------------------------------------------------------


def _read_per_key(monkeypatch, rows):
    """Keys with more rows than this count as common (a million visitors in miniature)."""
    monkeypatch.setattr(selectors, "KEY_ROWS", rows)
    monkeypatch.setattr(selectors, "KEY_ROWS_MIN", rows)


@pytest.fixture
def small_keys(monkeypatch):
    _read_per_key(monkeypatch, 5)


def _people(first, last, count, **fields):
    made = [
        Visitor(first_name=first, last_name=last, phone=f"(555) 201-{1000 + i}", **fields)
        for i in range(count)
    ]
    for visitor in made:
        visitor.fill_search_keys()
    created = Visitor.objects.bulk_create(made)
    VisitorNameKey.rebuild(created)
    return created


def test_a_rare_surname_ranks_first_behind_a_crowd_sharing_the_first_name(monkeypatch):
    # More John S. than the pool holds, each sharing more keys with the query than the rows
    # read of the rare surname's keys alone would credit John Sobeve with.
    _read_per_key(monkeypatch, CANDIDATE_POOL + 5)
    _people("John", "Smith", CANDIDATE_POOL + 20)
    sobeve = VisitorFactory(first_name="John", last_name="Sobeve")  # the highest id
    found = visitor_match(first_name="John", last_name="Sobeve")
    assert found[0].visitor == sobeve


def test_a_mistyped_rare_surname_is_found_among_common_first_name_keys(monkeypatch):
    _read_per_key(monkeypatch, CANDIDATE_POOL + 5)
    _people("John", "Smith", CANDIDATE_POOL + 20)
    sobeve = VisitorFactory(first_name="John", last_name="Sobeve")
    found = visitor_match(first_name="John", last_name="Sobeeve")
    assert sobeve in [c.visitor for c in found[:3]]


def test_everyone_sharing_a_common_name_and_the_digits_is_scored(small_keys):
    crowd = _people("Hannah", "Alvarez", 40)
    # Two more, with the highest ids (past the rows read of every key), share the digits.
    twins = [
        VisitorFactory(first_name="Hannah", last_name="Alvarez", phone="(555) 777-0042"),
        VisitorFactory(first_name="Hannah", last_name="Álvarez", phone="(555) 888-0042"),
    ]
    by_name = visitor_match(first_name="Hannah", last_name="Alvarez")
    assert {c.visitor.pk for c in by_name} <= {v.pk for v in crowd}  # the lowest ids by name
    found = identify(first_name="Hannah", last_name="Alvarez", answer=Answer(phone_last4="0042"))
    assert found.result == "several"
    assert {v.pk for v in found.fitting} == {v.pk for v in twins}


def test_everyone_sharing_a_common_name_and_the_birthday_is_scored(small_keys):
    _people("Hannah", "Alvarez", 40, birth_date=dt.date(1990, 1, 1))
    last = VisitorFactory(first_name="Hannah", last_name="Alvarez", birth_date=dt.date(1990, 7, 4))
    found = visitor_match(first_name="Hannah", last_name="Alvarez", birth_month_day=(7, 4))
    assert [c.visitor.pk for c in found if c.confirmed] == [last.pk]
    both = visitor_match(
        first_name="Hannah",
        last_name="Alvarez",
        phone_last4=last.phone_last4,
        birth_month_day=(7, 4),
    )
    assert [c.visitor.pk for c in both if c.confirmed] == [last.pk]


def test_with_fewer_rows_than_key_rows_the_pool_is_the_full_count():
    """Below KEY_ROWS rows every key is read whole: the visitors sharing most keys, as counted
    over all of them (the ranking before issue 17)."""
    _people("John", "Smith", 30)
    _people("Joan", "Smith", 20)
    _people("John", "Smyth", 5)
    _people("Smith", "John", 3)
    _people("Jon", "Smithers", 10)
    for first, last in [("John", "Smith"), ("Smith", "Jon"), ("Joan", "Smyth"), ("J", "Smit")]:
        keys = query_keys(first, last)
        full = (
            VisitorNameKey.objects.filter(key__in=keys)
            .values("visitor_id")
            .annotate(hits=Count("visitor_id"))
            .order_by("-hits", "visitor_id")
            .values_list("visitor_id", flat=True)[:CANDIDATE_POOL]
        )
        pool = selectors._candidates(keys, phone_last4="", month_day=None)
        assert {v.pk for v in pool} == set(full), (first, last)
