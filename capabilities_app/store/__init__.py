"""The store: capability documents as models, and the way in and out of them.

``vocabulary`` and ``layout`` (which key maps to which field), ``models`` (one package,
split by part family), ``fields``, ``loader`` (YAML to a located ``Source``), ``specs``
(checking a document), ``importer`` with its write phase ``writer``, ``exporter``,
``rows`` (bulk reads for the exporter and the catalog), ``editing`` (admin edits),
``versioning`` (the stamp every process reloads on) and ``reporting``.

Imports ``core`` only, never ``runtime``, ``access``, ``jobs`` or a surface.
"""

__all__: list[str] = []
