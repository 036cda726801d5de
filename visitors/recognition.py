"""Name normalisation for recognising returning visitors.

This module owns the search keys stored on Visitor. Fuzzy matching builds on them.
"""

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_.,'’`´\"]+")


def normalise_name(name: str) -> str:
    """Fold case, strip accents and collapse punctuation so "José-Luis " keys as "jose luis".

    Letters in scripts without a decomposed Latin form (CJK, Arabic, …) are kept as they are,
    so the key is never empty for a non-empty name.
    """
    # Compatibility-decompose before and after folding case: "𝕬" only becomes "A" (then "a")
    # once decomposed, and folding can produce characters that decompose further.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", name).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SEPARATORS.sub(" ", stripped).strip()


def phone_digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())
