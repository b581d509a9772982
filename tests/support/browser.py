"""Browser tests' shared parts: Debian's Chromium driven by Playwright, headless, never a
downloaded browser; the admin user they log in as.

Without ``/usr/bin/chromium`` a browser test is skipped, except on CI (``CI=true``), where a
missing browser is a failure rather than a silent skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
USERNAME = "admin"
PASSWORD = "browser-test-password"
TIMEOUT_MS = 15_000


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = (
        f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium "
        "(apt-get install chromium)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true, so this is a failure, not a skip")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, launched by Playwright (closed on the way out)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def admin_for_the_browser(settings, monkeypatch, django_user_model) -> None:
    """What a browser test of the admin needs from Django: the live server's host names,
    the admin user to log in as, and the ORM allowed in the thread Playwright's sync API
    runs an event loop in (the test's own calls, never concurrent with a request)."""
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    django_user_model.objects.create_superuser(USERNAME, "admin@example.org", PASSWORD)


def log_in(page) -> None:
    page.goto("/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    assert page.locator("#user-tools").inner_text().upper().startswith("WELCOME")
