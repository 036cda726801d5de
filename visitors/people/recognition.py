"""Recognising returning visitors by name: normalisation, blocking keys, scoring, confirmation.

How a kiosk query finds a person among hundreds of thousands without scanning them:

1. Every visitor stores a handful of *blocking keys* (``VisitorNameKey`` rows, indexed) built from
   the normalised names: each surname token and its phonetic code, paired with the initials of
   the first name's forms; each first-name form (the name and its nickname canonicals from the
   ``nicknames`` data, so Bill and William share "william"), paired with the surname's initials,
   which finds a mistyped surname. Compound and hyphenated surnames give a key per part.
   (A phonetic key of the first name was tried and dropped: it doubled the rows a query reads
   on PostgreSQL for one more variant found in the labelled set.)
2. A query builds the same keys for both name orders (so first and last typed swapped still meet)
   and fetches the visitors sharing most keys, in one indexed query.
3. Those few candidates are scored in Python with rapidfuzz (Jaro-Winkler and Indel similarity,
   best token for compound names, nickname equivalence, a small penalty for swapped order).
4. A candidate is *confirmed* only when the office's second factor matches as well.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import takewhile
from pathlib import Path

import jellyfish
from nicknames import NickNamer
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from visitors.people import namedata

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_.,'’`´\"/()ʿʾʻ]+")

# Scores are 0..1. Candidates below CANDIDATE_MIN are not shown; CONFIRM_MIN is what a name must
# reach, with the second factor, to be greeted as that person. Tuned on tests/recognition/.
CANDIDATE_MIN = 0.72
CONFIRM_MIN = 0.80
PART_MIN = 0.75  # each of first and last must be at least this alike to confirm
NICKNAME_SCORE = 0.95
PART_PENALTY = 0.96  # one name given where the record has several parts (García ↔ García López)
PARTICLE_PENALTY = 0.98  # a surname's particles given on one side only (Cruz ↔ De La Cruz)
SWAP_PENALTY = 0.97  # first and last typed the other way round
DIFFERENT_NAME_SCORE = 0.70  # two real given names (Mark/Mary): below PART_MIN, never confirmed
CANDIDATE_POOL = 40  # visitors fetched by key overlap before scoring


# Letters NFKD leaves whole (no combining mark to strip), folded to what people type instead.
_FOLD = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "þ": "th", "ı": "i",
                       "ð": "d", "ħ": "h", "ŧ": "t"})  # fmt: skip


# Scoring compares the query's name with each candidate's, over and over: ~200 calls per lookup.
@lru_cache(maxsize=8192)
def normalise_name(name: str, *, keep_enye: bool = False) -> str:
    """Fold case, strip accents and collapse punctuation so "José-Luis " keys as "jose luis".

    Letters in scripts without a decomposed Latin form (CJK, Arabic, …) are kept as they are,
    so the key is never empty for a non-empty name. With ``keep_enye`` ñ stays ñ, for the name
    data only (Toñi is Antonia; Toni may be Antonio): everything else compares "n".
    """
    if keep_enye:
        pieces = unicodedata.normalize("NFC", name).casefold().split("ñ")
        if len(pieces) > 1:
            return "ñ".join(normalise_name(piece) for piece in pieces).strip()
    # Compatibility-decompose before and after folding case: "𝕬" only becomes "A" (then "a")
    # once decomposed, and folding can produce characters that decompose further.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", name).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_FOLD)
    return _SEPARATORS.sub(" ", stripped).strip()


def phone_digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


@lru_cache(maxsize=1)
def _nicknamer() -> NickNamer:
    return NickNamer()


def _fold(key: str) -> str:
    """A key normalised with ``keep_enye``, folded the rest of the way."""
    return key.replace("ñ", "n")


@lru_cache(maxsize=4096)
def first_name_forms(first_key: str) -> frozenset[str]:
    """The forms a first name is known by: its parts, joined, their nickname canonicals (the
    ``nicknames`` package, English) and the given names they are forms of in
    names/given_names.csv (Spanish, Portuguese, Polish, Russian, Arabic, …; transliterations).
    A key may keep ñ (Toñi); the forms never do."""
    parts = first_key.split()
    forms = {_fold(part) for part in parts}
    if len(parts) > 1:
        forms.add(_fold("".join(parts)))
    forms |= _english_canonicals(_fold(first_key))
    for part in parts:
        forms |= namedata.given_name_groups(part)
    forms |= namedata.given_name_groups(first_key)  # whole and joined: "jose maria", "abdel rahman"
    return frozenset(f for f in forms if f)


@lru_cache(maxsize=4096)
def _english_canonicals(first_key: str) -> frozenset[str]:
    namer = _nicknamer()
    return frozenset(
        normalise_name(c) for part in first_key.split() for c in namer.canonicals_of(part)
    )


# Surname particles and prefixes: written apart, joined or left out ("De La Cruz", "Delacruz",
# "Cruz"; "O'Brien", "OBrien"; "Mc Donald", "McDonald"; "García y López"). Never a key alone.
PARTICLES = frozenset({
    "de", "del", "della", "dela", "la", "las", "los", "le", "les", "lo", "da", "das", "do", "dos",
    "di", "du", "van", "von", "der", "den", "ter", "ten", "y", "e", "mc", "mac", "o", "d", "al",
    "el", "bin", "ben", "ibn", "saint", "sainte", "san", "santa",
})  # fmt: skip
_CONJUNCTIONS = frozenset({"y", "e"})
# Spellings of one particle, read as one ("St. John" and "Saint John").
_PARTICLE_ALIASES = {"st": "saint", "ste": "sainte", "sta": "santa", "m": "mc"}


def surname_tokens(last_key: str) -> list[str]:
    """The surname's words, with abbreviated particles spelt out ("st john" → saint, john)."""
    return [_PARTICLE_ALIASES.get(token, token) for token in last_key.split()]


def _surname_parts(last_key: str) -> set[str]:
    """The forms a surname is looked up by: each word that is not a particle, each word with
    the particles before it joined on ("delacruz", "mcdonald", "obrien", "saintjohn"), and the
    whole surname joined ("garcialopez"), so any of two surnames, and any spacing, meet."""
    tokens = surname_tokens(last_key)
    if all(token in PARTICLES for token in tokens):
        # A surname that is all particle words (Le, Do, Da, El) is itself.
        return {"".join(tokens)} | set(tokens)
    parts: set[str] = set()
    pending = ""
    for token in tokens:
        if token not in PARTICLES:
            parts |= namedata.surname_groups(token)  # Hsu and Xu meet, Yi and Lee
        if token in _CONJUNCTIONS:  # "García y López": two surnames, nothing joined
            continue
        if token in PARTICLES:
            pending += token
            continue
        parts.add(token)
        if pending:
            parts.add(pending + token)
            pending = ""
    if len(tokens) > 1:
        parts.add("".join(t for t in tokens if t not in _CONJUNCTIONS))
    return parts


@lru_cache(maxsize=8192)
def _phonetic(token: str) -> str:
    return jellyfish.metaphone(token) or token


def _keys_one_way(first_key: str, last_key: str) -> set[str]:
    if not first_key or not last_key:
        return set()
    forms = first_name_forms(first_key)
    initials = {form[0] for form in forms}
    parts = _surname_parts(last_key)
    surname_initials = {part[0] for part in parts}
    keys = set()
    for part in parts:
        for initial in initials:
            keys.add(f"N:{part}|{initial}")
            keys.add(f"P:{_phonetic(part)}|{initial}")
    for form in forms:
        for initial in surname_initials:
            keys.add(f"F:{form}|{initial}")
    return {key[:64] for key in keys}


def visitor_keys(first_name: str, last_name: str) -> set[str]:
    """The blocking keys stored for a visitor."""
    return _keys_one_way(normalise_name(first_name), normalise_name(last_name))


def query_keys(first_name: str, last_name: str) -> set[str]:
    """The keys to look up for a query: both name orders, so swapped names still meet."""
    first, last = normalise_name(first_name), normalise_name(last_name)
    return _keys_one_way(first, last) | _keys_one_way(last, first)


# --- Scoring ---------------------------------------------------------------------------------


def similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return max(JaroWinkler.similarity(a, b), fuzz.ratio(a, b) / 100)


def _parts_similarity(query: str, stored: str, alike=similarity) -> float:
    """Whole names compared, or each part of the shorter name to its best partner in the longer
    (so "Garcia" meets "Garcia Lopez", but "Thi Hoa" does not meet "Van Thanh")."""
    if not query or not stored:
        return 0.0
    whole = alike(query.replace(" ", ""), stored.replace(" ", ""))
    shorter, longer = sorted((query.split(), stored.split()), key=len)
    aligned = sum(max(alike(a, b) for b in longer) for a in shorter) / len(shorter)
    if len(shorter) != len(longer):
        aligned *= PART_PENALTY
    return max(whole, aligned)


@lru_cache(maxsize=1)
def known_surnames() -> frozenset[str]:
    """The 30,000 most frequent surnames of the 1990 US census."""
    lines = (NAMES_DIR / "us_census_1990_surnames.txt").read_text(encoding="utf-8")
    return frozenset(line for line in lines.splitlines() if line and not line.startswith("#"))


@lru_cache(maxsize=65536)
def _surname_similarity(a: str, b: str, *, strict: bool = False) -> float:
    """Two surname words alike: spelt alike, or one surname in two romanisations (Hsu/Xu,
    Hussein/Hussain, Yi/Lee: names/surnames.csv). ``strict``, for the second of two surnames
    where the first already agrees: two real surnames a letter apart are two families
    (García Ruiz is not García Cruz)."""
    if a == b:
        return 1.0
    score = similarity(a, b)
    if namedata.surname_groups(a) & namedata.surname_groups(b):
        return max(score, NICKNAME_SCORE)
    known = known_surnames()
    two_real = strict and a in known and b in known
    if two_real and not (_one_name_spelt_two_ways(a, b) or _transposed(a, b)):
        return min(score, DIFFERENT_NAME_SCORE)
    return score


def _core(tokens: list[str]) -> list[str]:
    """The surname's words that are not particles (all of them when every word is one)."""
    return [token for token in tokens if token not in PARTICLES] or tokens


def _family_similarity(query: str, stored: str) -> float:
    """Surnames compared word by word without their particles (so "Cruz" meets "De La Cruz" and
    "De La Rosa" does not ride on "de la"), or, when one side is written as one word, whole
    ("Delacruz", "OBrien"; see _glued_similarity).

    Two surnames on both sides must agree word for word: "García Pérez" is not "García López"
    (one of the two typed alone is; see _parts_similarity)."""
    if not query or not stored:
        return 0.0
    q_words = [t for t in surname_tokens(query) if t not in _CONJUNCTIONS]
    s_words = [t for t in surname_tokens(stored) if t not in _CONJUNCTIONS]
    if "".join(q_words) == "".join(s_words):
        return 1.0
    q_core, s_core = _core(q_words), _core(s_words)
    by_words = _parts_similarity(" ".join(q_core), " ".join(s_core), _surname_similarity)
    if q_core != q_words or s_core != s_words:
        by_words *= PARTICLE_PENALTY  # "Cruz" for "De La Cruz": likely, but not the same
    score = max(by_words, _glued_similarity(q_words, s_words))
    if len(q_core) > 1 and len(s_core) > 1:
        shorter, longer = sorted((q_core, s_core), key=len)
        weakest = min(max(_surname_similarity(a, b, strict=True) for b in longer) for a in shorter)
        score = min(score, weakest)
    return score


def _glued_similarity(a_words: list[str], b_words: list[str]) -> float:
    """A surname written as one word against one whose particles stand apart ("Delacruz" ↔
    "De La Cruz"), either way round: the particles are taken off the front of the one word
    before comparing the rest, so "Vandermeer" does not ride on "van der" to "Van der Berg".
    0 when both or neither have particles apart (the words decide then)."""
    a_apart = len(a_words) > 1 and a_words[0] in PARTICLES
    b_apart = len(b_words) > 1 and b_words[0] in PARTICLES
    if a_apart == b_apart:
        return 0.0
    apart, glued = (a_words, b_words) if a_apart else (b_words, a_words)
    leading = list(takewhile(lambda token: token in PARTICLES, apart))
    prefix, rest, word = "".join(leading), "".join(apart[len(leading) :]), "".join(glued)
    if rest and word.startswith(prefix) and len(word) > len(prefix):
        return similarity(word[len(prefix) :], rest)
    return fuzz.ratio(word, prefix + rest) / 100


# --- Two real names, not a slip of one ----------------------------------------------------------

NAMES_DIR = Path(__file__).with_name("names")


@lru_cache(maxsize=1)
def _census() -> dict[str, frozenset[str]]:
    """Given names of the 1990 US census → the lists they are on ("m", "f" or both)."""
    lines = (NAMES_DIR / "us_census_1990_given_names.csv").read_text(encoding="utf-8")
    sexes: dict[str, set[str]] = {}
    for line in lines.splitlines():
        if not line or line.startswith("#") or line == "name,sex":
            continue
        name, sex = line.split(",")
        sexes.setdefault(name, set()).add(sex)
    return {name: frozenset(found) for name, found in sexes.items()}


@lru_cache(maxsize=1)
def known_given_names() -> frozenset[str]:
    """Given names known to be names in their own right: the 1990 US census lists and every
    name in the nickname data and in names/given_names.csv. Mary is not a slip of Mark, nor Ian
    of Ivan, nor Manolo (Manuel) of Manuela."""
    names = set(_census()) | namedata.known_given_names()
    namer = _nicknamer()
    for name in list(names):
        names |= set(namer.nicknames_of(name)) | set(namer.canonicals_of(name))
    return frozenset(normalise_name(name) for name in names)


def _one_a_man_s_the_other_a_woman_s(a: str, b: str) -> bool:
    """Only on the census's male list, and only on its female list (Emil, Emily)."""
    census = _census()
    return {census.get(a), census.get(b)} == {frozenset("m"), frozenset("f")}


def _gendered_pair(a: str, b: str) -> bool:
    """A man's and a woman's form of one name: Juan/Juana, Samir/Samira, Mario/María,
    Noe/Noa, Ángel/Ángela."""
    shorter, longer = sorted((a, b), key=len)
    if len(shorter) >= 3 and longer == shorter + "a":
        return True
    ends = {a[-1:], b[-1:]}
    return len(a) == len(b) >= 3 and a[:-1] == b[:-1] and ends in ({"o", "a"}, {"e", "a"})


_SOUND_ALIKE = (("ph", "f"), ("v", "f"), ("c", "k"), ("q", "k"), ("z", "s"), ("y", "i"))
_VOWELS = frozenset("aeiou")


def _skeleton(name: str, *, vowels: bool = True) -> str:
    """A name's spelling skeleton: letters that sound alike made one (Stephen/Steven,
    Katherine/Catherine), doubled letters and a silent h dropped (Jon/John, Ana/Anna). Without
    ``vowels``, the vowels after the first letter go too (Latisha/Letisha, Elizbeth)."""
    for spelt, sound in _SOUND_ALIKE:
        name = name.replace(spelt, sound)
    out: list[str] = []
    for i, ch in enumerate(name):
        if i and (ch == "h" or (not vowels and ch in _VOWELS)):
            continue
        if out and ch == out[-1]:
            continue
        out.append(ch)
    return "".join(out)


def _one_name_spelt_two_ways(a: str, b: str) -> bool:
    if _skeleton(a) == _skeleton(b):
        return True
    # A vowel more or less, or another, in a long name is a spelling; in a short one it is
    # another name (Dana/Dina, Tom/Tim, Carol/Carl, Joan/John, Marina/Mariana).
    return min(len(a), len(b)) >= 7 and _skeleton(a, vowels=False) == _skeleton(b, vowels=False)


def _transposed(a: str, b: str) -> bool:
    """Two neighbouring letters swapped (Micheal for Michael): a slip, whatever the census says."""
    if len(a) != len(b):
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]


def _dropped_letter(a: str, b: str) -> bool:
    """A letter left out of a long name (Christoper for Christopher): a slip."""
    shorter, longer = sorted((a, b), key=len)
    if len(shorter) < 7 or len(longer) != len(shorter) + 1:
        return False
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def different_names(a: str, b: str) -> bool:
    """True when two normalised single given names are two real names, not one name mistyped:
    a masculine and feminine pair (Juan/Juana, Mario/María, Samir/Samira), or two names both
    known in their own right that are not one spelling of the other (Mark/Mary, Ivan/Ian)."""
    if a == b or " " in a or " " in b or min(len(a), len(b)) < 2:
        return False
    if _gendered_pair(a, b) or _one_a_man_s_the_other_a_woman_s(a, b):
        return True
    if _transposed(a, b) and (a[-1] == "a") != (b[-1] == "a"):
        return True  # two letters swapped, but the woman's -a with them: Cristian, Cristina
    known = known_given_names()
    if a not in known or b not in known:
        return False
    return not (_one_name_spelt_two_ways(a, b) or _transposed(a, b) or _dropped_letter(a, b))


def _first_similarity(query: str, stored: str) -> float:
    """Given names alike: the same name spelt alike, or one a known form of the other (a
    nickname, a transliteration), but never two real names (Mark/Mary), a man's and a woman's
    form (Juan/Juana), or a nickname of another name (Manolo is Manuel, not Manuela). Keys may
    keep ñ for the name data; similarity compares them folded."""
    if not query or not stored:
        return 0.0
    q, s = _fold(query), _fold(stored)
    score = _parts_similarity(q, s)
    if score == 1.0:
        return score
    if _gendered_pair(q, s):
        return min(score, DIFFERENT_NAME_SCORE)
    shared = first_name_forms(query) & first_name_forms(stored)
    curated = namedata.given_name_groups(query) & first_name_forms(stored) or (
        namedata.given_name_groups(stored) & first_name_forms(query)
    )
    if shared and (curated or not _one_a_man_s_the_other_a_woman_s(q, s)):
        return max(score, NICKNAME_SCORE)
    if different_names(q, s):
        # Ranked by name still (a slip is possible), but never confirmed as that person.
        return min(score, DIFFERENT_NAME_SCORE)
    return score


@dataclass(frozen=True)
class NameLikeness:
    score: float  # the two parts together
    given: float  # first name (or preferred name)
    family: float  # last name


def name_likeness(
    query_first: str, query_last: str, first: str, last: str, preferred: str = ""
) -> NameLikeness:
    """How alike a typed name is to a stored one, 0..1, allowing for swapped order."""
    qf, ql = normalise_name(query_first, keep_enye=True), normalise_name(query_last, keep_enye=True)
    sf, sp = normalise_name(first, keep_enye=True), normalise_name(preferred, keep_enye=True)
    sl = normalise_name(last)

    def one_way(given: str, family: str, weight: float) -> NameLikeness:
        given_score = max(_first_similarity(given, sf), _first_similarity(given, sp) if sp else 0)
        family_score = _family_similarity(_fold(family), sl)
        score = (0.5 * given_score + 0.5 * family_score) * weight
        return NameLikeness(score, given_score * weight, family_score * weight)

    return max(one_way(qf, ql, 1.0), one_way(ql, qf, SWAP_PENALTY), key=lambda n: n.score)


def name_score(
    query_first: str, query_last: str, first: str, last: str, preferred: str = ""
) -> float:
    return name_likeness(query_first, query_last, first, last, preferred).score
