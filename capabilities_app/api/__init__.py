"""The REST surface: DRF views that translate HTTP into one runtime call and back.

``views`` (the catch-all view of every REST expose), ``problems`` (registry errors as
problem+json, through their own ``problem()`` and ``headers()``), ``jobs`` (the jobs
API), ``metadata`` (RFC 9728 documents), ``health`` (``/healthz``, ``/readyz``),
``sandbox`` and ``middleware`` (headers on every answer, a database outage as 503).

A surface: it may import every domain layer, never ``mcp`` or ``admin``.
"""
