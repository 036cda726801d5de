"""Migration people 0003 rebuilds the stored name keys with the current rules (a record keyed by
the old rules is found by a nickname it could not be found by before)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from visitors.people.recognition import visitor_keys


@pytest.mark.django_db(transaction=True)
def test_the_migration_rebuilds_old_keys_with_the_current_rules():
    executor = MigrationExecutor(connection)
    before, after = (
        [("people", "0002_name_key_second_factors")],
        [("people", "0003_rebuild_name_keys_2026_11")],
    )
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    person = old.get_model("people", "Visitor").objects.create(
        first_name="Francisco", last_name="De La Cruz", phone="(555) 201-4477",
        first_key="francisco", last_key="de la cruz", phone_last4="4477",
    )  # fmt: skip
    old.get_model("people", "VisitorNameKey").objects.create(visitor_id=person.pk, key="N:de|f")
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    rows = new.get_model("people", "VisitorNameKey").objects.filter(visitor_id=person.pk)
    assert set(rows.values_list("key", flat=True)) == visitor_keys("Francisco", "De La Cruz")
    assert set(rows.values_list("phone_last4", flat=True)) == {"4477"}
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
