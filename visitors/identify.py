"""Who is this? The one rule the kiosk, the API's match and ``match_visitor`` share.

A typed name and what the person answered (the last 4 phone digits, a birth month and day, or
both) identify a stored visitor only when exactly one record fits both the name and every answer
given. When several fit, nobody is guessed: the caller asks for the factor not given yet — when
it can tell the records that fit apart — and asks it with the same words as always; if that still
leaves several (or the records cannot be told apart by it), the visit goes on as new, flagged for
the desk to sort out. Which records fit is counted over everyone sharing a name key and the
answer (``selectors.visitor_match``), not only a shortlist ranked by name.
"""

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from visitors.people.models import Visitor
from visitors.selectors import Candidate, visitor_match


class Factor(StrEnum):
    """The second factors, named as an office's ``second_factor`` names them."""

    PHONE_LAST4 = "phone_last4"
    BIRTH_MONTH_DAY = "birth_month_day"


@dataclass(frozen=True)
class Answer:
    """What the person at the kiosk said about themselves, beyond their name."""

    phone_last4: str = ""
    birth_month_day: tuple[int, int] | None = None

    @classmethod
    def of(
        cls, *, phone_last4: str = "", birth_month: int | None = None, birth_day: int | None = None
    ) -> "Answer":
        month_day = (birth_month, birth_day) if birth_month and birth_day else None
        return cls(phone_last4=phone_last4 or "", birth_month_day=month_day)

    @classmethod
    def from_birth_date(cls, *, phone_last4: str = "", birth_date: dt.date | None) -> "Answer":
        month_day = (birth_date.month, birth_date.day) if birth_date else None
        return cls(phone_last4=phone_last4 or "", birth_month_day=month_day)

    def given(self) -> set[Factor]:
        factors = set()
        if self.phone_last4:
            factors.add(Factor.PHONE_LAST4)
        if self.birth_month_day:
            factors.add(Factor.BIRTH_MONTH_DAY)
        return factors

    def and_(self, other: "Answer") -> "Answer":
        """Both answers together (a later one wins a factor given twice)."""
        return Answer(
            phone_last4=other.phone_last4 or self.phone_last4,
            birth_month_day=other.birth_month_day or self.birth_month_day,
        )

    def as_data(self) -> dict:
        """For a kiosk flow's stored data (JSON)."""
        return {"phone_last4": self.phone_last4, "birth_month_day": self.birth_month_day}

    @classmethod
    def from_data(cls, data: dict | None) -> "Answer":
        data = data or {}
        month_day = data.get("birth_month_day")
        return cls(
            phone_last4=data.get("phone_last4") or "",
            birth_month_day=tuple(month_day) if month_day else None,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class Identification:
    result: Literal["confirmed", "several", "none"]
    visitor: Visitor | None  # the one identified, when confirmed
    ask: Factor | None  # when several fit: the factor to ask next, if it can tell them apart
    candidates: list[Candidate]  # ranked by name; ``confirmed`` marks each that fits

    @property
    def fitting(self) -> list[Visitor]:
        return [c.visitor for c in self.candidates if c.confirmed]


def _value(visitor: Visitor, factor: Factor):
    if factor == Factor.PHONE_LAST4:
        return visitor.phone_last4 or None
    birth = visitor.birth_date
    return (birth.month, birth.day) if birth else None


def factor_to_ask(fitting: list[Visitor], answer: Answer) -> Factor | None:
    """The factor not given yet that tells the fitting records apart: some of them have it, and
    not all the same. None when no answer could single one out."""
    for factor in (Factor.BIRTH_MONTH_DAY, Factor.PHONE_LAST4):
        if factor in answer.given():
            continue
        values = {_value(visitor, factor) for visitor in fitting}
        if len(values - {None}) >= 1 and len(values) > 1:
            return factor
    return None


def identify(*, first_name: str, last_name: str, answer: Answer, limit: int = 10) -> Identification:
    """Rank the stored visitors the name may be, and say who (if anyone) this person is."""
    candidates = visitor_match(
        first_name=first_name,
        last_name=last_name,
        phone_last4=answer.phone_last4,
        birth_month_day=answer.birth_month_day,
        limit=limit,
    )
    fitting = [c.visitor for c in candidates if c.confirmed]
    if len(fitting) == 1:
        return Identification("confirmed", fitting[0], None, candidates)
    if fitting:
        return Identification("several", None, factor_to_ask(fitting, answer), candidates)
    return Identification("none", None, None, candidates)
