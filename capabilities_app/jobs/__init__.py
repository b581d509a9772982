"""Async jobs: REST calls and MCP tool calls run later by Celery workers.

``submit`` records a job and publishes it on commit; ``run`` claims and runs it through
the runtime, with the retry rules; ``access`` says whose job it is (read, cancel);
``reading`` renders it for the API; ``upkeep`` expires and requeues; ``records`` writes
a job's state for all of them; ``tasks`` holds the thin Celery tasks, and only it
imports ``run`` (``submit`` publishes the task by name).

May import ``core``, ``store``, ``runtime`` and ``access``; never a surface (``api/``,
``mcp/``, ``admin/``).
"""

__all__: list[str] = []
