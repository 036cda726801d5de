"""Name knowledge kept as data: given-name hypocorisms and spelling families, surname spellings.

The tables live in ``names/`` beside this module (UTF-8 CSV, ``group,name,language,kind``;
README.md there says what each file holds, where it comes from and its version). Every row
says that ``name`` is one form of the name ``group``; a form may belong to several groups
("Beto" is Roberto's and Alberto's), and lookups never chain: "Beto" meets Roberto and
Alberto, but Roberto does not meet Alberto.

Pure Python, no Django: ``recognition`` imports this module, never the other way round.
"""

import csv
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).with_name("names")
GIVEN_NAMES_FILE = "given_names.csv"
SURNAMES_FILE = "surnames.csv"
HEADER = ("group", "name", "language", "kind")
GIVEN_NAME_KINDS = frozenset({"canonical", "hypocorism", "spelling"})
SURNAME_KINDS = frozenset({"canonical", "spelling"})

# Keep in step with recognition.normalise_name: the same separators (plus the modifier letters
# ʿ ʾ of Arabic transliteration, which act like its apostrophes) and the same double NFKD.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_.,'’`´\"/()ʿʾʻ]+")
# Latin letters that NFKD does not decompose, folded as a reader would type them ("ß" already
# becomes "ss" when case is folded).
_UNDECOMPOSED = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "ı": "i", "æ": "ae", "œ": "oe"})
_GROUP = re.compile(r"[a-z]+(?: [a-z]+)*")
_LANGUAGES = re.compile(r"[a-z]{2,3}(?: [a-z]{2,3})*")
_VERSION = re.compile(r"#\s*version:\s*(\S+)\s*$")

_EMPTY: frozenset[str] = frozenset()


@lru_cache(maxsize=65536)  # every lookup normalises again; names repeat (a hot path)
def normalise(name: str, *, keep_enye: bool = False) -> str:
    """Fold a name as recognition.normalise_name does, and fold ł, đ, ø, ı, æ, œ as well.

    "Małgorzata" → "malgorzata", "Đặng" → "dang", "José-Luis " → "jose luis". With
    ``keep_enye``, ñ stays ñ: Toñi (Antonia) is not Toni (Antonio or Antonia).
    """
    if keep_enye:
        folded = unicodedata.normalize("NFC", name).casefold().split("ñ")
        return "ñ".join(normalise(part) for part in folded) if len(folded) > 1 else normalise(name)
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", name).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SEPARATORS.sub(" ", stripped.translate(_UNDECOMPOSED)).strip()


@dataclass(frozen=True)
class _Table:
    version: str
    index: dict[str, frozenset[str]]  # a normalised form, and that form without spaces → groups
    enye: dict[str, frozenset[str]]  # forms written with ñ, kept: "toñi" → antonia only


def _parse(path: Path, kinds: frozenset[str]) -> _Table:
    def fail(line_no: int, message: str) -> ValueError:
        return ValueError(f"{path}, line {line_no}: {message}")

    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot be read as UTF-8 text: {error}") from error

    version = ""
    header_seen = False
    seen: dict[tuple[str, str], int] = {}
    canonical: dict[str, list[tuple[int, str]]] = defaultdict(list)
    first_line: dict[str, int] = {}
    index: dict[str, set[str]] = defaultdict(set)
    enye: dict[str, set[str]] = defaultdict(set)
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if line.lstrip().startswith("#"):
            if match := _VERSION.match(line.strip()):
                if version:
                    raise fail(line_no, "a second version line")
                version = match.group(1)
            continue
        fields = next(csv.reader([line]))
        if not header_seen:
            if tuple(field.strip() for field in fields) != HEADER:
                raise fail(line_no, f"the header must be {','.join(HEADER)}, found {line!r}")
            header_seen = True
            continue
        if len(fields) != len(HEADER):
            raise fail(line_no, f"expected {len(HEADER)} fields, found {len(fields)}: {line!r}")
        group, name, language, kind = (field.strip() for field in fields)
        if not _GROUP.fullmatch(group):
            raise fail(line_no, f"group {group!r} is not lower-case ascii words")
        key = normalise(name)
        if not key:
            raise fail(line_no, f"name {name!r} is empty once normalised")
        if not _LANGUAGES.fullmatch(language):
            raise fail(line_no, f"language {language!r} is not space-separated ISO 639 codes")
        if kind not in kinds:
            raise fail(line_no, f"kind {kind!r} is not one of {', '.join(sorted(kinds))}")
        exact = normalise(name, keep_enye=True)
        if (group, exact) in seen:
            raise fail(line_no, f"{name!r} repeats line {seen[group, exact]} of group {group!r}")
        seen[group, exact] = line_no
        if exact != key:
            enye[exact].add(group)
        first_line.setdefault(group, line_no)
        if kind == "canonical":
            canonical[group].append((line_no, key))
        index[key].add(group)
        index[key.replace(" ", "")].add(group)

    if not header_seen:
        raise fail(len(lines), "no header row")
    if not version:
        raise fail(1, "no '# version: …' comment line")
    for group, line_no in first_line.items():
        rows = canonical.get(group, [])
        if len(rows) != 1:
            raise fail(line_no, f"group {group!r} has {len(rows)} canonical rows, not one")
        canonical_line, key = rows[0]
        if key != group:
            raise fail(canonical_line, f"the canonical name normalises to {key!r}, not {group!r}")
    return _Table(
        version,
        {key: frozenset(groups) for key, groups in index.items()},
        {key: frozenset(groups) for key, groups in enye.items()},
    )


@lru_cache(maxsize=4)
def _tables(directory: Path) -> tuple[_Table, _Table]:
    return (
        _parse(directory / GIVEN_NAMES_FILE, GIVEN_NAME_KINDS),
        _parse(directory / SURNAMES_FILE, SURNAME_KINDS),
    )


def _lookup(table: _Table, name_key: str) -> frozenset[str]:
    exact = normalise(name_key, keep_enye=True)
    if exact in table.enye:  # written with ñ, and the data knows that spelling
        return table.enye[exact]
    key = normalise(name_key)
    if not key:
        return _EMPTY
    found = table.index.get(key, _EMPTY)
    joined = key.replace(" ", "")
    if joined != key:
        found = found | table.index.get(joined, _EMPTY)
    return found


def given_name_groups(name_key: str) -> frozenset[str]:
    """The given names that ``name_key`` is a form of, by their canonical (group) names.

    "paco" → {"francisco"}, "beto" → {"roberto", "alberto", …}, "mohamed" → {"muhammad"},
    "francisco" → {"francisco"}; an unknown name → the empty set. The name is normalised
    here too, and looked up with its spaces removed as well ("jose maria", "josemaria").
    """
    return _lookup(_tables(DATA_DIR)[0], name_key)


def surname_groups(name_key: str) -> frozenset[str]:
    """The surname spelling families that ``name_key`` belongs to: "chan" → {"chen"},
    "wong" → {"huang", "wang"}, "ivanoff" → {"ivanov"}; unknown → the empty set."""
    return _lookup(_tables(DATA_DIR)[1], name_key)


def known_given_names() -> frozenset[str]:
    """Every given name form in the data, normalised (and joined where it has spaces)."""
    return frozenset(_tables(DATA_DIR)[0].index)


def data_version() -> str:
    """The versions of the data files, e.g. "given_names 2026.11.1; surnames 2026.11.1"."""
    given, surnames = _tables(DATA_DIR)
    return f"given_names {given.version}; surnames {surnames.version}"


def __getattr__(name: str) -> str:
    # DATA_VERSION is read from the files on first use, so importing this module reads nothing.
    if name == "DATA_VERSION":
        return data_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
