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

import jellyfish
from nicknames import NickNamer
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_.,'’`´\"/()]+")

# Scores are 0..1. Candidates below CANDIDATE_MIN are not shown; CONFIRM_MIN is what a name must
# reach, with the second factor, to be greeted as that person. Tuned on tests/recognition/.
CANDIDATE_MIN = 0.72
CONFIRM_MIN = 0.80
PART_MIN = 0.75  # each of first and last must be at least this alike to confirm
NICKNAME_SCORE = 0.95
PART_PENALTY = 0.96  # one name given where the record has several parts (García ↔ García López)
PARTICLE_PENALTY = 0.98  # a surname's particles given on one side only (Cruz ↔ De La Cruz)
SWAP_PENALTY = 0.97  # first and last typed the other way round
CANDIDATE_POOL = 40  # visitors fetched by key overlap before scoring


# Letters NFKD leaves whole (no combining mark to strip), folded to what people type instead.
_FOLD = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "þ": "th", "ı": "i",
                       "ð": "d", "ħ": "h", "ŧ": "t"})  # fmt: skip


def normalise_name(name: str) -> str:
    """Fold case, strip accents and collapse punctuation so "José-Luis " keys as "jose luis".

    Letters in scripts without a decomposed Latin form (CJK, Arabic, …) are kept as they are,
    so the key is never empty for a non-empty name.
    """
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


@lru_cache(maxsize=4096)
def first_name_forms(first_key: str) -> frozenset[str]:
    """The forms a first name is known by: its parts, joined, and their nickname canonicals."""
    parts = first_key.split()
    forms = set(parts)
    if len(parts) > 1:
        forms.add("".join(parts))
    namer = _nicknamer()
    for part in parts:
        forms |= {normalise_name(c) for c in namer.canonicals_of(part)}
    return frozenset(f for f in forms if f)


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


def _parts_similarity(query: str, stored: str) -> float:
    """Whole names compared, or each part of the shorter name to its best partner in the longer
    (so "Garcia" meets "Garcia Lopez", but "Thi Hoa" does not meet "Van Thanh")."""
    if not query or not stored:
        return 0.0
    whole = similarity(query.replace(" ", ""), stored.replace(" ", ""))
    shorter, longer = sorted((query.split(), stored.split()), key=len)
    aligned = sum(max(similarity(a, b) for b in longer) for a in shorter) / len(shorter)
    if len(shorter) != len(longer):
        aligned *= PART_PENALTY
    return max(whole, aligned)


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
    by_words = _parts_similarity(" ".join(q_core), " ".join(s_core))
    if q_core != q_words or s_core != s_words:
        by_words *= PARTICLE_PENALTY  # "Cruz" for "De La Cruz": likely, but not the same
    score = max(by_words, _glued_similarity(q_words, s_words))
    if len(q_core) > 1 and len(s_core) > 1:
        shorter, longer = sorted((q_core, s_core), key=len)
        weakest = min(max(similarity(a, b) for b in longer) for a in shorter)
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


def _first_similarity(query: str, stored: str) -> float:
    if not query or not stored:
        return 0.0
    nickname = NICKNAME_SCORE if first_name_forms(query) & first_name_forms(stored) else 0.0
    return max(_parts_similarity(query, stored), nickname)


@dataclass(frozen=True)
class NameLikeness:
    score: float  # the two parts together
    given: float  # first name (or preferred name)
    family: float  # last name


def name_likeness(
    query_first: str, query_last: str, first: str, last: str, preferred: str = ""
) -> NameLikeness:
    """How alike a typed name is to a stored one, 0..1, allowing for swapped order."""
    qf, ql = normalise_name(query_first), normalise_name(query_last)
    sf, sl, sp = normalise_name(first), normalise_name(last), normalise_name(preferred)

    def one_way(given: str, family: str, weight: float) -> NameLikeness:
        given_score = max(_first_similarity(given, sf), _first_similarity(given, sp) if sp else 0)
        family_score = _family_similarity(family, sl)
        score = (0.5 * given_score + 0.5 * family_score) * weight
        return NameLikeness(score, given_score * weight, family_score * weight)

    return max(one_way(qf, ql, 1.0), one_way(ql, qf, SWAP_PENALTY), key=lambda n: n.score)


def name_score(
    query_first: str, query_last: str, first: str, last: str, preferred: str = ""
) -> float:
    return name_likeness(query_first, query_last, first, last, preferred).score
