"""Surnames as people write them: particles, spacing and either of two Spanish surnames (the
pure rules of visitors/people/recognition.py; the labelled set measures them at scale)."""

import pytest

from visitors.people.recognition import (
    CONFIRM_MIN,
    PART_MIN,
    name_likeness,
    normalise_name,
    query_keys,
    visitor_keys,
)


def _confirmable(likeness) -> bool:
    return likeness.score >= CONFIRM_MIN and min(likeness.given, likeness.family) >= PART_MIN


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("De La Cruz", "Delacruz"), ("De La Cruz", "de la cruz"), ("De La Cruz", "Dela Cruz"),
        ("De La Cruz", "Cruz"), ("Del Río", "Delrio"), ("Del Río", "Del Rio"),
        ("O'Brien", "O Brien"), ("O'Brien", "OBrien"), ("McDonald", "Mc Donald"),
        ("St. John", "Saint John"), ("St. John", "St John"), ("Van der Berg", "Vanderberg"),
        ("D'Angelo", "DAngelo"), ("Al-Hassan", "Al Hassan"), ("Al-Hassan", "Hassan"),
        ("García López", "García"), ("García López", "López"), ("García López", "García-López"),
        ("García López", "GarciaLopez"), ("García López", "García y López"),
        ("Hernández", "Hernández Ruiz"), ("Da Silva", "DaSilva"), ("Le", "Lê"),
    ],
)  # fmt: skip
def test_a_surname_written_another_way_is_the_same_person(stored, typed):
    likeness = name_likeness("Rosa", typed, "Rosa", stored)
    assert _confirmable(likeness), likeness
    assert visitor_keys("Rosa", stored) & query_keys("Rosa", typed)  # they meet in the index


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("García López", "García Pérez"),  # shares one of two surnames: another family
        ("De La Cruz", "De La Rosa"),  # shares only the particles
        ("Del Río", "Del Valle"),
        ("Van der Berg", "Van der Meer"),
        ("Le", "Ly"),
    ],
)
def test_a_surname_sharing_only_particles_or_one_of_two_is_not_the_person(stored, typed):
    assert not _confirmable(name_likeness("Rosa", typed, "Rosa", stored))


def test_a_particle_is_never_a_key_on_its_own():
    keys = visitor_keys("Rosa", "De La Cruz") | visitor_keys("Rosa", "García y López")
    assert not {k for k in keys if k.split(":")[1].split("|")[0] in {"de", "la", "y"}}


@pytest.mark.parametrize(
    ("raw", "key"), [("Łukasz", "lukasz"), ("Đặng", "dang"), ("Søren", "soren"), ("Ærø", "aero")]
)
def test_letters_without_a_combining_mark_fold_as_people_type_them(raw, key):
    assert normalise_name(raw) == key


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Francisco", "Paco"), ("Francisco", "Pancho"), ("José", "Pepe"), ("Guadalupe", "Lupe"),
        ("Roberto", "Beto"), ("Alberto", "Beto"), ("Eduardo", "Lalo"), ("Guillermo", "Memo"),
        ("Rosario", "Chayo"), ("Dolores", "Lola"), ("Concepción", "Concha"), ("Antonio", "Toño"),
        ("Francisca", "Paquita"), ("Alejandro", "Alex"), ("Katarzyna", "Kasia"),
        ("Dmitri", "Dima"), ("Muhammad", "Mohammed"), ("Mohamed", "Muhammad"),
        ("Hassan", "Hasan"), ("Ibrahim", "Ebrahim"), ("Yusuf", "Yousef"), ("Aisha", "Ayesha"),
        ("Dmitri", "Dmitry"), ("Hussain", "Hussein"), ("Paco", "Francisco"), ("Lupe", "Guadalupe"),
    ],
)  # fmt: skip
def test_a_nickname_or_another_spelling_is_the_same_given_name_both_ways(stored, typed):
    likeness = name_likeness(typed, "García", stored, "García")
    assert _confirmable(likeness), likeness
    assert visitor_keys(stored, "García") & query_keys(typed, "García")


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Mark", "Mary"), ("Ivan", "Ian"), ("Juan", "Juana"), ("Mario", "María"),
        ("Daniel", "Daniela"), ("Francisco", "Francisca"), ("Samir", "Samira"), ("Noe", "Noa"),
        ("Ángel", "Ángela"), ("Emil", "Emily"), ("Dana", "Dina"), ("Tom", "Tim"),
        ("Marina", "Mariana"), ("Manuela", "Manolo"), ("Antonio", "Toñi"), ("Patricio", "Paty"),
        ("Roberto", "Alberto"),  # both are Beto, but not each other
        ("Cristian", "Cristina"),  # two letters swapped, and the woman's -a with them
    ],
)  # fmt: skip
def test_two_real_given_names_are_never_the_same_person(stored, typed):
    assert not _confirmable(name_likeness(typed, "García", stored, "García"))


@pytest.mark.parametrize(
    ("stored", "typed"),
    [("Stephen", "Steven"), ("Catherine", "Katherine"), ("Latisha", "Letisha"),
     ("Elizabeth", "Elizbeth"), ("Christopher", "Christoper"), ("Michael", "Micheal"),
     ("Jon", "John"), ("Ana", "Anna")],
)  # fmt: skip
def test_one_given_name_spelt_another_way_or_slipped_is_the_same(stored, typed):
    assert _confirmable(name_likeness(typed, "García", stored, "García"))


@pytest.mark.parametrize(
    ("stored", "typed", "same"),
    [("Xu", "Hsu", True), ("Zhang", "Chang", True), ("Lee", "Yi", True),
     ("Hussein", "Hussain", True), ("Sandoval Cruz", "Sandoval Ruiz", False),
     ("García López", "García Lopes", True)],
)  # fmt: skip
def test_surnames_in_two_romanisations_meet_and_two_real_second_surnames_do_not(
    stored, typed, same
):
    assert _confirmable(name_likeness("Lan", typed, "Lan", stored)) is same
    if same:
        assert visitor_keys("Lan", stored) & query_keys("Lan", typed)
