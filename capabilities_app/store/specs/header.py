"""The header of a capability document: is it a Naftiko document, of a version the registry reads?

Pure Python: must not import Django, httpx or the MCP SDK.
"""

from __future__ import annotations

from capabilities_app.core.errors import DiagnosticList
from capabilities_app.store import vocabulary
from capabilities_app.store.loader import Source

__all__ = ["check_header"]


def check_header(source: Source, diags: DiagnosticList) -> str:
    data = source.data
    if not isinstance(data, dict):
        diags.add(
            source.diagnostic(
                "error", "not_a_mapping", (), "a capability document is a YAML mapping"
            )
        )
        return ""
    if "ikanos" in data:
        diags.add(
            source.diagnostic(
                "error",
                "unsupported_version",
                ("ikanos",),
                f"this is an Ikanos document (ikanos: {data['ikanos']}), the map-based "
                "successor format; the registry reads the list-based naftiko "
                f"{' and '.join(vocabulary.SUPPORTED_VERSIONS)}",
            )
        )
        return ""
    if "naftiko" not in data:
        diags.add(
            source.diagnostic(
                "error",
                "not_naftiko",
                (),
                "not a Naftiko document: there is no top-level 'naftiko' version key",
            )
        )
        return ""
    version = str(data["naftiko"])
    if version not in vocabulary.SUPPORTED_VERSIONS:
        diags.add(
            source.diagnostic(
                "error",
                "unsupported_version",
                ("naftiko",),
                f"unsupported naftiko version {version!r}; the registry reads "
                f"{' and '.join(vocabulary.SUPPORTED_VERSIONS)}",
            )
        )
    if not isinstance(data["naftiko"], str):
        diags.add(
            source.diagnostic(
                "error", "wrong_type", ("naftiko",), "the naftiko version must be text"
            )
        )
    if "capability" not in data and "consumes" not in data:
        diags.add(
            source.diagnostic(
                "error",
                "missing_key",
                (),
                "a document needs 'capability' (or, for a shared consumes document, "
                "a top-level 'consumes' list)",
            )
        )
    return version
