"""One INSERT for a new row on the hot paths, without the ORM's per-call compilation.

``Model.save()`` builds an ``InsertQuery`` and compiles it afresh on every call: for a visit's
51 columns that is about as much CPU as the round trip itself (2.0 ms against 1.0 ms per row on
the benchmark machine, benchmarks/profile_hot.py). ``insert`` writes the same row: its column
list and SQL are made once per model, and each call only asks every field for its value as
``save()`` would (``pre_save`` with ``add=True``, then ``get_db_prep_save``), so auto-now times,
defaults and the fields' own conversions are the ORM's own.

``insert_rows`` does the same for a few rows of one model (a visit's reasons, a new visitor's name
keys) in one multi-row INSERT, and ``increment`` adds to a counter column of one row (the office's
queue version, moved by every change to its line) as ``update(F(...) + n)`` would.

It is for models that nothing listens to (no ``pre_save``/``post_save`` receivers: it sends no
signals) and whose only column the database fills in is the primary key; a value that is an
expression (``db_default`` with no Python default, ``F()``) falls back to ``save()``.
"""

from functools import cache

from django.db import connections, router
from django.db.models import Field, Model


@cache
def _statement(model: type[Model], alias: str) -> tuple[str, tuple]:
    quote = connections[alias].ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    pk = quote(str(model._meta.pk.column))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks}) RETURNING {pk}"
    return sql, fields


def insert(instance: Model) -> Model:
    """Write ``instance`` as a new row (its primary key from the database) and return it."""
    alias = router.db_for_write(type(instance), instance=instance)
    connection = connections[alias]
    if instance.pk is not None or not connection.features.can_return_columns_from_insert:
        instance.save(force_insert=True, using=alias)
        return instance
    sql, fields = _statement(type(instance), alias)
    for field in fields:  # as save() does: a related object saved since is referred to by id
        if field.is_relation and field.is_cached(instance):
            related = field.get_cached_value(instance)
            if related is not None:
                if related.pk is None:
                    raise ValueError(f"save() prohibited: related {field.name} is not saved")
                if getattr(instance, field.attname) is None:
                    setattr(instance, field.attname, related.pk)
    values = []
    for field in fields:
        value = field.pre_save(instance, True)
        if hasattr(value, "resolve_expression"):  # the database's to fill in: the ORM does it
            instance.save(force_insert=True, using=alias)
            return instance
        values.append(field.get_db_prep_save(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = alias
    return instance


@cache
def _rows_statement(model: type[Model], alias: str, count: int) -> tuple[str, tuple]:
    quote = connections[alias].ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {', '.join([row] * count)}"
    return sql, fields


# A few rows (a visit's reasons, a new visitor's name keys): more go through bulk_create.
ROWS_AT_ONCE = 20


def insert_rows(rows) -> None:
    """Write a few new rows of one model in one INSERT, as ``bulk_create`` would, without
    reading their ids back (they are left unset). Same terms as ``insert``."""
    rows = list(rows)
    if not rows:
        return
    model: type[Model] = type(rows[0])
    alias = router.db_for_write(model, instance=rows[0])
    connection = connections[alias]
    if len(rows) > ROWS_AT_ONCE or any(type(row) is not model for row in rows):
        model._default_manager.using(alias).bulk_create(rows)
        return
    sql, fields = _rows_statement(model, alias, len(rows))
    values = []
    for row in rows:
        for field in fields:
            value = field.pre_save(row, True)
            if hasattr(value, "resolve_expression"):
                model._default_manager.using(alias).bulk_create(rows)
                return
            values.append(field.get_db_prep_save(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
    for row in rows:
        row._state.adding = False
        row._state.db = alias


@cache
def _increment_statement(model: type[Model], name: str, alias: str) -> str:
    quote = connections[alias].ops.quote_name
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{model.__name__}.{name} is not a column")
    column = quote(str(field.column))
    pk = quote(str(model._meta.pk.column))
    return f"UPDATE {quote(model._meta.db_table)} SET {column} = {column} + %s WHERE {pk} = %s"


def increment(model: type[Model], pk, name: str, by: int = 1) -> int:
    """``model.objects.filter(pk=pk).update(name=F(name) + by)``, with its SQL made once: the
    number of rows changed (0 or 1). Like ``update()``, it sends no signals."""
    alias = router.db_for_write(model)
    with connections[alias].cursor() as cursor:
        cursor.execute(_increment_statement(model, name, alias), [by, pk])
        return cursor.rowcount
