"""generate_history (the dashboard benchmark's data) writes every column of its models: a field
added to Visitor or Visit without a value here breaks it, so a small run is part of the suite."""

import pytest
from django.core.management import call_command

from visitors.offices.models import Office
from visitors.people.models import Visitor
from visitors.visits.models import Visit


@pytest.mark.django_db(transaction=True)
def test_a_small_history_is_generated_and_readable():
    call_command("generate_history", offices=2, visitors=30, visits=120, days=10, seed=3)
    assert Office.objects.count() == 2
    assert Visitor.objects.count() == 30
    assert Visit.objects.count() == 120
    assert not Visitor.objects.exclude(anonymised_at=None).exists()
    done = Visit.objects.filter(status="done").select_related("visitor", "office").first()
    assert done is not None and done.visitor.first_name and done.office.name
