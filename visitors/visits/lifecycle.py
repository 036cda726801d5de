"""The visit's lifecycle: every allowed status change and stage, in one place.

Views and services never compare statuses themselves; they ask this module. Model methods on
Visit use ``STATUS_ACTIONS`` both to give a clear message up front and to build the
compare-and-set ``UPDATE … WHERE status IN (…)`` that lets the database settle races.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    CALLED = "called", _("Called")
    IN_SERVICE = "in_service", _("In service")
    DONE = "done", _("Done")
    LEFT = "left", _("Left before being served")
    NO_SHOW = "no_show", _("No-show")


# Tuples, not sets: their order ends up in migrations and must not depend on hash seeds.
ACTIVE_STATUSES = (Status.WAITING, Status.CALLED, Status.IN_SERVICE)
FINAL_STATUSES = (Status.DONE, Status.LEFT, Status.NO_SHOW)


class Action(models.TextChoices):
    CALL = "call", _("Call")
    RECALL = "recall", _("Call again")
    START_SERVICE = "start_service", _("Start service")
    RETURN_TO_QUEUE = "return_to_queue", _("Put back in line")
    MARK_LEFT = "mark_left", _("Mark as left")
    MARK_NO_SHOW = "mark_no_show", _("Mark as no-show")
    FINISH = "finish", _("Finish visit")
    PLACE_BACK = "place_back", _("Give their place back")


@dataclass(frozen=True)
class Transition:
    sources: frozenset[Status]
    target: Status


STATUS_ACTIONS: dict[Action, Transition] = {
    Action.CALL: Transition(frozenset({Status.WAITING}), Status.CALLED),
    Action.RECALL: Transition(frozenset({Status.CALLED}), Status.CALLED),
    Action.START_SERVICE: Transition(frozenset({Status.CALLED}), Status.IN_SERVICE),
    Action.RETURN_TO_QUEUE: Transition(
        frozenset({Status.CALLED, Status.IN_SERVICE}), Status.WAITING
    ),
    Action.MARK_LEFT: Transition(frozenset({Status.WAITING, Status.CALLED}), Status.LEFT),
    Action.MARK_NO_SHOW: Transition(frozenset({Status.WAITING, Status.CALLED}), Status.NO_SHOW),
    Action.FINISH: Transition(frozenset({Status.IN_SERVICE}), Status.DONE),
    # A slip undone, or a visitor who left or missed their call and came back the same day:
    # back in line where they were (their check-in time and priority keep the place).
    Action.PLACE_BACK: Transition(frozenset({Status.LEFT, Status.NO_SHOW}), Status.WAITING),
}


class Stage(models.TextChoices):
    GREETING = "greeting", _("Greeting")
    DETERMINING = "determining", _("Determining")
    RESPONDING = "responding", _("Responding")
    CONCLUDING = "concluding", _("Concluding")
    FUTURE_REFERENCE = "future_reference", _("Future reference")


STAGE_ORDER: tuple[Stage, ...] = (
    Stage.GREETING,
    Stage.DETERMINING,
    Stage.RESPONDING,
    Stage.CONCLUDING,
    Stage.FUTURE_REFERENCE,
)

# Where each stage's "when" and "who" live on Visit.
STAGE_FIELDS: dict[Stage, tuple[str, str]] = {
    Stage.GREETING: ("greeted_at", "greeted_by"),
    Stage.DETERMINING: ("determined_at", "determined_by"),
    Stage.RESPONDING: ("responded_at", "responded_by"),
    Stage.CONCLUDING: ("concluded_at", "concluded_by"),
    Stage.FUTURE_REFERENCE: ("future_reference_at", "future_reference_by"),
}


class Outcome(models.TextChoices):
    RESOLVED = "resolved", _("Resolved")
    REFERRED = "referred", _("Referred")
    FOLLOW_UP = "follow_up", _("Follow-up needed")
    HIRED = "hired", _("Got hired!")


class TransitionNotAllowed(Exception):
    """The visit is not in a state where this can happen; the message says why."""

    def __init__(self, message: str | Promise, *, current: str | None = None):
        super().__init__(message)
        self.current = current


def check_action(action: Action, status: str) -> Status:
    """Return the status ``action`` leads to from ``status``, or raise TransitionNotAllowed."""
    transition = STATUS_ACTIONS[action]
    if status not in transition.sources:
        raise TransitionNotAllowed(
            _("Cannot %(action)s: this visit is %(status)s.")
            % {"action": str(action.label).lower(), "status": str(Status(status).label).lower()},
            current=status,
        )
    return transition.target


def allowed_actions(status: str) -> list[Action]:
    return [action for action, t in STATUS_ACTIONS.items() if status in t.sources]


def check_stage(stage: Stage, *, status: str, recorded: set[Stage], outcome: str = "") -> None:
    """Raise TransitionNotAllowed unless ``stage`` may be recorded now.

    A stage is recorded while the visitor is with staff (greeting also when just called, which
    starts the service), after the stage before it, and concluding only with an outcome.
    """
    allowed_statuses = {Status.IN_SERVICE}
    if stage == Stage.GREETING:
        allowed_statuses.add(Status.CALLED)
    if status not in allowed_statuses:
        raise TransitionNotAllowed(
            _("Cannot record %(stage)s: this visit is %(status)s.")
            % {"stage": str(stage.label).lower(), "status": str(Status(status).label).lower()},
            current=status,
        )
    if stage in recorded:
        raise TransitionNotAllowed(
            _("%(stage)s was already recorded for this visit; it is recorded once.")
            % {"stage": str(stage.label)},
            current=status,
        )
    index = STAGE_ORDER.index(stage)
    if index > 0 and STAGE_ORDER[index - 1] not in recorded:
        previous = STAGE_ORDER[index - 1]
        raise TransitionNotAllowed(
            _("Record %(previous)s before %(stage)s.")
            % {"previous": str(previous.label).lower(), "stage": str(stage.label).lower()},
            current=status,
        )
    if stage == Stage.CONCLUDING and outcome not in Outcome.values:
        raise TransitionNotAllowed(_("Choose an outcome to conclude the visit."), current=status)


def check_finish(*, status: str, recorded: set[Stage], outcome: str) -> None:
    """A visit is finished only once it has been concluded with an outcome."""
    check_action(Action.FINISH, status)
    if Stage.CONCLUDING not in recorded or not outcome:
        raise TransitionNotAllowed(
            _("Conclude the visit with an outcome before finishing it."), current=status
        )
    if outcome == Outcome.FOLLOW_UP and Stage.FUTURE_REFERENCE not in recorded:
        raise TransitionNotAllowed(
            _("Follow-up needed: record the next step before finishing."), current=status
        )
