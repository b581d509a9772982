"""How import cost grows with the number of operations.

Generates catalog-dialect capabilities with N consumed operations (each with path,
query and body parameters), N REST operations and N MCP tools, imports each into a
fresh database, and reports wall time and SQL queries for the import, the unchanged
re-import and the export. Times are compared with the 10-operation document measured
in the same run; the query counts show that writes are bulk (they grow with batches,
not with operations).

    .venv/bin/python bench/import_scale.py [--sizes 10,100,1000] [--repeat 3]

Uses a throwaway SQLite file unless DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.documents import generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    os.environ["DATABASE_URL"] = (
        os.environ.get("DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite3'}"
    )
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from capabilities_app.store.exporter import export_yaml
    from capabilities_app.store.importer import file_inputs, import_documents
    from capabilities_app.store.models import Capability

    call_command("migrate", verbosity=0)
    max_bytes = 64 * 1024 * 1024
    rows = []
    for n in sizes:
        path = workdir / f"bench-{n}.yaml"
        path.write_text(generate(n))
        timings = {"import": [], "unchanged": [], "export": []}
        queries = {}
        for _ in range(args.repeat):
            Capability.objects.filter(name=path.stem).delete()
            for phase in ("import", "unchanged"):
                with CaptureQueriesContext(connection) as ctx:
                    start = time.perf_counter()
                    report = import_documents(file_inputs([path], max_bytes=max_bytes))
                    timings[phase].append(time.perf_counter() - start)
                expected = "created" if phase == "import" else "unchanged"
                outcome = report.outcomes[0]
                assert outcome.status == expected, (outcome.status, outcome.errors[:3])
                queries[phase] = len(ctx.captured_queries)
            capability = Capability.objects.get(name=path.stem)
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                export_yaml(capability)
                timings["export"].append(time.perf_counter() - start)
            queries["export"] = len(ctx.captured_queries)
        rows.append(
            (n, path.stat().st_size, {k: statistics.median(v) for k, v in timings.items()}, queries)
        )

    base = rows[0][2]["import"]
    print(f"database: {connection.vendor}; median of {args.repeat} runs")
    print(
        f"{'ops':>6} {'bytes':>9} {'import s':>9} {'x base':>7} {'queries':>8} "
        f"{'unchanged s':>12} {'queries':>8} {'export s':>9} {'queries':>8}"
    )
    for n, size, t, q in rows:
        print(
            f"{n:>6} {size:>9} {t['import']:>9.3f} {t['import'] / base:>7.1f} "
            f"{q['import']:>8} {t['unchanged']:>12.3f} {q['unchanged']:>8} "
            f"{t['export']:>9.3f} {q['export']:>8}"
        )


if __name__ == "__main__":
    main()
