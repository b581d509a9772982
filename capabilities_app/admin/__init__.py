"""The Django admin: where people edit capabilities, jobs and client keys.

A surface: it may import the domain (``store``, ``runtime``, ``access``, ``jobs``),
never ``api`` or ``mcp``. Django's admin autodiscovery imports this package; each
module registers its own models.
"""

from capabilities_app.admin import capabilities  # noqa: F401 - registers the ModelAdmins
