"""What building one upstream request costs: the compiled plan against the per-call builder.

``runtime/plans.py`` compiles the static part of each consumed operation's request once
per catalog version; ``tests/support/request_reference.py`` keeps, verbatim, the builder
it replaced (the whole request rebuilt from the operation on every call). Both are
called here, in one process, on the same operations and caller values, so the ratio is
measured in one run, not remembered.

Imports the three seeds (``fixtures/*.yaml``: the shipyard fleet, NetBird's checkout,
Prefect's billing; an empty baseUri pointed at 127.0.0.1, nothing is sent) into a
throwaway SQLite database, builds the catalog, and for every REST operation with a
call takes the caller's values once (``arguments_of``, ``evaluate_with``: the same for
both, not timed), then times ``build_request`` old and new, ``--iterations`` calls
each, in ``--rounds`` rounds, interleaved (old then new, new then old in the next
round). Also timed: the build plus the bytes the outbound client writes for it
(``upstream._target``, ``_lines``, ``_head``; unchanged code, the same for both). CPU
time (``time.process_time``), medians over the rounds; ratios are new ÷ old, per round,
then their median [min-max]. Every request is checked equal first.

The machine may be shared: CPU time excludes waits, not another process's cache and
frequency effects; read the ratios, and the ranges.

    .venv/bin/python bench/request_build.py [--rounds 7] [--iterations 5000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: bench/ is on the path, the project is not
    sys.path.insert(0, str(ROOT))

from bench._processes import Workspace, manage  # noqa: E402

SEEDS = sorted((ROOT / "fixtures").glob("*.yaml"))
BODY = {"plan_tier": "team", "success_url": "https://example.org/ok", "slots": 3}
VALUES = {"imo": "IMO9321483", "status": "active", "account_id": "acc-42", "body": BODY}


def cpu_per_call(function: Callable[[], object], iterations: int) -> float:
    start = time.process_time()
    for _ in range(iterations):
        function()
    return (time.process_time() - start) / iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=5000)
    args = parser.parse_args()

    with Workspace("request-build-", NETBIRD_API_KEY="nb-key", PREFECT_API_KEY="pf") as workspace:
        manage(workspace.env, "migrate", "--verbosity", "0")
        for seed in SEEDS:
            manage(workspace.env, "import_capability", str(seed))
        os.environ.update(workspace.env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "registry.settings"
        import django

        django.setup()
        from capabilities_app.runtime import upstream
        from capabilities_app.runtime.builder import build_catalog
        from capabilities_app.runtime.callers import (
            ArgumentsCaller,
            ResolvedCaller,
            arguments_of,
        )
        from capabilities_app.runtime.plans import build_request as new
        from capabilities_app.runtime.requests import evaluate_with
        from capabilities_app.store.models import Consumes
        from tests.support.request_reference import build_request as old
        from tests.support.request_reference import outcome

        Consumes.objects.filter(base_uri="").update(base_uri="http://127.0.0.1:9")
        catalog = build_catalog(1)
        cases = []
        for routes in catalog.routes.values():
            for route in routes:
                for op in route.methods.values():
                    if op.call is None:
                        continue
                    caller = ResolvedCaller(
                        arguments_of(op, ArgumentsCaller({n: VALUES.get(n, "v") for n in op.reads}))
                    )
                    withs = evaluate_with(op.with_values, op, caller)
                    call = (op.call, withs, caller, op.context.binds)
                    before, after = outcome(old, *call), outcome(new, *call)
                    if before != after or before[0] != "request":
                        sys.exit(f"{op.name}: the builders differ or fail: {before} {after}")
                    cases.append((f"{op.call.call_name}", call))

        def wire(request: upstream.Request) -> bytes:
            origin, target = upstream._target(request.url, request.params)
            lines = upstream._lines(request.method, origin, request.headers, request.content, "")
            return upstream._head(request.method, target, lines)

        def timings(build: Callable, call: tuple) -> tuple[float, float]:
            alone = cpu_per_call(lambda: build(*call), args.iterations)
            with_wire = cpu_per_call(lambda: wire(build(*call)), args.iterations)
            return alone, with_wire

        results: dict[str, dict[str, list[tuple[float, float]]]] = {
            name: {"old": [], "new": []} for name, _ in cases
        }
        for _, call in cases:  # warm both (the plan is compiled on its first call)
            timings(old, call), timings(new, call)
        for round_number in range(args.rounds):
            order = (("old", old), ("new", new))
            for label, build in order if round_number % 2 == 0 else order[::-1]:
                for name, call in cases:
                    results[name][label].append(timings(build, call))

    print(f"python {sys.version.split()[0]}; {args.rounds} rounds of {args.iterations} calls;")
    print("CPU µs per request (median of rounds); new ÷ old: median [min-max] of per-round ratios")
    print(f"{'operation':44} {'old':>6} {'new':>6} {'ratio':>17}   {'+ wire':>6} {'new':>6} ratio")
    sums = {
        "old": [[0.0, 0.0] for _ in range(args.rounds)],
        "new": [[0.0, 0.0] for _ in range(args.rounds)],
    }
    for name, _ in cases:
        row = [name[:44].ljust(44)]
        for part in (0, 1):
            old_us = [r[part] * 1e6 for r in results[name]["old"]]
            new_us = [r[part] * 1e6 for r in results[name]["new"]]
            ratios = [n / o for n, o in zip(new_us, old_us, strict=True)]
            row.append(
                f"{statistics.median(old_us):6.2f} {statistics.median(new_us):6.2f} "
                f"{statistics.median(ratios):5.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"
            )
            for label, values in (("old", old_us), ("new", new_us)):
                for i, value in enumerate(values):
                    sums[label][i][part] += value / len(cases)
        print(" ".join(row[:2]) + "   " + row[2])
    row = ["mean of the operations".ljust(44)]
    for part in (0, 1):
        old_us = [s[part] for s in sums["old"]]
        new_us = [s[part] for s in sums["new"]]
        ratios = [n / o for n, o in zip(new_us, old_us, strict=True)]
        row.append(
            f"{statistics.median(old_us):6.2f} {statistics.median(new_us):6.2f} "
            f"{statistics.median(ratios):5.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"
        )
    print(" ".join(row[:2]) + "   " + row[2])


if __name__ == "__main__":
    main()
