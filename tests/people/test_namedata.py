"""The name knowledge kept as data (visitors/people/names/, read by visitors.people.namedata):
hypocorisms and spelling families resolve both ways, nothing else does, and the files are
well formed."""

import csv
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from visitors.people import namedata
from visitors.people.namedata import given_name_groups, normalise, surname_groups
from visitors.people.recognition import normalise_name

DATA_FILES = ("given_names.csv", "surnames.csv")


# --- Given names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "canonical"),
    [
        ("Paco", "Francisco"),
        ("Pancho", "Francisco"),
        ("Curro", "Francisco"),
        ("Frank", "Francisco"),
        ("Chico", "Francisco"),
        ("Pepe", "José"),
        ("Chepe", "José"),
        ("Zé", "José"),
        ("Lupe", "Guadalupe"),
        ("Lupita", "Guadalupe"),
        ("Beto", "Roberto"),
        ("Beto", "Alberto"),
        ("Lalo", "Eduardo"),
        ("Memo", "Guillermo"),
        ("Chayo", "Rosario"),
        ("Charo", "Rosario"),
        ("Lola", "Dolores"),
        ("Concha", "Concepción"),
        ("Conchita", "Concepción"),
        ("Toño", "Antonio"),
        ("Paquita", "Francisca"),
        ("Alex", "Alejandro"),
        ("Alex", "Alejandra"),
        ("Nacho", "Ignacio"),
        ("Chucho", "Jesús"),
        ("Chuy", "Jesús"),
        ("Quique", "Enrique"),
        ("Chelo", "Consuelo"),
        ("Pili", "Pilar"),
        ("Maite", "María Teresa"),
        ("Tere", "Teresa"),
        ("Lucho", "Luis"),
        ("Goyo", "Gregorio"),
        ("Chema", "José María"),
        ("Juanca", "Juan Carlos"),
        ("Fito", "Adolfo"),
        ("Rafa", "Rafael"),
        ("Nando", "Fernando"),
        ("Fer", "Fernando"),
        ("Manolo", "Manuel"),
        ("Manu", "Manuel"),
        ("Checo", "Sergio"),
        ("Chente", "Vicente"),
        ("Polo", "Leopoldo"),
        ("Polo", "Hipólito"),
        ("Meche", "Mercedes"),
        ("Lencho", "Lorenzo"),
        ("Tencha", "Hortensia"),
        ("Mari", "María"),
        ("Tião", "Sebastião"),
        ("Bia", "Beatriz"),
        ("Gabi", "Gabriela"),
        ("Duda", "Eduarda"),
        ("Juca", "José"),
        ("Guto", "Augusto"),
        ("Tonico", "Antônio"),
        ("Kasia", "Katarzyna"),
        ("Gosia", "Małgorzata"),
        ("Małgosia", "Małgorzata"),
        ("Basia", "Barbara"),
        ("Zosia", "Zofia"),
        ("Jurek", "Jerzy"),
        ("Staś", "Stanisław"),
        ("Kuba", "Jakub"),
        ("Wojtek", "Wojciech"),
        ("Bartek", "Bartłomiej"),
        ("Tomek", "Tomasz"),
        ("Krzyś", "Krzysztof"),
        ("Ola", "Aleksandra"),
        ("Asia", "Joanna"),
        ("Ania", "Anna"),
        ("Magda", "Magdalena"),
        ("Aga", "Agnieszka"),
        ("Sasha", "Aleksandr"),
        ("Sasha", "Aleksandra"),
        ("Shura", "Aleksandr"),
        ("Misha", "Mikhail"),
        ("Dima", "Dmitri"),
        ("Volodya", "Vladimir"),
        ("Vova", "Vladimir"),
        ("Kolya", "Nikolai"),
        ("Seryozha", "Sergei"),
        ("Lyosha", "Aleksei"),
        ("Zhenya", "Yevgeny"),
        ("Zhenya", "Yevgenia"),
        ("Natasha", "Natalia"),
        ("Masha", "Maria"),
        ("Tanya", "Tatiana"),
        ("Katya", "Yekaterina"),
        ("Lena", "Yelena"),
        ("Olya", "Olga"),
        ("Sveta", "Svetlana"),
        ("Vanya", "Ivan"),
        ("Petya", "Pyotr"),
        ("Pasha", "Pavel"),
        ("Yura", "Yuri"),
        ("Lyuba", "Lyubov"),
        ("Galya", "Galina"),
        ("Hamoudi", "Muhammad"),
        ("Hamoud", "Muhammad"),
        ("Abed", "Abdullah"),
        ("Dzũng", "Dũng"),
        ("Hsiao-ming", "Xiaoming"),
    ],
)
def test_a_hypocorism_and_its_full_name_meet_both_ways(form, canonical):
    group = normalise(canonical)
    assert group in given_name_groups(form)
    assert given_name_groups(canonical) == {group}
    assert given_name_groups(form) & given_name_groups(canonical)


@pytest.mark.parametrize(
    "family",
    [
        ("Mohammed", "Muhammad", "Mohamed", "Mohammad", "Muhammed", "Mohamad", "Mohd"),
        ("Hassan", "Hasan"),
        ("Ibrahim", "Ebrahim", "Ibraheem"),
        ("Yusuf", "Yousef", "Youssef", "Yousif", "Yusef"),
        ("Aisha", "Ayesha", "Aicha", "Aysha"),
        ("Fatima", "Fatma", "Fatemeh"),
        ("Omar", "Umar"),
        ("Ahmed", "Ahmad"),
        ("Abdullah", "Abdallah"),
        ("Khalid", "Khaled"),
        ("Mustafa", "Mostafa"),
        ("Said", "Saeed", "Sa'id", "Saʿīd"),
        ("Layla", "Leila", "Laila"),
        ("Zainab", "Zeinab"),
        ("Mariam", "Maryam", "Meryem"),
        ("Abdulrahman", "Abdel Rahman", "Abdelrahman", "Abd al-Rahman", "Abdul-Rahman"),
        ("Hussain", "Hussein", "Husain", "Hossein"),
        ("Dmitri", "Dmitry", "Dmitriy", "Dmitrii"),
        ("Sergei", "Sergey", "Serguei"),
        ("Aleksandr", "Alexander", "Aleksander", "Oleksandr"),
        ("Yevgeny", "Evgeny", "Evgeniy"),
        ("Yuri", "Yury", "Iouri"),
        ("Aleksei", "Alexey", "Alexei"),
        ("Nikolai", "Nikolay"),
        ("Andrei", "Andrey"),
        ("Mikhail", "Mikhael"),
        ("Tatiana", "Tatyana"),
        ("Yekaterina", "Ekaterina"),
        ("Yelena", "Elena"),
        ("Natalia", "Natalya"),
        ("Luis", "Luiz"),
        ("Mateus", "Matheus"),
        ("Xiaoming", "Hsiao-ming", "Hsiao Ming", "hsiaoming"),
    ],
)
def test_a_spelling_family_shares_one_group(family):
    shared = frozenset.intersection(*(given_name_groups(name) for name in family))
    assert len(shared) == 1, {name: given_name_groups(name) for name in family}


def test_a_hypocorism_of_several_names_does_not_join_them():
    assert given_name_groups("beto") >= {"roberto", "alberto"}
    assert not given_name_groups("Roberto") & given_name_groups("Alberto")
    assert given_name_groups("alex") >= {"alejandro", "alejandra"}
    assert not given_name_groups("Alejandro") & given_name_groups("Aleksandr")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Francisco", "Francisca"),
        ("Paco", "Paca"),
        ("Paco", "Paquita"),
        ("Daniel", "Daniela"),
        ("Juan", "Juana"),
        ("Mario", "María"),
        ("Mark", "Mary"),
        ("Ivan", "Ian"),
        ("Ivan", "Juan"),
        ("Jan", "Juan"),
        ("Aleksandr", "Aleksandra"),
        ("Yevgeny", "Yevgenia"),
        ("Said", "Sayed"),
        ("Hamid", "Hamad"),
        ("Amir", "Amer"),
        ("Pepe", "Pepa"),
        ("Stanisław", "Stanisława"),
    ],
)
def test_different_names_never_meet(one, other):
    assert not given_name_groups(one) & given_name_groups(other)


@pytest.mark.parametrize("name", ["Zorblat", "Kevin", "Xyz", "", "   ", "-", "Abu Ahmad"])
def test_an_unknown_name_gives_nothing(name):
    assert given_name_groups(name) == frozenset()
    assert surname_groups(name) == frozenset()


@pytest.mark.parametrize("typed", ["jose maria", "josemaria", "José-María", "JOSÉ MARÍA"])
def test_a_compound_given_name_is_found_with_or_without_its_space(typed):
    assert given_name_groups(typed) == {"jose maria"}


def test_letters_that_do_not_decompose_are_folded():
    assert given_name_groups("MAŁGORZATA") == {"malgorzata"}
    assert given_name_groups("malgorzata") == {"malgorzata"}
    assert normalise("Đặng Łukasz Søren Straße Işık Æsa") == "dang lukasz soren strasse isik aesa"


# --- Surnames ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "family",
    [
        ("Zhang", "Chang", "Cheung"),
        ("Chen", "Chan", "Tan"),
        ("Wang", "Wong"),
        ("Li", "Lee"),
        ("Liu", "Lau"),
        ("Huang", "Wong", "Hwang"),
        ("Zhou", "Chou", "Chow"),
        ("Wu", "Ng", "Woo"),
        ("Xu", "Hsu", "Tsui"),
        ("Zhao", "Chao", "Chiu"),
        ("Lin", "Lam", "Lim"),
        ("Hussein", "Hussain"),
        ("Ibrahim", "Ebrahim"),
        ("Hassan", "Hasan"),
        ("Abdullah", "Abdallah"),
        ("Mohamed", "Muhammad", "Mohammed"),
        ("Ivanov", "Ivanoff"),
        ("Tchaikovsky", "Chaykovsky"),
        ("Kuznetsov", "Kouznetsov"),
        ("Yevtushenko", "Evtushenko"),
        ("Kaminsky", "Kamiński", "Kaminskiy"),
        ("Al-Masri", "El Masri", "Elmasry", "almasri"),
        ("Nguyễn", "Nguyen"),
        ("Đặng", "Dang"),
        ("Trần", "TRAN"),
    ],
)
def test_a_surname_spelling_family_shares_a_group(family):
    shared = frozenset.intersection(*(surname_groups(name) for name in family))
    assert shared, {name: surname_groups(name) for name in family}


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Huang", "Wang"),
        ("Tsui", "Hui"),
        ("Wu", "Huang"),
        ("Ivanov", "Ivanova"),
        ("Huỳnh", "Hoàng"),
        ("Võ", "Vũ"),
        ("Phạm", "Phan"),
        ("Nguyen", "Ngyuen"),
        ("Kaminsky", "Kaminskaya"),
    ],
)
def test_different_surnames_never_meet(one, other):
    assert not surname_groups(one) & surname_groups(other)


def test_an_ambiguous_romanisation_belongs_to_each_of_its_surnames():
    assert surname_groups("Wong") == {"huang", "wang"}
    assert surname_groups("Ng") == {"huang", "wu"}


# --- The files -----------------------------------------------------------------------------


def _rows(file_name: str) -> list[tuple[int, list[str]]]:
    path = namedata.DATA_DIR / file_name
    rows = []
    header = None
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = next(csv.reader([line]))
        if header is None:
            header = fields
            continue
        rows.append((line_no, fields))
    assert header == ["group", "name", "language", "kind"]
    return rows


@pytest.mark.parametrize("file_name", DATA_FILES)
def test_the_files_are_well_formed(file_name):
    text = (namedata.DATA_DIR / file_name).read_text(encoding="utf-8")
    assert re.search(r"^# version: \d{4}\.\d{1,2}\.\d+$", text, re.MULTILINE)
    rows = _rows(file_name)
    assert len(rows) > 100
    # One row per spelling in a group; ñ counts (Toni and Toñi are two rows of Antonia).
    pairs = Counter((group, normalise(name, keep_enye=True)) for _, (group, name, _, _) in rows)
    assert [pair for pair, count in pairs.items() if count > 1] == []
    canonical = defaultdict(list)
    for _, (group, name, _, kind) in rows:
        assert re.fullmatch(r"[a-z]+( [a-z]+)*", group)
        canonical[group] += [name] if kind == "canonical" else []
    assert {group: names for group, names in canonical.items() if len(names) != 1} == {}
    assert all(normalise(names[0]) == group for group, names in canonical.items())


def test_a_form_written_with_n_tilde_is_looked_up_as_written():
    assert given_name_groups("Toñi") == {"antonia"}  # not Antonio's Toni
    assert given_name_groups("Toni") == {"antonio", "antonia"}
    assert given_name_groups("Tono") == given_name_groups("Toño") == {"antonio"}


def test_the_data_version_names_both_files():
    assert re.fullmatch(
        r"given_names \d{4}\.\d{1,2}\.\d+; surnames \d{4}\.\d{1,2}\.\d+", namedata.DATA_VERSION
    )


@pytest.mark.parametrize("file_name", DATA_FILES)
def test_the_local_normaliser_agrees_with_recognition(file_name):
    # Apart from the letters NFKD leaves whole (and the ʿ ʾ of transliteration), which
    # recognition.normalise_name should fold the same way.
    extra = re.compile("[łŁđĐøØıæÆœŒʿʾʻ]")
    names = [name for _, (_, name, _, _) in _rows(file_name) if not extra.search(name)]
    names += ["José-Luis ", "O'Brien", "Ｆｕｌｌ　Ｗｉｄｔｈ", "𝕬𝖑𝖎", "محمد", "张伟"]
    assert {name: normalise(name) for name in names} == {
        name: normalise_name(name) for name in names
    }


# --- Malformed files -----------------------------------------------------------------------

GOOD_GIVEN = "# version: 2099.1.1\ngroup,name,language,kind\nanna,Anna,pl,canonical\n"
GOOD_SURNAMES = "# version: 2099.1.2\ngroup,name,language,kind\nivanov,Ivanov,ru,canonical\n"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(namedata, "DATA_DIR", tmp_path)
    (tmp_path / "given_names.csv").write_text(GOOD_GIVEN, encoding="utf-8")
    (tmp_path / "surnames.csv").write_text(GOOD_SURNAMES, encoding="utf-8")
    return tmp_path


def test_a_data_dir_of_its_own_is_read(data_dir):
    (data_dir / "given_names.csv").write_text(
        GOOD_GIVEN + "# a comment among the rows\nanna,Ania,pl,hypocorism\n\n", encoding="utf-8"
    )
    assert given_name_groups("ania") == {"anna"}
    assert surname_groups("ivanov") == {"ivanov"}
    assert given_name_groups("paco") == frozenset()
    assert namedata.DATA_VERSION == "given_names 2099.1.1; surnames 2099.1.2"


@pytest.mark.parametrize(
    ("file_name", "text", "line", "message"),
    [
        ("given_names.csv", "# version: 1\ngroup,name,kind\n", 2, "header"),
        ("given_names.csv", GOOD_GIVEN + "anna,Ania,pl\n", 4, "expected 4 fields"),
        ("given_names.csv", GOOD_GIVEN + "anna,Ania,pl,hypocorism,x\n", 4, "expected 4 fields"),
        ("given_names.csv", GOOD_GIVEN + "anna,Ania,pl,nickname\n", 4, "kind 'nickname'"),
        ("surnames.csv", GOOD_SURNAMES + "ivanov,Ivanoff,ru,hypocorism\n", 4, "kind"),
        ("given_names.csv", GOOD_GIVEN + "Anna,Ania,pl,hypocorism\n", 4, "group 'Anna'"),
        ("given_names.csv", GOOD_GIVEN + "anna,--,pl,hypocorism\n", 4, "empty"),
        ("given_names.csv", GOOD_GIVEN + "anna,Ania,Polish,hypocorism\n", 4, "language"),
        ("given_names.csv", GOOD_GIVEN + "anna,ANNA,pl,spelling\n", 4, "repeats line 3"),
        ("given_names.csv", GOOD_GIVEN + "ola,Ola,pl,hypocorism\n", 4, "0 canonical rows"),
        ("given_names.csv", GOOD_GIVEN + "anna,Anka,pl,canonical\n", 3, "2 canonical rows"),
        ("given_names.csv", GOOD_GIVEN + "ola,Aleksandra,pl,canonical\n", 4, "not 'ola'"),
        ("surnames.csv", "group,name,language,kind\nivanov,Ivanov,ru,canonical\n", 1, "version"),
        ("surnames.csv", "# version: 1\n# only comments\n", 2, "no header"),
    ],
)
def test_a_malformed_file_is_refused_naming_file_and_line(data_dir, file_name, text, line, message):
    (data_dir / file_name).write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        given_name_groups("anna")
    assert f"{data_dir / file_name}, line {line}:" in str(refused.value)


def test_a_missing_file_is_refused(data_dir):
    (data_dir / "surnames.csv").unlink()
    with pytest.raises(ValueError, match="surnames.csv"):
        surname_groups("ivanov")


def test_the_shipped_data_dir_is_beside_the_module():
    assert Path(namedata.__file__).with_name("names") == namedata.DATA_DIR
    assert {path.name for path in namedata.DATA_DIR.iterdir()} >= {*DATA_FILES, "README.md"}
