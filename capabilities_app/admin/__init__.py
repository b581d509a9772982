"""The Django admin: where people edit capabilities, jobs and client keys.

A surface: it may import the domain (``store``, ``runtime``, ``access``, ``jobs``),
never ``api`` or ``mcp``. Django's admin autodiscovery imports this package; each
module registers the models of one part family:

- ``capabilities``: capabilities (actions, Export and Import YAML pages), binds, the stamp;
- ``consumes``: consumes blocks, their resources, operations and parameters;
- ``exposes``: REST and MCP exposes and their parts, aggregates and their functions;
- ``jobs``: async jobs;
- ``keys``: client keys and their grants.

``base`` holds what the part pages share, ``forms`` their forms.
"""

from capabilities_app.admin import (  # noqa: F401 - each module registers its ModelAdmins
    capabilities,
    consumes,
    exposes,
    jobs,
    keys,
)
