"""The registry API (``/api/v1/``): capabilities listed, read, imported, replaced,
exported, validated and deleted over HTTP (issue 13 point 1, docs/registry-api.md).

A surface like the REST one beside it (``api/``), with the full middleware chain
(sessions and CSRF for staff in a browser) and DRF's browsable API on its views:

- ``reading``: what a capability looks like here, read with a fixed number of queries;
- ``documents``: a request's YAML document as the importer's input, and the import and
  validate runs (``store.importer``, the functions ``import_capability`` and
  ``validate_capability`` use);
- ``authentication``, ``permissions``: client keys, staff users, ``registry:write``;
- ``filters``, ``serializers``, ``schema``: the list's search and filters, the answers'
  shapes, the OpenAPI document (drf-spectacular);
- ``views``, ``urls``.

Must not import another surface (``mcp``, ``admin``, ``catalog``), httpx or the MCP SDK.
"""
