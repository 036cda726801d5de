"""The name keys rebuilt with the rules and name data of issue 17 (name particles, either of two
surnames, Spanish and other hypocorisms, romanisations): keys are only how candidates are found,
so stale ones lose recognitions but never confirm anyone. ``manage.py rebuild_name_keys`` does the
same at any time, e.g. after the files in visitors/people/names/ change."""

from django.db import migrations

BATCH = 2000


def rebuild(apps, schema_editor):
    from visitors.people.recognition import phone_digits, visitor_keys

    Visitor = apps.get_model("people", "Visitor")
    VisitorNameKey = apps.get_model("people", "VisitorNameKey")
    last_pk = 0
    while True:
        batch = list(
            Visitor.objects.filter(pk__gt=last_pk, merged_into__isnull=True)
            .order_by("pk")
            .only("pk", "first_name", "last_name", "phone", "birth_date")[:BATCH]
        )
        if not batch:
            return
        VisitorNameKey.objects.filter(visitor__in=[v.pk for v in batch]).delete()
        rows = []
        for visitor in batch:
            born = visitor.birth_date
            month_day = born.month * 100 + born.day if born else None
            phone_last4 = phone_digits(visitor.phone)[-4:]
            rows += [
                VisitorNameKey(
                    visitor_id=visitor.pk, key=key, phone_last4=phone_last4,
                    birth_month_day=month_day,
                )
                for key in sorted(visitor_keys(visitor.first_name, visitor.last_name))
            ]  # fmt: skip
        VisitorNameKey.objects.bulk_create(rows, batch_size=5000)
        last_pk = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [("people", "0002_name_key_second_factors")]

    operations = [migrations.RunPython(rebuild, migrations.RunPython.noop, elidable=True)]
