"""The dashboard's charts (axes, values, an accessible name, the table kept), the "usual" that
is said to be missing rather than drawn as zero, and the range view carrying the day's figures."""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from tests.dashboard.test_day import local, visit
from tests.factories import VisitFactory, VisitorFactory
from visitors import conversations, dashboard
from visitors.messaging.models import Conversation
from visitors.offices.models import (
    ReasonForVisit,
    ReferralPartner,
    Service,
    default_opening_hours,
)
from visitors.people.models import PriorityCategory
from visitors.views.dashboard import axis_top, bar_chart
from visitors.visits.lifecycle import Outcome, Status
from visitors.visits.models import OpenRequest, Referral, ServiceGiven

pytestmark = pytest.mark.django_db

TUESDAY = dt.date(2026, 3, 10)
SUNDAY = dt.date(2026, 3, 8)
MONDAY = dt.date(2026, 3, 2)


def _svg(page_text: str, chart_id: str) -> str:
    start = page_text.index(f'aria-labelledby="{chart_id}-t"')
    return page_text[page_text.rindex("<svg", 0, start) : page_text.index("</svg>", start)]


def _texts(svg: str, group: str) -> list[str]:
    """The text of each <text> in the chart's ``group`` (values, value-axis, category-axis)."""
    block = re.search(rf'<g class="[^"]*\b{group}\b[^"]*">(.*?)</g>', svg, re.S).group(1)
    return re.findall(r"<text[^>]*>([^<]*)</text>", block)


@pytest.fixture
def tuesday(office):
    """Tuesday: 3 arrivals at 9, 1 at 10; the four Tuesdays before: 2 a week at 9 on two of them."""
    for weeks in (1, 2):
        for minute in (0, 30):
            visit(office, VisitorFactory(), TUESDAY - dt.timedelta(weeks=weeks), (9, minute),
                  status=Status.LEFT)  # fmt: skip
    for minute in (0, 10, 20):
        visit(office, VisitorFactory(), TUESDAY, (9, minute), status=Status.LEFT)
    visit(office, VisitorFactory(), TUESDAY, (10, 5), status=Status.LEFT)


@pytest.mark.parametrize(
    ("highest", "top"),
    [(0, 2), (1, 2), (1.5, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 16), (17, 20),
     (23, 24), (29, 30), (31, 40), (47, 50), (99, 100), (101, 120), (1234, 1600)],
)  # fmt: skip
def test_it_rounds_the_value_axis_up_to_an_even_round_number(highest, top):
    """The top is the first round number at or above the highest value whose half (the middle
    gridline) is a whole number too."""
    assert axis_top(highest) == top


def test_the_day_chart_has_both_axes_a_value_on_each_bar_and_its_table(
    client, office, manager, tuesday
):
    """Value axis 0 / 2 / 4 named "Arrivals"; a label under each hour; each bar's number over
    it; the usual as a line with a legend; a title and a description; the table still there."""
    client.force_login(manager)
    page = client.get(reverse("dashboard:day"), {"date": TUESDAY.isoformat()})
    svg = _svg(page.text, "arrivals")
    assert 'role="img"' in svg
    assert '<title id="arrivals-t">Arrivals by hour</title>' in svg
    assert "Arrivals: 4 in all, the most (3) at 09:00." in svg
    assert _texts(svg, "value-axis") == ["0", "2", "4", "Arrivals"]
    assert _texts(svg, "category-axis") == ["09", "10", "Hour of the day (local time)"]
    assert _texts(svg, "values") == ["3", "1"]
    assert 'class="usual"' in svg and "This day" in svg and "Usual" in svg
    assert "<title>09:00: 3</title>" in svg  # each bar names itself
    table = re.search(r'<table class="figures" aria-labelledby="arrivals-h">.*?</table>',
                      page.text, re.S).group(0)  # fmt: skip
    assert '<th scope="row">09:00</th><td>3</td><td>1.0</td>' in table
    assert "css/dashboard.css" in page.text


def test_the_dashboard_pages_carry_no_inline_styles(client, office, manager, tuesday):
    """The CSP refuses inline styles: charts use SVG attributes and dashboard.css."""
    client.force_login(manager)
    day = TUESDAY.isoformat()
    pages = [("dashboard:day", {"date": day}), ("dashboard:report", {"date": day}),
             ("dashboard:range", {"period": "month", "date": day})]  # fmt: skip
    for name, params in pages:
        page = client.get(reverse(name), params)
        assert page.status_code == 200
        assert not re.search(r"\sstyle=", page.text), name


def test_chart_coordinates_stay_numbers_in_spanish(client, office, manager, tuesday):
    """A Spanish page writes 1,5 for one and a half; the SVG's coordinates must stay 1.5."""
    client.force_login(manager)
    page = client.get(reverse("dashboard:day"), {"date": TUESDAY.isoformat()},
                      headers={"Accept-Language": "es"})  # fmt: skip
    svg = _svg(page.text, "arrivals")
    attributes = re.findall(r'\s(?:x|y|x1|x2|y1|y2|cx|cy|width|height)="([^"]*)"', svg)
    assert attributes and all(re.fullmatch(r"-?\d+(\.\d+)?", a) for a in attributes)
    assert "Llegadas por hora" in svg


def test_a_day_with_no_usual_says_so_instead_of_comparing_with_zero(client, office, manager):
    """Arrivals on a Sunday, when the office is closed on Sundays and nobody came on the four
    before: no line, no "0.0", and the page says why."""
    office.opening_hours = default_opening_hours()  # Monday to Friday
    office.save()
    visit(office, VisitorFactory(), SUNDAY, (18, 0), status=Status.LEFT)
    figures = dashboard.day_figures([office], SUNDAY, now=local(office, SUNDAY, 19, 0))
    assert figures.usual_days == 0
    client.force_login(manager)
    page = client.get(reverse("dashboard:day"), {"date": SUNDAY.isoformat()})
    assert "No usual for a Sunday: the office is closed on that weekday." in page.text
    assert 'class="usual"' not in _svg(page.text, "arrivals")
    assert "<td>0.0</td>" not in page.text and "<td>—</td>" in page.text


def test_an_open_weekday_with_nobody_before_has_no_usual_either(client, office, manager):
    """The office is open on Tuesdays but nobody came on the four before (a new office)."""
    visit(office, VisitorFactory(), TUESDAY, (9, 0), status=Status.LEFT)
    client.force_login(manager)
    page = client.get(reverse("dashboard:day"), {"date": TUESDAY.isoformat()})
    assert "No usual for a Tuesday: nobody came on that weekday in the four weeks before" in (
        page.text
    )


def test_a_usual_from_fewer_than_four_weeks_says_how_many(client, office, manager, tuesday):
    """Two of the four Tuesdays before had visitors: the page says so next to the line."""
    client.force_login(manager)
    page = client.get(reverse("dashboard:day"), {"date": TUESDAY.isoformat()})
    assert page.context["figures"].usual_days == 2
    assert "Visitors came on only 2 of those four days." in page.text


def test_a_long_range_labels_some_days_and_leaves_the_values_to_the_table():
    """Sixty bars: every other day is labelled, no numbers over bars (they would overlap)."""
    rows = [{"day": MONDAY + dt.timedelta(days=i), "visits": i % 7} for i in range(60)]
    chart = bar_chart(rows, "visits", "day", value_name="Visits", category_name="Day",
                      label=lambda d: str(d.day))  # fmt: skip
    assert not chart.labelled
    assert [b.show_label for b in chart.bars[:4]] == [True, False, True, False]
    assert [t.value for t in chart.ticks] == ["0", "3", "6"]
    month = bar_chart(rows[:31], "visits", "day", value_name="Visits", category_name="Day")
    assert month.labelled and all(b.show_label for b in month.bars)


def test_a_chart_of_nothing_says_so():
    rows = [{"hour": h, "arrivals": 0} for h in (9, 10)]
    chart = bar_chart(rows, "arrivals", "hour", value_name="Arrivals", category_name="Hour")
    assert chart.highest is None
    assert [t.value for t in chart.ticks] == ["0", "1", "2"]


# --- The range carries the day's figures -----------------------------------------------------


@pytest.fixture
def week(office, other_office, counsellor):
    """Monday to Sunday at two offices, with quotes, ratings, a veteran, referrals, services
    and open requests; one visitor had come the week before."""
    job = ReasonForVisit.objects.create(office=office, label_en="Job search")
    regular = VisitorFactory(first_name="Regular")
    visit(office, regular, MONDAY - dt.timedelta(days=7), (9, 0), status=Status.LEFT)
    twice = VisitorFactory(first_name="Twice")
    veteran = VisitorFactory(priority_category=PriorityCategory.COVERED_VETERAN)
    rows = [
        # visitor, office, day offset, arrived, called, outcome, quote, extra
        (regular, office, 0, (9, 0), (9, 10), Outcome.RESOLVED, (5, 15), {"rating": 5}),
        (twice, office, 0, (9, 5), (9, 50), Outcome.REFERRED, (10, 20), {"rating": 3}),
        (twice, office, 2, (10, 0), (10, 2), Outcome.FOLLOW_UP, (10, 20), {}),
        (veteran, other_office, 1, (9, 0), (9, 20), Outcome.HIRED, None,
         {"priority": 1, "served_ahead": True}),
    ]  # fmt: skip
    made = []
    for who, where, offset, arrived, called, outcome, quote, extra in rows:
        day = MONDAY + dt.timedelta(days=offset)
        if quote:
            extra = {**extra, "quoted_wait_min": quote[0], "quoted_wait_max": quote[1]}
        end = (called[0], called[1] + 5)
        made.append(visit(where, who, day, arrived, called=called, service=(called, end),
                          outcome=outcome, by=counsellor, **extra))  # fmt: skip
    visit(office, VisitorFactory(), MONDAY + dt.timedelta(days=3), (11, 0), status=Status.LEFT)
    visit(office, VisitorFactory(), MONDAY + dt.timedelta(days=4), (11, 0), called=(11, 30),
          status=Status.NO_SHOW)  # fmt: skip
    made[0].reasons.set([job])
    legal = ReferralPartner.objects.create(name="Legal Aid", helps_with="Legal help")
    Referral.objects.create(visit=made[1], partner=legal, referred_by=counsellor)
    resume = Service.objects.create(name="Résumé help", reporting_code="BCS-108")
    for v in made[:2]:
        ServiceGiven.objects.create(visit=v, service=resume, given_by=counsellor)
    at = local(office, MONDAY + dt.timedelta(days=2), 10, 10)
    OpenRequest.objects.create(office=office, visitor=twice, raised_on=made[2],
                               description="Bring pay stubs", created_at=at)  # fmt: skip
    OpenRequest.objects.create(office=office, visitor=regular, raised_on=made[0],
                               description="Done on Friday", created_at=at,
                               state=OpenRequest.State.RESOLVED,
                               resolved_at=at + dt.timedelta(days=2))  # fmt: skip
    return made


def test_the_range_carries_the_day_s_main_figures(office, other_office, week):
    last = MONDAY + dt.timedelta(days=6)
    f = dashboard.range_figures([office, other_office], MONDAY, last,
                                now=local(office, last + dt.timedelta(days=1), 9, 0))  # fmt: skip
    h = f.headline
    assert (h["visits"], h["visitors"]) == (6, 5)  # Twice came twice: one person
    assert "new_visitors" not in h  # the day's alone (too dear over a month of fifty offices)
    assert (h["served"], h["walked_away"], h["no_shows"], h["called"]) == (4, 1, 1, 5)
    # Waits 10, 45, 2 against quotes 5–15, 10–20, 10–20: within, longer, sooner.
    assert (h["quoted"], h["within_quote"], h["longer_than_quoted"], h["shorter_than_quoted"]) == (
        3, 1, 1, 1)  # fmt: skip
    assert h["no_longer_than_quoted_share"] == 66.7
    assert (h["covered"], h["covered_served_ahead"]) == (1, 1)
    assert (h["rated"], h["rating"]) == (2, 4.0)
    assert f.waits == {"n": 5, "median": 20.0, "p90": 39.0, "max": 45.0, "mean": 21.4}
    assert {value: n for value, _label, n in f.outcomes} == {
        "resolved": 1, "referred": 1, "follow_up": 1, "hired": 1}  # fmt: skip
    assert [(r["partner__name"], r["n"]) for r in f.referrals] == [("Legal Aid", 1)]
    assert [(s["service__reporting_code"], s["n"]) for s in f.services] == [("BCS-108", 2)]
    o = f.open_requests
    assert (o["count"], o["raised"], o["resolved"]) == (1, 2, 1)
    assert f.totals == {"visits": 6, "visitors": 5}  # the API's totals, unchanged


def test_the_range_s_counts_are_the_sums_of_its_days(office, other_office, week):
    """Every count the range shows is what the days it spans add up to."""
    offices, last = [office, other_office], MONDAY + dt.timedelta(days=6)
    now = local(office, last + dt.timedelta(days=1), 9, 0)
    whole = dashboard.range_figures(offices, MONDAY, last, now=now).headline
    days = [dashboard.day_figures(offices, MONDAY + dt.timedelta(days=i), now=now).headline
            for i in range(7)]  # fmt: skip
    for key in ("visits", "served", "walked_away", "no_shows", "called", "over_target",
                "quoted", "within_quote", "shorter_than_quoted", "longer_than_quoted",
                "covered", "covered_served_ahead", "rated"):  # fmt: skip
        assert whole[key] == sum(d[key] for d in days), key


def test_the_range_page_shows_the_day_s_tiles_and_tables(client, office, manager, week):
    client.force_login(manager)
    page = client.get(reverse("dashboard:range"), {"date": MONDAY.isoformat()})
    text = page.text
    for shown in ("min median wait", "served", "waited longer than the target",
                  "left before being served", "called no later than quoted",
                  "of 3 quoted: 1 within the range, 1 sooner, 1 longer",
                  "veterans and eligible spouses", "rating (1–5)",
                  "requests open at the end",
                  "Outcomes", "Referrals by partner", "Services by reporting code",
                  "Reminders and appointments", "Day by day"):  # fmt: skip
        assert shown in text, shown
    svg = _svg(text, "daily")
    assert _texts(svg, "category-axis")[:2] == ["Mon 2", "Tue 3"]
    assert _texts(svg, "values") == ["2", "0", "1", "1", "1", "0", "0"]  # Riverside only


def test_texts_waiting_over_a_business_day_show_on_the_day_view(client, office, manager):
    rosa = VisitorFactory(first_name="Rosa", last_name="Díaz", phone="(555) 301-0001")
    VisitFactory(office=office, visitor=rosa, status="left")
    fresh = VisitorFactory(first_name="Nuevo", last_name="Reciente", phone="(555) 301-0002")
    VisitFactory(office=office, visitor=fresh, status="left")
    with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(days=4)):
        conversations.inbound_receive(sender="+15553010001", body="Any news on my claim?")
    conversations.inbound_receive(sender="+15553010002", body="Just now")
    client.force_login(manager)
    page = client.get(reverse("dashboard:day"), {"office": office.slug}).text
    assert "Texts waiting for a reply for over a business day" in page
    assert "Rosa Díaz" in page and "Nuevo Reciente" not in page
    thread = Conversation.objects.get(visitor=rosa)
    assert reverse("desk:inbox_thread", args=[office.slug, thread.pk]) in page
