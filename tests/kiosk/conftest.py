"""A kiosk tablet that walks the check-in screens through the real views, as htmx would."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import ReasonFactory, VisitFactory, VisitorFactory
from visitors.offices.models import KioskLink
from visitors.views.kiosk import KIOSK_COOKIE
from visitors.visits.lifecycle import Outcome, Status

STATE = re.compile(r'name="state" value="([^"]*)"')


class Tablet:
    """Drives /kiosk/<slug>/ with a Django test client holding the kiosk link's cookie."""

    def __init__(self, client, office, *, htmx=True):
        self.client, self.office, self.htmx = client, office, htmx
        self.state = ""
        self.last = None

    @property
    def step_url(self):
        return reverse("kiosk:step", args=[self.office.slug])

    def home(self):
        self.last = self.client.get(reverse("kiosk:home", args=[self.office.slug]))
        return self.last

    def post(self, step, **data):
        headers = {"HX-Request": "true"} if self.htmx else {}
        payload = {"step": step, "state": self.state, **data}
        self.last = self.client.post(self.step_url, payload, headers=headers)
        found = STATE.search(self.last.text)
        self.state = found.group(1) if found else ""
        return self.last

    def start(self, language="en"):
        return self.post("language", language=language)

    def name(self, first, last, preferred=""):
        return self.post("name", first_name=first, last_name=last, preferred_name=preferred)

    def verify(self, **answer):
        return self.post("verify", action="find", **answer)

    def first_visit(self):
        return self.post("verify", action="first_visit")

    def reasons(self, *reasons, other=""):
        return self.post("reasons", reasons=[r.pk for r in reasons], other=other)

    def contact(self, **data):
        data = {"priority_category": "none", "ahead_count": "3"} | data
        return self.post("contact", **data)

    # The two requests the tablet itself sends (kiosk.js turns the pages in between).

    def identify(self, first, last, *, language="en", preferred="", **answer):
        """The name screen from the welcome screen: the language tapped, the name, and the
        second factor (``phone_last4=…``) or, with no answer, "This is my first visit"."""
        data = {"lang": language, "first_name": first, "last_name": last,
                "preferred_name": preferred}  # fmt: skip
        data["action"] = "find" if answer else "first_visit"
        return self.post("identify", **data, **answer)

    def finish(self, *reasons, other="", **contact):
        data = {"priority_category": "none", "ahead_count": "3"} | contact
        return self.post("finish", reasons=[r.pk for r in reasons], other=other, **data)

    def check_in_new(self, first, last, reason, **contact):
        self.start()
        self.name(first, last)
        self.first_visit()
        self.reasons(reason)
        return self.contact(**contact)


@pytest.fixture
def kiosk_link(office):
    link, token = KioskLink.issue(office=office, label="Lobby")
    return link, token


@pytest.fixture
def tablet(client, office, kiosk_link):
    client.cookies[KIOSK_COOKIE] = kiosk_link[1]
    return Tablet(client, office)


@pytest.fixture
def reasons(office):
    return [
        ReasonFactory(office=office, label_en="Looking for work", label_es="Busco trabajo"),
        ReasonFactory(
            office=office, label_en="Help with my résumé", label_es="Ayuda con mi currículum"
        ),
        ReasonFactory(
            office=office, label_en="Unemployment insurance", label_es="Seguro de desempleo"
        ),
    ]


@pytest.fixture
def jose(office, reasons):
    """A returning visitor who came last month about his résumé."""
    visitor = VisitorFactory(first_name="José", last_name="García", phone="(555) 201-4477")
    past = VisitFactory(
        office=office, visitor=visitor, status=Status.DONE,
        service_date=timezone.localdate() - dt.timedelta(days=30),
        called_at=timezone.now(), greeted_at=timezone.now(), determined_at=timezone.now(),
        responded_at=timezone.now(), concluded_at=timezone.now(), outcome=Outcome.RESOLVED,
    )  # fmt: skip
    past.reasons.set([reasons[1]])
    return visitor
