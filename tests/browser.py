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


_PLAYWRIGHT = _BROWSER = None


def _browser():
    """One Chromium per test process, started on first use (a launch costs more than a whole
    short test) and closed at the session's end (``close``); each page gets a fresh context."""
    global _PLAYWRIGHT, _BROWSER
    if _BROWSER is None or not _BROWSER.is_connected():
        from playwright.sync_api import sync_playwright

        if _PLAYWRIGHT is None:
            _PLAYWRIGHT = sync_playwright().start()
        _BROWSER = _PLAYWRIGHT.chromium.launch(executable_path=CHROMIUM, headless=True,
                                               args=FLAGS)
    return _BROWSER


def close() -> None:
    global _PLAYWRIGHT, _BROWSER
    if _BROWSER is not None:
        _BROWSER.close()
    if _PLAYWRIGHT is not None:
        _PLAYWRIGHT.stop()
    _PLAYWRIGHT = _BROWSER = None


@contextmanager
def page(width=1280, height=900):
    """A page in a fresh browser context (no storage, cookies or cache from another test);
    every context open when the test ends (pages it opened beside this one) is closed."""
    reason = why_no_browser()
    if reason:
        print(f"SKIPPED browser test: {reason}")
        pytest.skip(reason)
    browser = _browser()
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        yield context.new_page()
    finally:
        for c in list(browser.contexts):
            c.close()


def refused(pg, field: str, value: str, words: str) -> str:
    """Put ``value`` in the live page's ``#field``, press *new run*, and return the message the
    page shows once it mentions ``words``."""
    import json

    pg.fill(f"#{field}", value)
    pg.click("#start")
    pg.wait_for_function("document.getElementById('message').textContent"
                         f".includes({json.dumps(words)})")
    return pg.inner_text("#message")
