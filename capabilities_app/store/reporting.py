"""Presenting import outcomes to people: the commands' lines and the admin's messages.

Warnings repeat (a catalog file has the same dialect deviation on every operation),
so they are grouped: the first occurrence is shown in full, followed by how many
more are like it. Errors are always listed one by one.

Must not import models, httpx or the MCP SDK.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from capabilities_app.core.errors import Diagnostic
from capabilities_app.store.importer import Outcome, RunReport, Status

__all__ = [
    "error_lines",
    "grouped",
    "summary_line",
    "warning_lines",
]


_INDEX = re.compile(r"\[\d+\]")
# The summary's order.
_STATUSES: tuple[Status, ...] = ("created", "updated", "unchanged", "kept", "valid", "failed")


def grouped(diagnostics: Iterable[Diagnostic]) -> Iterator[tuple[Diagnostic, int]]:
    """``(first diagnostic, how many more are like it)``, in order of first appearance."""
    groups: dict[tuple[str, str, str], list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        # Schema findings differ only by the offending value: group them by rule and place.
        message = "" if diagnostic.code.startswith("schema.") else diagnostic.message
        key = (diagnostic.code, _INDEX.sub("[*]", diagnostic.key_path), message)
        groups.setdefault(key, []).append(diagnostic)
    for items in groups.values():
        yield items[0], len(items) - 1


def warning_lines(outcome: Outcome) -> list[str]:
    lines = []
    for first, more in grouped(outcome.warnings):
        suffix = f" (and {more} more like it)" if more else ""
        lines.append(f"  warning: {first}{suffix}")
    return lines


def error_lines(outcome: Outcome, *, limit: int = 200) -> list[str]:
    lines = [str(d) for d in outcome.errors[:limit]]
    if len(outcome.errors) > limit:
        lines.append(f"... and {len(outcome.errors) - limit} more errors")
    return lines


def summary_line(report: RunReport) -> str:
    parts = [f"{report.count(status)} {status}" for status in _STATUSES if report.count(status)]
    total = len(report.outcomes)
    line = f"{total} document{'s' if total != 1 else ''}: " + ", ".join(parts or ["none"])
    if not report.ok:
        line += "; nothing was written"
    elif report.dry_run:
        line += "; dry run, nothing was written"
    return line
