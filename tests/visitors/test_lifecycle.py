"""The visit's lifecycle: every status × action, and every stage rule, against an explicit table.

The tables below are written out by hand rather than derived from ``visitors.lifecycle`` so that a
change to the rules shows up here as a failing row.
"""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import VisitFactory
from visitors.visits import lifecycle
from visitors.visits.lifecycle import Action, Outcome, Stage, Status, TransitionNotAllowed
from visitors.visits.models import Visit

W, C, S, D, L, N = (
    Status.WAITING,
    Status.CALLED,
    Status.IN_SERVICE,
    Status.DONE,
    Status.LEFT,
    Status.NO_SHOW,
)
NO = None  # refused

# Rows: action; columns: the status it is tried from; cell: the resulting status, or NO.
#                              waiting  called  in_service  done  left  no_show
STATUS_TABLE = {
    Action.CALL:            (C,       NO,     NO,         NO,   NO,   NO),
    Action.RECALL:          (NO,      C,      NO,         NO,   NO,   NO),
    Action.START_SERVICE:   (NO,      S,      NO,         NO,   NO,   NO),
    Action.RETURN_TO_QUEUE: (NO,      W,      W,          NO,   NO,   NO),
    Action.MARK_LEFT:       (L,       L,      NO,         NO,   NO,   NO),
    Action.MARK_NO_SHOW:    (N,       N,      NO,         NO,   NO,   NO),
    Action.FINISH:          (NO,      NO,     D,          NO,   NO,   NO),
    Action.PLACE_BACK:      (NO,      NO,     NO,         NO,   W,    W),
}  # fmt: skip
COLUMNS = (W, C, S, D, L, N)
CASES = [
    pytest.param(action, status, row[i], id=f"{action.value}-from-{status.value}")
    for action, row in STATUS_TABLE.items()
    for i, status in enumerate(COLUMNS)
]


def test_the_table_covers_every_action_and_status():
    """A new action or status must get a row or a column here before anything else."""
    assert set(STATUS_TABLE) == set(Action)
    assert set(COLUMNS) == set(Status)


@pytest.mark.parametrize(("action", "status", "expected"), CASES)
def test_it_allows_exactly_the_tabled_status_changes(action, status, expected):
    """check_action returns the tabled target, or refuses with a message naming the status."""
    if expected is NO:
        with pytest.raises(TransitionNotAllowed) as refused:
            lifecycle.check_action(action, status)
        assert str(Status(status).label).lower() in str(refused.value)
        assert refused.value.current == status
        assert action not in lifecycle.allowed_actions(status)
    else:
        assert lifecycle.check_action(action, status) == expected
        assert action in lifecycle.allowed_actions(status)


def _visit_in(status: Status, staff) -> Visit:
    """A visit that reached ``status`` the way a real one would, with every field that implies."""
    now = timezone.now()
    fields: dict = {"status": status}
    if status in (C, S, D) or status == N:
        fields.update(called_at=now - dt.timedelta(minutes=5), called_by=staff, desk="Desk 1")
    if status in (S, D):
        fields.update(service_started_at=now - dt.timedelta(minutes=4))
    if status == D:
        for stage in lifecycle.STAGE_ORDER:
            at, by = lifecycle.STAGE_FIELDS[stage]
            fields.update({at: now - dt.timedelta(minutes=3), by: staff})
        fields.update(outcome=Outcome.RESOLVED, ended_at=now)
    if status in (L, N):
        fields["ended_at"] = now
    return VisitFactory(**fields)


def _perform(visit: Visit, action: Action, staff) -> None:
    if action == Action.FINISH and visit.status == S:
        # Finishing needs a concluded visit; record the stages first as staff would.
        for stage in lifecycle.STAGE_ORDER:
            visit.record_stage(stage, by=staff, outcome=Outcome.REFERRED)
    {
        Action.CALL: lambda: visit.mark_called(by=staff, desk="Desk 2"),
        Action.RECALL: lambda: visit.recall(by=staff),
        Action.START_SERVICE: lambda: visit.start_service(by=staff),
        Action.RETURN_TO_QUEUE: visit.return_to_queue,
        Action.MARK_LEFT: visit.mark_left,
        Action.MARK_NO_SHOW: visit.mark_no_show,
        Action.FINISH: visit.finish,
        Action.PLACE_BACK: lambda: visit.place_back(by=staff, day=visit.service_date),
    }[action]()


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "status", "expected"), CASES)
def test_it_applies_the_table_to_stored_visits(action, status, expected, counsellor):
    """The model method moves a stored visit as tabled; a refusal leaves the row untouched."""
    visit = _visit_in(status, counsellor)
    before = Visit.objects.filter(pk=visit.pk).values().get()
    if expected is NO:
        with pytest.raises(TransitionNotAllowed):
            _perform(visit, action, counsellor)
        assert Visit.objects.filter(pk=visit.pk).values().get() == before
    else:
        _perform(visit, action, counsellor)
        assert Visit.objects.get(pk=visit.pk).status == expected


@pytest.mark.django_db
def test_it_refuses_a_change_someone_else_already_made(counsellor, clerk):
    """Two screens holding the same waiting visit: the second call is refused, not repeated."""
    visit = VisitFactory()
    stale_copy = Visit.objects.get(pk=visit.pk)
    visit.mark_called(by=clerk, desk="Desk 1")
    with pytest.raises(TransitionNotAllowed, match="has moved on"):
        stale_copy.mark_called(by=counsellor, desk="Desk 9")
    stored = Visit.objects.get(pk=visit.pk)
    assert (stored.called_by, stored.desk) == (clerk, "Desk 1")


@pytest.mark.django_db
def test_it_refuses_a_recall_after_someone_else_called_again(counsellor, clerk):
    """A recall from a stale screen must not overwrite a newer call by someone else."""
    visit = _visit_in(C, clerk)
    stale_copy = Visit.objects.get(pk=visit.pk)
    visit.recall(by=clerk)
    with pytest.raises(TransitionNotAllowed):
        stale_copy.recall(by=counsellor)
    assert Visit.objects.get(pk=visit.pk).called_by == clerk


@pytest.mark.django_db
def test_it_clears_the_call_when_put_back_in_line(counsellor):
    """Back in line means no desk, no caller and no service start left behind."""
    visit = _visit_in(S, counsellor)
    visit.return_to_queue()
    stored = Visit.objects.get(pk=visit.pk)
    assert (stored.status, stored.called_at, stored.called_by, stored.desk) == (W, None, None, "")
    assert stored.service_started_at is None


# --- Stages -------------------------------------------------------------------------------------

G, DT, R, CO, F = lifecycle.STAGE_ORDER
# (stage, status, stages already recorded, outcome given) -> allowed?
STAGE_TABLE = [
    (G, W, set(), "", False),
    (G, C, set(), "", True),
    (G, S, set(), "", True),
    (G, D, set(), "", False),
    (G, L, set(), "", False),
    (G, N, set(), "", False),
    (DT, C, {G}, "", False),
    (DT, S, set(), "", False),
    (DT, S, {G}, "", True),
    (R, S, {G}, "", False),
    (R, S, {G, DT}, "", True),
    (CO, S, {G, DT}, Outcome.RESOLVED, False),
    (CO, S, {G, DT, R}, "", False),
    (CO, S, {G, DT, R}, "maybe", False),
    (CO, S, {G, DT, R}, Outcome.RESOLVED, True),
    (CO, S, {G, DT, R}, Outcome.REFERRED, True),
    (CO, S, {G, DT, R}, Outcome.FOLLOW_UP, True),
    (CO, S, {G, DT, R}, Outcome.HIRED, True),
    (F, S, {G, DT, R}, "", False),
    (F, S, {G, DT, R, CO}, "", True),
    (F, D, {G, DT, R, CO}, "", False),
]


def test_the_stage_table_covers_every_stage():
    assert {row[0] for row in STAGE_TABLE} == set(Stage)


@pytest.mark.parametrize(
    ("stage", "status", "recorded", "outcome", "allowed"),
    STAGE_TABLE,
    ids=[f"{r[0].value}-{r[1].value}-after-{len(r[2])}-{r[3] or 'none'}" for r in STAGE_TABLE],
)
def test_it_allows_exactly_the_tabled_stages(stage, status, recorded, outcome, allowed):
    if allowed:
        lifecycle.check_stage(stage, status=status, recorded=recorded, outcome=outcome)
    else:
        with pytest.raises(TransitionNotAllowed):
            lifecycle.check_stage(stage, status=status, recorded=recorded, outcome=outcome)


@pytest.mark.django_db
def test_it_starts_service_when_a_called_visitor_is_greeted(counsellor):
    """Greeting a called visitor records who greeted and moves the visit into service."""
    visit = _visit_in(C, counsellor)
    visit.record_stage(Stage.GREETING, by=counsellor)
    stored = Visit.objects.get(pk=visit.pk)
    assert stored.status == S
    assert stored.greeted_by == counsellor
    assert stored.service_started_at == stored.greeted_at


@pytest.mark.django_db
def test_it_records_all_five_stages_in_order_and_finishes(counsellor):
    visit = _visit_in(C, counsellor)
    for stage in lifecycle.STAGE_ORDER:
        visit.record_stage(stage, by=counsellor, outcome=Outcome.HIRED)
    visit.finish()
    stored = Visit.objects.get(pk=visit.pk)
    assert stored.status == D
    assert stored.outcome == Outcome.HIRED
    assert stored.recorded_stages == set(Stage)
    times = [getattr(stored, lifecycle.STAGE_FIELDS[s][0]) for s in lifecycle.STAGE_ORDER]
    assert times == sorted(times)


@pytest.mark.django_db
def test_it_refuses_to_finish_before_concluding(counsellor):
    """Nobody leaves without an outcome: finishing an unconcluded visit is refused."""
    visit = _visit_in(S, counsellor)
    visit.record_stage(Stage.GREETING, by=counsellor)
    with pytest.raises(TransitionNotAllowed, match="Conclude"):
        visit.finish()
    assert Visit.objects.get(pk=visit.pk).status == S


@pytest.mark.django_db
def test_it_refuses_a_stage_out_of_order_and_keeps_the_row(counsellor):
    visit = _visit_in(S, counsellor)
    before = Visit.objects.filter(pk=visit.pk).values().get()
    with pytest.raises(TransitionNotAllowed, match="greeting before determining"):
        visit.record_stage(Stage.DETERMINING, by=counsellor)
    assert Visit.objects.filter(pk=visit.pk).values().get() == before


@pytest.mark.parametrize(
    ("outcome", "recorded", "allowed"),
    [
        (Outcome.RESOLVED, {G, DT, R, CO}, True),
        (Outcome.FOLLOW_UP, {G, DT, R, CO}, False),  # a promised follow-up needs its next step
        (Outcome.FOLLOW_UP, {G, DT, R, CO, F}, True),
        ("", {G, DT, R}, False),
    ],
)
def test_it_finishes_only_a_concluded_visit_with_its_promised_next_step(outcome, recorded, allowed):
    if allowed:
        lifecycle.check_finish(status=S, recorded=recorded, outcome=outcome)
    else:
        with pytest.raises(TransitionNotAllowed):
            lifecycle.check_finish(status=S, recorded=recorded, outcome=outcome)
