"""Who may call: an expose's own authentication, client keys, tokens, grants, rate limits.

``exposes`` checks the credential an expose itself declares; ``clients`` makes, renews
and revokes client keys and holds the grants a client carries; ``keytable`` looks keys
up from memory on every call; ``oauth`` verifies access tokens; ``admission`` joins
them at a surface's door (identify, then authorize); ``ratelimit`` charges a call to
its client's limits, counted in ``ratestores`` (Redis or the database);
``resource_metadata`` publishes the protected-resource metadata (RFC 9728).

May import ``core``, ``store`` and ``runtime``; never ``jobs`` or a surface (``api/``,
``mcp/``, ``admin/``). Must not import httpx (``oauth`` fetches keys through PyJWT's
client) or the MCP SDK.
"""

__all__: list[str] = []
