"""Headless Chromium for tests: Debian's ``chromium`` driven by Playwright (no browser download)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Players start muted without a click, as a page would after one.
    "--autoplay-policy=no-user-gesture-required",
]
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@contextmanager
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not shutil.which(executable):
        pytest.fail("browser tests need Debian's chromium: apt-get install chromium (.ci/run does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def block_outside_requests(page) -> list[str]:
    """Abort every request that leaves this machine; returns the list of what was refused, which a
    test asserts is empty (the page works with no network)."""
    refused: list[str] = []

    def route(route) -> None:
        host = route.request.url.split("/")[2].rsplit(":", 1)[0] if "://" in route.request.url else ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    return refused


# Waits in the page until the video has played past ``seconds`` (or a fatal hls.js error).
PLAYED_PAST = """(seconds) => window.fatal || document.querySelector('video').currentTime > seconds"""
