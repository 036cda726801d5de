"""What the API reads and writes. Input types are strict about shape (lengths, ranges, no NUL or
lone surrogates, aware datetimes), so that bad input is a 422 naming the field, never a 500;
the business rules themselves stay in the forms and services the web uses."""

import datetime as dt
from typing import Annotated, Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator, AwareDatetime, StrictBool, StrictInt

from visitors import dashboard
from visitors.followups.models import AppointmentState
from visitors.messaging.models import ReminderKind, ReminderState
from visitors.offices.models import Language
from visitors.people.models import PriorityCategory
from visitors.visits.lifecycle import Action, Outcome, Stage, Status
from visitors.visits.models import RequestState, Source

MAX_ID = 2**63 - 1
FIRST_DAY, LAST_DAY = dashboard.FIRST_DAY, dashboard.LAST_DAY


def _plain_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def Text(max_length: int, **kwargs):  # noqa: N802 - a type, read as one
    return Annotated[str, Field(max_length=max_length, **kwargs), AfterValidator(_plain_text)]


Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
Day = Annotated[dt.date, Field(ge=FIRST_DAY, le=LAST_DAY)]


def _not_too_far(value: dt.datetime) -> dt.datetime:
    if value > timezone.now() + dt.timedelta(days=2 * 366):
        raise ValueError("must be within the next two years")
    if value.year < FIRST_DAY.year:
        raise ValueError("must be after 2000")
    return value


When = Annotated[AwareDatetime, AfterValidator(_not_too_far)]

StatusName = Literal[tuple(Status.values)]
SourceName = Literal[tuple(Source.values)]
OutcomeName = Literal[tuple(Outcome.values)]
LanguageName = Literal[tuple(Language.values)]
PriorityName = Literal[tuple(PriorityCategory.values)]
ActionName = Literal[tuple(Action.values)]
StageName = Literal[tuple(Stage.values)]


# --- Pages -------------------------------------------------------------------------------------


class PageMeta(Schema):
    count: int
    next: str | None
    previous: str | None


# --- Offices -----------------------------------------------------------------------------------


class OfficeOut(Schema):
    slug: str
    name: str
    time_zone: str
    role: str = Field(description="The token maker's role at this office.")
    today: dt.date = Field(description="The office's local date now.")


class TokenOut(Schema):
    name: str
    prefix: str
    scope: Literal["read", "write"]
    offices: list[OfficeOut]


# --- Visits ------------------------------------------------------------------------------------


class ReasonOut(Schema):
    id: int
    label_en: str
    label_es: str


class WaitOut(Schema):
    ahead: int
    low_minutes: int
    high_minutes: int


class VisitOut(Schema):
    id: int
    ticket_code: str
    status: StatusName
    source: SourceName
    service_date: dt.date
    visitor_id: int
    priority: int
    served_ahead: bool
    identity_flag: str
    reasons: list[ReasonOut]
    reason_other: str
    checked_in_at: dt.datetime
    called_at: dt.datetime | None
    desk: str
    service_started_at: dt.datetime | None
    ended_at: dt.datetime | None
    outcome: OutcomeName | None
    allowed_actions: list[ActionName]


class QueuedVisitOut(VisitOut):
    position: int | None = Field(description="1 for the next to be called; null if not waiting.")
    wait: WaitOut | None


class StageOut(Schema):
    stage: StageName
    done: bool
    at: dt.datetime | None
    by: str | None = Field(description="User name of who recorded it.")


class ServiceGivenOut(Schema):
    reporting_code: str
    name: str
    staff_assisted: bool


class ReferralOut(Schema):
    partner_id: int
    partner: str
    note: str


class VisitDetailOut(VisitOut):
    stages: list[StageOut]
    visitor_words: str
    job_leads: str
    barriers: list[str]
    notes: str
    note_for_next_time: str
    rating: int | None
    services: list[ServiceGivenOut]
    referrals: list[ReferralOut]


class VisitPage(PageMeta):
    results: list[VisitOut]


class QueueOut(Schema):
    version: int = Field(description="Moves on every change to the office's queue.")
    day: dt.date
    waiting: list[QueuedVisitOut] = Field(description="In the order they will be called.")
    serving: list[VisitOut]


class CallNextIn(Schema):
    desk: Text(40) = ""


class CallNextOut(Schema):
    visit: VisitOut | None = Field(description="Who was called; null when nobody is waiting.")


class CheckInIn(Schema):
    """A returning visitor by ``visitor_id``, or a new one by name."""

    visitor_id: Id | None = None
    first_name: Text(200) = ""
    last_name: Text(200) = ""
    preferred_name: Text(200) = ""
    language: LanguageName = "en"
    reason_ids: list[Id] = Field(default_factory=list, max_length=50)
    reason_other: Text(400) = ""
    phone: Text(64) = ""
    email: Text(320) = ""
    notify_when_called: StrictBool = False
    notify_when_ahead: Annotated[StrictInt, Field(ge=1, le=10)] | None = None
    consent_reminders: StrictBool = False
    priority_category: PriorityName = "none"
    idempotency_key: Text(40, pattern=r"^[A-Za-z0-9_.:-]*$") = Field(
        "", description="Repeat a request with the same key to get the same visit back."
    )


class DeterminingIn(Schema):
    reason_ids: list[Id] = Field(default_factory=list, max_length=50)
    visitor_words: Text(4000) = ""


class RespondingIn(Schema):
    service_ids: list[Id] = Field(default_factory=list, max_length=50)
    partner_ids: list[Id] = Field(default_factory=list, max_length=50)
    job_leads: Text(4000) = ""
    barriers: list[Text(40)] = Field(default_factory=list, max_length=10)


class ConcludingIn(Schema):
    outcome: OutcomeName
    notes: Text(8000) = ""
    still_open: Text(600) = Field("", description="A need still open: follows the visitor.")
    text_congratulations: bool = Field(
        False, description="With outcome hired: text (or email) them the office's congratulations."
    )


class FutureReferenceIn(Schema):
    appointment_at: When | None = None
    appointment_purpose: Text(400) = ""
    workshop_id: Id | None = None
    follow_up_on: Day | None = None
    follow_up_note: Text(600) = ""
    note_for_next_time: Text(2000) = ""


# --- Visitors ----------------------------------------------------------------------------------


class VisitorOut(Schema):
    id: int
    first_name: str
    last_name: str
    preferred_name: str
    display_name: str
    phone: str
    email: str
    birth_date: dt.date | None
    preferred_language: LanguageName
    consent_sms: bool
    consent_email: bool
    priority_category: PriorityName
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    merged_into_id: int | None
    anonymised: bool


class VisitorFoundOut(VisitorOut):
    score: float
    last_visit_at: dt.datetime | None
    open_requests: int = Field(description="Open requests at this office.")


class VisitorSearchPage(PageMeta):
    results: list[VisitorFoundOut]


class VisitorIn(Schema):
    first_name: Text(200)
    last_name: Text(200)
    preferred_name: Text(200) = ""
    phone: Text(64) = ""
    email: Text(320) = ""
    birth_date: Annotated[dt.date, Field(ge=dt.date(1900, 1, 1), le=LAST_DAY)] | None = None
    preferred_language: LanguageName = "en"
    consent_sms: StrictBool = False
    consent_email: StrictBool = False
    priority_category: PriorityName = "none"


class MatchIn(Schema):
    first_name: Text(200)
    last_name: Text(200)
    phone_last4: Text(4, pattern=r"^(\d{4})?$") = ""
    birth_month: Annotated[StrictInt, Field(ge=1, le=12)] | None = None
    birth_day: Annotated[StrictInt, Field(ge=1, le=31)] | None = None


class MatchOut(Schema):
    result: Literal["confirmed", "several", "none"] = Field(
        description="confirmed: exactly one record matches name and second factor (the only "
        "case the kiosk greets by name); several: more than one; none: no confirmed record."
    )
    visitor: VisitorOut | None
    ask: Literal["phone_last4", "birth_month_day"] | None = Field(
        default=None,
        description="When several: the factor not given yet that tells them apart — send the "
        "match again with it as well (the kiosk asks it). Null when none can: continue as a new "
        "visitor and flag the visit for the desk.",
    )


class MergeIn(Schema):
    keep_id: Id
    merge_id: Id


class MergeOut(Schema):
    kept: VisitorOut
    merged_visitor_id: int
    moved: dict[str, int]


# --- Open requests, appointments, reminders ------------------------------------------------------


class OpenRequestOut(Schema):
    id: int
    visitor_id: int
    raised_on_visit_id: int
    description: str
    state: Literal[tuple(RequestState.values)]
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: str


class OpenRequestPage(PageMeta):
    results: list[OpenRequestOut]


class ResolveIn(Schema):
    resolution: Text(2000)


class AppointmentOut(Schema):
    id: int
    visitor_id: int
    staff: str | None
    starts_at: dt.datetime
    duration_minutes: int
    purpose: str
    state: Literal[tuple(AppointmentState.values)]
    booked_on_visit_id: int | None


class AppointmentPage(PageMeta):
    results: list[AppointmentOut]


class ReminderOut(Schema):
    id: int
    kind: Literal[tuple(ReminderKind.values)]
    channel: str
    state: Literal[tuple(ReminderState.values)]
    due_at: dt.datetime
    sent_at: dt.datetime | None
    attempts: int
    last_error: str
    visitor_id: int | None
    visit_id: int | None
    appointment_id: int | None


class ReminderPage(PageMeta):
    results: list[ReminderOut]


# --- Dashboard ---------------------------------------------------------------------------------


class DurationOut(Schema):
    n: int
    median: float | None = Field(description="Minutes.")
    p90: float | None
    max: float | None
    mean: float | None


class HeadlineOut(Schema):
    visits: int
    visitors: int = Field(description="Unduplicated.")
    new_visitors: int
    returning_visitors: int
    waiting: int
    longest_wait_now: int | None = Field(description="Minutes.")
    served: int
    walked_away: int
    no_shows: int
    called: int
    over_target: int
    over_target_share: float | None
    quoted: int
    within_quote: int = Field(description="Called within the range quoted at check-in.")
    within_quote_share: float | None
    longer_than_quoted: int
    shorter_than_quoted: int = Field(description="Called sooner than the range quoted.")
    no_longer_than_quoted_share: float | None = Field(
        description="Share of quoted visits called within or sooner than the range (%)."
    )
    covered: int = Field(description="Covered veterans and eligible spouses.")
    covered_served_ahead: int
    remote_joins: int = Field(description="Joined the line from a phone.")
    remote_arrived: int = Field(description="Of those, arrived (said 'I'm here' or marked).")
    remote_released: int = Field(description="Called while on the way, not here in time.")
    rated: int
    rating: float | None


class HourOut(Schema):
    hour: int
    arrivals: int
    usual: float = Field(description="Average of the same weekday over the 4 weeks before.")


class ReasonFiguresOut(Schema):
    reason: str | None
    visits: int
    wait: DurationOut | None
    service: DurationOut | None


class OutcomeCountOut(Schema):
    outcome: OutcomeName
    label: str
    count: int


class OpenRequestsFiguresOut(Schema):
    count: int
    oldest: dt.datetime | None


class ReferralCountOut(Schema):
    partner: str
    referrals: int
    people: int


class ServiceCountOut(Schema):
    reporting_code: str
    name: str
    staff_assisted: bool
    count: int


class ReminderCountsOut(Schema):
    sent: int
    failed: int
    pending: int
    cancelled: int


class StaffCountOut(Schema):
    username: str
    first_name: str
    last_name: str
    seen: int
    served: int


class DayOut(Schema):
    office: str
    day: dt.date
    is_today: bool
    headline: HeadlineOut
    hours: list[HourOut]
    waits: DurationOut
    service: DurationOut
    by_reason: list[ReasonFiguresOut]
    outcomes: list[OutcomeCountOut]
    open_requests: OpenRequestsFiguresOut
    referrals: list[ReferralCountOut]
    services: list[ServiceCountOut]
    reminders: ReminderCountsOut
    appointments: dict[str, int]
    bookings: dict[str, int] = Field(
        description='Appointments booked with "Book a time" in the days, by state, and "total".'
    )
    staff: list[StaffCountOut]


class DailyOut(Schema):
    day: dt.date
    visits: int
    visitors: int
    walked_away: int
    no_shows: int
    served: int
    referred: int
    follow_up: int
    hired: int
    median_wait: float | None
    p90_wait: float | None
    rating: float | None


class HeatCellOut(Schema):
    weekday: int = Field(description="ISO weekday, 1 = Monday.")
    hour: int
    arrivals: int
    mean_wait: float | None


class EOCountOut(Schema):
    answer: str
    count: int | Literal["<5"]


class RangeOut(Schema):
    office: str
    start: dt.date
    end: dt.date
    totals: dict[str, int]
    daily: list[DailyOut]
    heatmap: list[HeatCellOut]
    reminders: ReminderCountsOut
    appointments: dict[str, int]
    bookings: dict[str, int] = Field(
        description='Appointments booked with "Book a time" in the days, by state, and "total".'
    )
    equal_opportunity: dict[str, list[EOCountOut]] | None = Field(
        description='Counts only, and only for tokens whose maker may see them; under 5 is "<5".'
    )
