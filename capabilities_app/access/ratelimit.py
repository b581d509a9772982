"""Rate limits per client: fixed windows, counted in Redis or in the database.

A client's calls are counted against its key's ``rate_limit`` (else
``REGISTRY_RATE_LIMIT``), policy ``"default"``; a grant with its own ``rate_limit``
adds a second counter for the calls it covers, policy ``"grant"``. A call is charged
only if every counter of it is under its limit, and then all of them move together: a
refused call spends nothing (docs/access.md, *Rate limits*).

Windows are fixed and aligned to the epoch (a minute window starts at :00, a day at
00:00 UTC): one integer per client and window, exact under any concurrency, one
round trip, and a ``Retry-After`` that is simply the time left in the window. The
price is the known burst at a boundary (up to twice the quota across the end of one
window and the start of the next); a sliding log would cost one entry per call, and
a sliding estimate would not be exact.

Where the counters live, so that one limit holds across REST and MCP and every
process: Redis when ``REGISTRY_REDIS_URL`` is set, the database otherwise
(``ratestores``). When the store is unreachable the call is served uncounted
(fail-open): a limit protects upstream quotas, and an outage of the counter store
should not become an outage of every capability.

Must not import httpx, the MCP SDK, or anything of ``api/`` or ``mcp/``.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings

from capabilities_app.access import ratestores
from capabilities_app.access.clients import Client
from capabilities_app.access.ratestores import Counter, Rate
from capabilities_app.core.errors import InvalidRate, RateLimited

__all__ = [
    "DEFAULT_POLICY",
    "GRANT_POLICY",
    "PERIODS",
    "Quota",
    "Usage",
    "charge",
    "counters_for",
    "parse_rate",
    "seconds_left",
    "window_of",
    "with_headers",
]

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
DEFAULT_POLICY = "default"  # the key's own limit (its override, or REGISTRY_RATE_LIMIT)
GRANT_POLICY = "grant"  # the limit of the grant that covers the call
MAX_BUCKET = 200  # longer buckets (a token's issuer and subject) are hashed


# -- rates and windows ----------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def parse_rate(text: str) -> Rate | None:
    """``N/second|minute|hour|day`` as a :class:`Rate`; ``off`` as None.

    Parsed once per distinct string (cached): every call reads the same few rates.
    """
    cleaned = text.strip().lower()
    if cleaned == "off":
        return None
    count, _, period = cleaned.partition("/")
    seconds = PERIODS.get(period.strip())
    if seconds is None or not count.strip().isdigit() or int(count) < 1:
        raise InvalidRate(
            f"a rate is N/second, N/minute, N/hour or N/day (e.g. 600/minute), or off; not {text!r}"
        )
    return Rate(int(count), seconds, f"{int(count)}/{period.strip()}")


def window_of(now: float, seconds: int) -> tuple[int, int]:
    """The fixed window ``now`` falls in: (start, end), in seconds since the epoch."""
    start = int(now // seconds) * seconds
    return start, start + seconds


def seconds_left(now: float, end: int) -> int:
    """Whole seconds until ``end`` (rounded up, at least 1): Retry-After and ``t``."""
    return max(1, math.ceil(end - now))


# -- what one call is counted against ----------------------------------------------------


def _bucket(text: str) -> str:
    if len(text) <= MAX_BUCKET:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def counters_for(client: Client, capability: str, target: str, now: float) -> list[Counter]:
    """The counters a call of ``client`` to ``target`` in ``capability`` moves (maybe none)."""
    counters = []
    rate = parse_rate(client.rate_limit or settings.REGISTRY_RATE_LIMIT)
    if rate is not None:
        start, end = window_of(now, rate.seconds)
        counters.append(
            Counter(DEFAULT_POLICY, _bucket(client.id), rate, start, end, "this client")
        )
    covering = client.grants.limit_for(capability, target)
    if covering is not None:
        label, text = covering
        rate = parse_rate(text)
        if rate is not None:
            start, end = window_of(now, rate.seconds)
            bucket = _bucket(f"{client.id}|{label}")
            counters.append(Counter(GRANT_POLICY, bucket, rate, start, end, f"the grant {label}"))
    return counters


# -- the answer: RateLimit-Policy and RateLimit ------------------------------------------


@dataclass(frozen=True)
class Usage:
    policy: str
    limit: int
    seconds: int
    used: int
    reset: int  # seconds until the window ends

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class Quota:
    """Where a client stands after a call: one :class:`Usage` per policy."""

    usages: tuple[Usage, ...]

    def headers(self) -> dict[str, str]:
        """The fields of draft-ietf-httpapi-ratelimit-headers (structured-field lists)."""
        return {
            "RateLimit-Policy": ", ".join(
                f'"{u.policy}";q={u.limit};w={u.seconds}' for u in self.usages
            ),
            "RateLimit": ", ".join(
                f'"{u.policy}";r={u.remaining};t={u.reset}' for u in self.usages
            ),
        }


def _quota(counters: list[Counter], counts: list[int], now: float) -> Quota:
    return Quota(
        tuple(
            Usage(c.policy, c.rate.limit, c.rate.seconds, count, seconds_left(now, c.end))
            for c, count in zip(counters, counts, strict=True)
        )
    )


def with_headers(response, quota: Quota | None):
    """``response`` with the RateLimit fields of ``quota`` (none without one)."""
    if quota is not None:
        for name, value in quota.headers().items():
            response[name] = value
    return response


# -- charging a call --------------------------------------------------------------------


def charge(client: Client | None, capability: str, target: str) -> Quota | None:
    """Count one call of ``client`` to ``target`` in ``capability``; where it stands.

    None when nothing limits it: no client (a caller the registry does not restrict),
    every limit of this client ``off``, or the counter store unreachable (fail-open).
    Raises :class:`RateLimited` (429) when a counter is at its limit; then no counter
    moves. Blocking I/O (one Redis round trip, or database queries): async code calls
    it in a worker thread.
    """
    if client is None:
        return None
    now = time.time()
    counters = counters_for(client, capability, target, now)
    if not counters:
        return None
    store = ratestores.current_store()
    if not store.available():
        return None
    counted = store.count(counters)
    if counted is None:
        return None
    refused, counts = counted
    quota = _quota(counters, counts, now)
    if refused is not None:
        counter = counters[refused]
        retry_after = seconds_left(now, counter.end)
        raise RateLimited(
            f"over the rate limit of {counter.rate.text} for {counter.label}; "
            f"try again in {retry_after} second{'s' if retry_after != 1 else ''}",
            retry_after,
            quota.headers(),  # the RateLimit fields of the refused call
        )
    return quota
