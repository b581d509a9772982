"""Capability documents made to measure: :func:`generate` writes one with ``n``
operations, for the import-scale test (it counts queries) and the benchmarks that time
imports (``bench/import_scale.py``) and ``tools/list`` on a large namespace
(``bench/mcp_overhead.py``).

Plain text out, nothing imported: neither Django nor the app, so a benchmark can call it
before any settings.
"""

from __future__ import annotations

__all__ = ["generate"]


def generate(n: int) -> str:
    """A catalog-dialect capability with ``n`` consumed operations (path, query and body
    parameters each), ``n`` REST operations and ``n`` MCP tools calling them."""
    lines = [
        "naftiko: 1.0.0-alpha2",
        "info:",
        f"  label: Generated capability with {n} operations",
        "  description: Benchmark document.",
        "  tags: [bench]",
        "binds:",
        "- namespace: env",
        "  keys:",
        "    BENCH_TOKEN: BENCH_TOKEN",
        "capability:",
        "  consumes:",
        "  - type: http",
        "    namespace: bench",
        "    baseUri: https://api.example.com",
        "    authentication: {type: bearer, token: '{{BENCH_TOKEN}}'}",
        "    resources:",
    ]
    for i in range(n):
        lines += [
            f"    - name: items-{i}",
            f"      path: /items-{i}/{{item_id}}",
            "      operations:",
            f"      - name: op-{i}",
            "        method: POST",
            f"        description: Operation {i}",
            "        outputRawFormat: json",
            "        outputParameters:",
            "        - {name: result, type: object, value: $.}",
            "        inputParameters:",
            "        - {name: item_id, in: path, type: string, required: true}",
            "        - {name: verbose, in: query, type: boolean, required: false}",
            "        - {name: body, in: body, type: object, required: true}",
        ]
    lines += [
        "  exposes:",
        "  - type: rest",
        f"    namespace: bench-{n}-rest",
        "    port: 8080",
        "    resources:",
    ]
    for i in range(n):
        lines += [
            f"    - path: /v1/items-{i}/{{item-id}}",
            f"      name: items-{i}",
            "      operations:",
            "      - method: POST",
            f"        name: op-{i}",
            f"        call: bench.op-{i}",
            "        with: {item_id: rest.item_id, verbose: rest.verbose, body: rest.body}",
            "        outputParameters: [{type: object, mapping: $.}]",
        ]
    lines += ["  - type: mcp", f"    namespace: bench-{n}-mcp", "    port: 9090", "    tools:"]
    for i in range(n):
        lines += [
            f"    - name: tool-{i}",
            f"      description: Tool {i}",
            "      hints: {readOnly: false, destructive: false, idempotent: true}",
            f"      call: bench.op-{i}",
            "      with: {item_id: tools.item_id, body: tools.body}",
            "      outputParameters: [{type: object, mapping: $.}]",
        ]
    return "\n".join(lines) + "\n"
