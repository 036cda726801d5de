"""The labelled recognition set (pairs.csv): figures printed, and held.

Each row is a stored visitor and what someone typed at the kiosk: either the same person typing
their name differently (``variant``) or a different person with a similar name (``near_miss``).
``note`` is the row's category. The stored people sit among 3,000 other visitors so that ranking
is tested against real noise.

Held: from the name alone the right person is in the top 3 for ≥ 95 % of variants; with the
second factor a variant is confirmed ≥ 95 % of the time; a different person is never confirmed.
Each category of variants is also held to its own floor (PER_CATEGORY_FLOOR), and no category may
confirm a different person. The figures are printed for the whole set (one ``RECOGNITION`` line)
and then for each category (``RECOGNITION category=...``), followed by the cases each category
missed.
"""

import csv
import datetime as dt
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from visitors.demo import FIRST_NAMES, LAST_NAMES
from visitors.people.models import Visitor, VisitorNameKey
from visitors.people.recognition import normalise_name
from visitors.selectors import visitor_match

PAIRS = Path(__file__).with_name("pairs.csv")
DISTRACTORS = 3000
COLUMNS = [
    "kind",
    "stored_first",
    "stored_last",
    "stored_phone",
    "stored_birth_date",
    "query_first",
    "query_last",
    "query_phone_last4",
    "query_birth_date",
    "note",
]

# The least share of each category's variants that must be in the top 3 by name, and that must
# be confirmed (with the phone digits, and with the birthday, each on its own). Top 3 by name is
# lower: a visitor stored by a nickname who types the full name is rightly ranked below people
# who carry that full name; the second factor is what finds them.
CATEGORIES = (
    "accent", "case_punct", "nickname", "typo_first", "typo_last", "swapped", "compound",
    "hyphenated", "preferred", "spacing", "combined", "es_nickname", "other_nickname",
    "transliteration", "particle", "two_surnames", "two_changes",
)  # fmt: skip
TOP3_FLOOR = 0.85
CONFIRMED_FLOOR = 0.95
PER_CATEGORY_FLOOR = {
    note: {
        "top3_by_name": TOP3_FLOOR,
        "confirmed_with_phone_last4": CONFIRMED_FLOOR,
        "confirmed_with_birthday": CONFIRMED_FLOOR,
    }
    for note in CATEGORIES
}

FACTORS = {"phone": "confirmed_with_phone_last4", "birthday": "confirmed_with_birthday"}


def _rows() -> list[dict]:
    with PAIRS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _stored_key(row) -> tuple:
    return (row["stored_first"], row["stored_last"], row["stored_phone"])


def _same_name(first: str, last: str) -> tuple[str, str]:
    return normalise_name(first), normalise_name(last)


def _population(rows) -> dict[tuple, Visitor]:
    stored: dict[tuple, Visitor] = {}
    for row in rows:
        key = _stored_key(row)
        if key not in stored:
            stored[key] = Visitor(
                first_name=row["stored_first"],
                last_name=row["stored_last"],
                phone=row["stored_phone"],
                birth_date=dt.date.fromisoformat(row["stored_birth_date"]),
            )
    # Noise: ordinary visitors whose second factors never equal any query's.
    # Names and digits come from separate generators, so that adding rows to pairs.csv (which
    # changes the digits taken) leaves the distractors' names, and so the ranking noise, as it was.
    # A distractor never has the very name of a stored person: among three "José Hernández"
    # no ranking by name can put the right one first (that is what the second factor is for,
    # and near_same_name and the kiosk's tests hold that case), so it would only blur top 3.
    taken = {row["query_phone_last4"] for row in rows}
    stored_names = {_same_name(v.first_name, v.last_name) for v in stored.values()}
    names, digits = random.Random(7), random.Random(8)
    noise = []
    while len(noise) < DISTRACTORS:
        last4 = f"{digits.randint(0, 9999):04d}"
        first, last = names.choice(FIRST_NAMES), names.choice(LAST_NAMES)
        if last4 in taken or _same_name(first, last) in stored_names:
            continue
        noise.append(
            Visitor(
                first_name=first,
                last_name=last,
                phone=f"(555) {names.randint(200, 999)}-{last4}",
                birth_date=dt.date(1980, 2, 29),  # a day no query uses
            )
        )
    people = list(stored.values()) + noise
    for person in people:
        person.fill_search_keys()
    created = Visitor.objects.bulk_create(people)
    VisitorNameKey.rebuild(created)
    return stored


def _factor(row, kind):
    if kind == "phone":
        return {"phone_last4": row["query_phone_last4"]}
    birth = dt.date.fromisoformat(row["query_birth_date"])
    return {"birth_month_day": (birth.month, birth.day)}


def _typed(row) -> str:
    return f"{row['query_first']} {row['query_last']}"


def _person(visitor) -> str:
    return (
        f"{visitor.first_name} {visitor.last_name} {visitor.phone} "
        f"{visitor.birth_date:%m-%d} (pk {visitor.pk})"
    )


def test_the_set_is_well_formed():
    """Cheap checks on pairs.csv, so that a bad row fails here rather than skews a figure."""
    rows = _rows()
    with PAIRS.open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == COLUMNS
    kinds_by_note = defaultdict(set)
    birth_dates = defaultdict(set)
    people_by_last4 = defaultdict(set)
    for row in rows:
        assert row["kind"] in ("variant", "near_miss"), row
        assert re.fullmatch(r"\(555\) \d{3}-\d{4}", row["stored_phone"]), row
        assert re.fullmatch(r"\d{4}", row["query_phone_last4"]), row
        dt.date.fromisoformat(row["stored_birth_date"])
        assert dt.date.fromisoformat(row["query_birth_date"]).strftime("%m-%d") != "02-29", row
        kinds_by_note[row["note"]].add(row["kind"])
        birth_dates[_stored_key(row)].add(row["stored_birth_date"])
        people_by_last4[row["stored_phone"][-4:]].add(_stored_key(row))
        if row["kind"] == "variant":
            assert row["query_phone_last4"] == row["stored_phone"][-4:], row
            assert row["query_birth_date"] == row["stored_birth_date"], row
    assert {n: k for n, k in kinds_by_note.items() if len(k) > 1} == {}
    assert {p: d for p, d in birth_dates.items() if len(d) > 1} == {}
    assert {d: p for d, p in people_by_last4.items() if len(p) > 1} == {}
    variant_notes = {n for n, k in kinds_by_note.items() if k == {"variant"}}
    assert variant_notes == set(PER_CATEGORY_FLOOR)


@pytest.mark.django_db
def test_the_recognition_set_meets_its_figures(capsys):
    rows = _rows()
    stored = _population(rows)
    by_pk = {visitor.pk: visitor for visitor in stored.values()}
    variants = [r for r in rows if r["kind"] == "variant"]
    near_misses = [r for r in rows if r["kind"] == "near_miss"]
    assert len(variants) >= 200 and len(near_misses) >= 100 and len(rows) >= 300

    def who(pk) -> str:
        return _person(by_pk.get(pk) or Visitor.objects.get(pk=pk))

    # Tallies per category (note); the overall figures are their sums.
    size, top3, confirmed = Counter(), Counter(), Counter()
    wrong = defaultdict(list)  # note -> [(row, factor, pk of the different person confirmed)]
    misses = defaultdict(list)  # note -> one line per variant that missed anything
    missed_by_name = []
    for row in variants:
        note = row["note"]
        size[note] += 1
        target = stored[_stored_key(row)]
        missing = []
        by_name = visitor_match(first_name=row["query_first"], last_name=row["query_last"], limit=3)
        if target.pk in [c.visitor.pk for c in by_name]:
            top3[note] += 1
        else:
            missed_by_name.append((note, row["query_first"], row["query_last"]))
            shown = ", ".join(f"{c.visitor.first_name} {c.visitor.last_name}" for c in by_name)
            missing.append(f"not in top 3 by name (top 3: {shown or 'nobody'})")
        for kind in FACTORS:
            found = visitor_match(
                first_name=row["query_first"], last_name=row["query_last"], **_factor(row, kind)
            )
            ok = [c.visitor.pk for c in found if c.confirmed]
            if ok == [target.pk]:
                confirmed[note, kind] += 1
            else:
                missing.append(f"{kind}: {len(ok) or 'nobody'} confirmed")
            wrong[note] += [(row, kind, pk) for pk in ok if pk != target.pk]
        if missing:
            misses[note].append(
                f"{_typed(row)} (stored {target.first_name} {target.last_name}): "
                + "; ".join(missing)
            )

    for row in near_misses:
        size[row["note"]] += 1
        for kind in FACTORS:
            found = visitor_match(
                first_name=row["query_first"], last_name=row["query_last"], **_factor(row, kind)
            )
            wrong[row["note"]] += [(row, kind, c.visitor.pk) for c in found if c.confirmed]

    wrong_confirmations = [(row, pk) for note in size for row, _, pk in wrong[note]]
    n = len(variants)
    figures = {
        "variants": n,
        "near_misses": len(near_misses),
        "top3_by_name": round(sum(top3.values()) / n, 4),
        "confirmed_with_phone_last4": round(
            sum(confirmed[k] for k in confirmed if k[1] == "phone") / n, 4
        ),
        "confirmed_with_birthday": round(
            sum(confirmed[k] for k in confirmed if k[1] == "birthday") / n, 4
        ),
        "different_person_confirmed": len(wrong_confirmations),
    }

    variant_notes = list(dict.fromkeys(r["note"] for r in variants))
    near_notes = list(dict.fromkeys(r["note"] for r in near_misses))
    per_category = {}
    for note in variant_notes:
        per_category[note] = {
            "n": size[note],
            "top3_by_name": round(top3[note] / size[note], 4),
            **{label: round(confirmed[note, k] / size[note], 4) for k, label in FACTORS.items()},
            "different_person_confirmed": len(wrong[note]),
        }
    for note in near_notes:
        per_category[note] = {"n": size[note], "different_person_confirmed": len(wrong[note])}

    with capsys.disabled():
        print("\nRECOGNITION", " ".join(f"{k}={v}" for k, v in figures.items()))
        for note, values in per_category.items():
            print(f"RECOGNITION category={note}", " ".join(f"{k}={v}" for k, v in values.items()))
        for note in per_category:
            for row, kind, pk in wrong[note]:
                print(
                    f"  [{note}] DIFFERENT PERSON confirmed with {kind}: {_typed(row)} "
                    f"(phone {row['query_phone_last4']}, born {row['query_birth_date']}) "
                    f"-> {who(pk)}"
                )
            for line in misses[note]:
                print(f"  [{note}] missed: {line}")

    assert figures["top3_by_name"] >= 0.95, missed_by_name
    assert figures["confirmed_with_phone_last4"] >= 0.95
    assert figures["confirmed_with_birthday"] >= 0.95
    assert wrong_confirmations == [], [
        (r["note"], r["query_first"], r["query_last"], who(pk)) for r, pk in wrong_confirmations
    ]
    assert {note: v["different_person_confirmed"] for note, v in per_category.items()} == {
        note: 0 for note in per_category
    }
    below_floor = [
        (note, figure, value, PER_CATEGORY_FLOOR[note][figure])
        for note in variant_notes
        for figure, value in per_category[note].items()
        if figure in PER_CATEGORY_FLOOR[note] and value < PER_CATEGORY_FLOOR[note][figure]
    ]
    assert below_floor == [], below_floor
