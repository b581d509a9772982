"""The catalog: server-rendered pages that let a person find a capability and wire it up.

``/`` lists the enabled capabilities (search, tags, counts, pages); ``/catalog/<name>/``
shows one: what its REST operations are and a ``curl`` line for each, its MCP tools
with their hints and input schemas, client configurations, and its exported document.
Public discovery pages: they show no secret (docs/catalog.md).

- ``reading``: the queries and what a page gathers (store, runtime's catalog, served URLs);
- ``snippets``: curl lines, credentials as placeholders, MCP client configurations;
- ``views``, ``urls``: thin views over ``reading``; templates in ``templates/catalog/``.

A surface: it may import the domain (``store``, ``runtime``, ``access``, ``jobs``),
never ``api``, ``mcp`` or ``admin``.
"""
