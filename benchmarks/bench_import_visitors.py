"""Benchmark: ``import_visitors`` loading a CSV of a statewide population (issue 17).

Prints: BENCH import_visitors db=<vendor> rows=… seconds=… rows_per_s=… peak_rss_mb=…

PostgreSQL: 1,000,000 visitors (benchmarks/_population.py: realistic name frequencies, phones,
birth dates) into an empty database of its own, ``<DATABASE_URL's name>_bench_import``, made at
each run and dropped after it (COPY: about 6–7 minutes on 2 cores). SQLite: 50,000 into
var/bench/import_visitors/ (emptied first), so that ``make bench`` stays short.
``seconds`` is the command alone (not writing the CSV or migrating); ``peak_rss_mb`` the
process's peak resident memory, which stays flat because the file is streamed.
"""

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from _population import write_csv
from _setup import django_for_bench, drop_pg_database

ROWS = {"postgresql": 1_000_000, "sqlite": 50_000}


def main():
    vendor = django_for_bench("import_visitors", suffix="_bench_import", fresh=True)
    from django.core.management import call_command

    from visitors.people.models import Visitor

    rows = int(os.environ.get("BENCH_IMPORT_ROWS", ROWS.get(vendor, 50_000)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "visitors.csv"
        write_csv(path, rows)
        started = time.perf_counter()
        call_command("import_visitors", str(path), verbosity=0, stdout=sys.stderr)
        seconds = time.perf_counter() - started
    assert Visitor.objects.count() == rows
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"BENCH import_visitors db={vendor} rows={rows} seconds={seconds:.1f} "
        f"rows_per_s={rows / seconds:.0f} peak_rss_mb={peak_mb:.0f}"
    )
    if vendor == "postgresql":  # two gigabytes nobody reads again
        from django.db import connection

        database = connection.settings_dict["NAME"]
        connection.close()
        drop_pg_database(os.environ["DATABASE_URL"], database)


if __name__ == "__main__":
    main()
