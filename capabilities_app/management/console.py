"""Terminal output shared by the import and validate commands.

A run over many files shows a progress bar on a terminal (on stderr, gone when the
run ends); then each file's line and warnings go to stdout and its errors to
stderr, and a summary closes a run of several files.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from django.core.management.base import BaseCommand
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from capabilities_app.store.importer import DocumentInput, Outcome, RunReport
from capabilities_app.store.reporting import error_lines, summary_line, warning_lines


def run_with_progress(
    command: BaseCommand,
    inputs: list[DocumentInput],
    run: Callable[[Callable[[Outcome], None] | None], RunReport],
    *,
    skipped: list[Path],
) -> RunReport:
    many = len(inputs) > 1
    if many and sys.stderr.isatty():
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            task = progress.add_task("checking", total=len(inputs))

            def advance(outcome: Outcome) -> None:
                progress.update(task, advance=1, description=outcome.name)

            report = run(advance)
    else:
        report = run(None)
    for path in skipped:
        command.stdout.write(f"skipped {path} (not a Naftiko document)")
    for outcome in report.outcomes:
        command.stdout.write(outcome.line)
        for line in warning_lines(outcome):
            command.stdout.write(line)
        command.stdout.flush()  # keep each file's errors under its line on a terminal
        for line in error_lines(outcome):
            command.stderr.write(line)
    if many or skipped:
        command.stdout.write(summary_line(report))
    elif report.dry_run and report.ok and report.outcomes and report.outcomes[0].status != "valid":
        command.stdout.write("dry run: nothing was written")
    return report
