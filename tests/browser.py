"""Headless Chromium for the tests (Debian's ``chromium``, driven by Playwright), or a reason to
skip that is printed, never a silent pass."""

import os
import shutil
from contextlib import contextmanager

import pytest

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
    "chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def why_no_browser() -> str | None:
    if CHROMIUM is None:
        return "no chromium on PATH (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


@contextmanager
def page(width=1280, height=900):
    reason = why_no_browser()
    if reason:
        print(f"SKIPPED browser test: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            pg = browser.new_page(viewport={"width": width, "height": height})
            yield pg
        finally:
            browser.close()


def refused(pg, field: str, value: str, words: str) -> str:
    """Put ``value`` in the live page's ``#field``, press *new run*, and return the message the
    page shows once it mentions ``words``."""
    import json

    pg.fill(f"#{field}", value)
    pg.click("#start")
    pg.wait_for_function("document.getElementById('message').textContent"
                         f".includes({json.dumps(words)})")
    return pg.inner_text("#message")
