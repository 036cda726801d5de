"""`import_visitors` (all rows or none) and `match_visitor --json` (the ranked candidates)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import VisitorFactory
from visitors.management.commands import import_visitors
from visitors.people.models import PriorityCategory, Visitor, VisitorNameKey
from visitors.people.recognition import visitor_keys
from visitors.selectors import visitor_match

pytestmark = pytest.mark.django_db

GOOD = """first_name,last_name,preferred_name,phone,email,birth_date,language,veteran
José,García López,Pepe,(555) 201-4477,jose@example.com,1980-04-12,es,no
Siobhán,O'Brien,,,,,,yes
王,小明,,+1 555 301 2299,,,en,
"""


def _import(tmp_path, text, *args):
    path = tmp_path / "visitors.csv"
    path.write_text(text, encoding="utf-8")
    out, err = StringIO(), StringIO()
    call_command("import_visitors", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_every_row_with_its_details_and_search_keys(tmp_path):
    out, _err = _import(tmp_path, GOOD)
    assert "Imported 3 visitor(s)." in out
    jose = Visitor.objects.get(first_name="José")
    assert (jose.last_name, jose.preferred_name, jose.phone_last4) == (
        "García López",
        "Pepe",
        "4477",
    )
    assert (jose.preferred_language, str(jose.birth_date)) == ("es", "1980-04-12")
    assert (
        Visitor.objects.get(last_name="O'Brien").priority_category
        == PriorityCategory.COVERED_VETERAN
    )
    assert Visitor.objects.get(first_name="王").last_name == "小明"
    found = visitor_match(first_name="jose", last_name="garcia", phone_last4="4477")
    assert found[0].visitor == jose and found[0].confirmed


def test_it_reports_bad_rows_by_line_and_imports_nothing(tmp_path):
    bad = (
        "first_name,last_name,phone,email,birth_date,language,veteran\n"
        "Ana,Ruiz,,,,,\n"
        ",Lopez,,,,,\n"
        "Bo,Kim,12,,,,\n"
        "Cy,Lu,,not-an-email,,,\n"
        "Di,Ng,,,1990-13-01,,\n"
        "Ed,Oz,,,,fr,\n"
        "Fa,Po,,,,,maybe\n"
        f"{'A' * 101},Qi,,,,,\n"
    )
    with pytest.raises(CommandError, match="7 bad row"):
        _import(tmp_path, bad)
    assert Visitor.objects.count() == 0


def test_it_names_each_bad_line(tmp_path, capsys):
    path = tmp_path / "v.csv"
    path.write_text("first_name,last_name,email\nAna,Ruiz,\n,Lopez,\nCy,Lu,bad@\n", "utf-8")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_visitors", str(path), stderr=err)
    assert err.getvalue().splitlines() == [
        "line 3: first_name is empty",
        "line 4: email 'bad@' is not valid",
    ]


def _rows(count: int, start: int = 0) -> str:
    return "".join(
        f"Ana{i},Ruiz,(555) 201-{1000 + i},,1980-04-{1 + i % 28:02d},es,\n"
        for i in range(start, start + count)
    )


HEADER = "first_name,last_name,phone,email,birth_date,language,veteran\n"


def test_it_writes_in_batches_with_the_keys_and_second_factors(tmp_path, monkeypatch):
    monkeypatch.setattr(import_visitors, "BATCH", 2)
    out, _err = _import(tmp_path, HEADER + _rows(5))
    assert "Imported 5 visitor(s)." in out
    ana = Visitor.objects.get(first_name="Ana3")
    assert (ana.phone_last4, str(ana.birth_date), ana.preferred_language) == (
        "1003",
        "1980-04-04",
        "es",
    )
    rows = VisitorNameKey.objects.filter(visitor=ana)
    assert set(rows.values_list("phone_last4", "birth_month_day")) == {("1003", 404)}
    assert set(rows.values_list("key", flat=True)) == visitor_keys("Ana3", "Ruiz")
    found = visitor_match(first_name="Ana3", last_name="Ruiz", birth_month_day=(4, 4))
    assert [c.visitor for c in found if c.confirmed] == [ana]
    # Ids come from the table's sequence: a visitor made the usual way next gets a new one.
    imported = set(Visitor.objects.values_list("pk", flat=True))
    assert VisitorFactory().pk not in imported


def test_a_bad_row_after_batches_were_written_imports_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(import_visitors, "BATCH", 2)
    text = HEADER + _rows(4) + "Bo,Kim,12,,,,\n" + _rows(3, start=4) + ",Lopez,,,,,\n"
    err = StringIO()
    path = tmp_path / "v.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError, match="2 bad row"):
        call_command("import_visitors", str(path), stderr=err)
    assert err.getvalue().splitlines() == [
        "line 6: phone '12' is not a full phone number",
        "line 10: first_name is empty",
    ]
    assert Visitor.objects.count() == 0
    assert VisitorNameKey.objects.count() == 0


def test_an_unreadable_line_after_batches_were_written_imports_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(import_visitors, "BATCH", 2)
    path = tmp_path / "v.csv"
    # Past the first block the file is read in, so batches were written when it is reached.
    path.write_bytes((HEADER + _rows(600)).encode() + b"Jos\xe9,Ruiz,,,,,\n")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_visitors", str(path))
    assert Visitor.objects.count() == 0
    assert VisitorNameKey.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [("name,surname\nA,B\n", "Missing column"), ("first_name,last_name,ssn\nA,B,1\n", "Unknown")],
)
def test_it_refuses_a_file_with_the_wrong_columns(tmp_path, text, message):
    with pytest.raises(CommandError, match=message):
        _import(tmp_path, text)


def test_it_refuses_an_unknown_office_or_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="No office"):
        _import(tmp_path, GOOD, "--office", "nowhere")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_visitors", str(tmp_path / "missing.csv"))


def test_match_visitor_prints_ranked_candidates_as_json(office):
    william = VisitorFactory(first_name="William", last_name="Smith", phone="(555) 200-1234")
    VisitorFactory(first_name="Wilma", last_name="Smyth", phone="(555) 200-9999")
    out = StringIO()
    call_command(
        "match_visitor", "--first", "Bill", "--last", "Smith", "--phone-last4", "1234",
        "--office", office.slug, "--json", stdout=out,
    )  # fmt: skip
    rows = json.loads(out.getvalue())
    assert rows[0] == {
        "id": william.pk, "first_name": "William", "last_name": "Smith",
        "score": rows[0]["score"], "confirmed": True,
    }  # fmt: skip
    assert 0.0 <= rows[-1]["score"] <= rows[0]["score"] <= 1.0
    assert all(row["confirmed"] is False for row in rows[1:])


def test_match_visitor_rejects_bad_arguments():
    with pytest.raises(CommandError, match="4 digits"):
        call_command("match_visitor", "--first", "A", "--last", "B", "--phone-last4", "12")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("match_visitor", "--first", "A", "--last", "B", "--birth-date", "12/01")


def test_rebuild_name_keys_restores_recognition():
    william = VisitorFactory(first_name="William", last_name="Smith", phone="(555) 200-1234")
    william.name_keys.all().delete()
    assert visitor_match(first_name="Bill", last_name="Smith") == []
    out = StringIO()
    call_command("rebuild_name_keys", stdout=out)
    assert "Rebuilt the name keys of 1 visitor(s)." in out.getvalue()
    assert visitor_match(first_name="Bill", last_name="Smith")[0].visitor == william
