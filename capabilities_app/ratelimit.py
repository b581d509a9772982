"""Rate limits per client (work in progress, issue 10 point 5)."""

from __future__ import annotations


def charge(client, capability: str, target: str):
    return None


def with_headers(response, quota):
    return response
