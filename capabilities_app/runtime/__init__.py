"""The runtime: what executes a capability, joining the store and the upstream.

- ``catalog``: the frozen types every surface looks things up in, and the process's
  cache (``get_catalog``); ``builder`` compiles them from the store; ``routing``
  matches a request path (the one path-template matcher).
- ``invoke``: the one code path that runs an operation, for the REST surface, MCP
  tools and jobs; ``callers`` (where parameters come from, the ``Caller`` protocol),
  ``requests`` (the upstream request built from them), ``steps`` (steps, lookups,
  mocks, forwards), ``outcome`` (what an operation answered).
- ``upstream``: the one outbound client (the only module importing httpx), with
  ``connections`` (per-thread keep-alive connections on the exchange's deadline),
  ``bodies`` (bounded answer bodies) and ``guard`` (the addresses it may connect to);
  ``templating`` (Mustache, binds), ``mapping`` (JSONPath, formats), ``reads`` (which
  caller names an operation reads), ``health`` (readiness).

Imports ``core`` and ``store`` only; nothing here imports ``access``, ``jobs`` or a
surface (``api``, ``mcp``, ``admin``).
"""
