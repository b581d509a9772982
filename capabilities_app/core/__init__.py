"""The bottom layer: what the store, the runtime and the surfaces all stand on.

``errors`` (every ``RegistryError``, and document ``Diagnostic``\\s), ``decoding``
(bounded decoding of untrusted text), ``locations`` (the one ``file://`` resolver),
``paths`` (the one reading of a path template's ``{x}`` variables) and ``database`` (the
database as a dependency that can go away).

Must not import models, any other package of the app, httpx or the MCP SDK.
"""
