"""Debian's headless Chromium, offline: the one place the browser tests and benchmarks/maps.py start it from."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling out to the closed network at every start.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def launch(playwright: object) -> object:
    """Chromium from Debian's package (no Playwright browser download), or a clear failure naming the fix."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError("Debian chromium is missing: run scripts/setup.sh (APT_PACKAGES has chromium)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def offline_context(browser: object, allowed: str, **options: object) -> tuple[object, list[str]]:
    """A browser context in which only URLs starting with ``allowed`` load; the others are aborted and listed
    in the returned list (a page that works on an intranet leaves it empty)."""
    context = browser.new_context(**options)
    blocked: list[str] = []

    def route(r: object) -> None:
        if r.request.url.startswith(allowed):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return context, blocked
