"""Browser tests: Playwright driving Debian's Chromium, headless, against a live server.

Chromium comes from the system (``apt-get install chromium``), never downloaded at run time.
Where it is missing the tests are skipped with a message, except under ``CI=true``, where a
missing browser is a failure.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("FRONTDESK_CHROMIUM", "/usr/bin/chromium"))
TABLET = {"width": 800, "height": 1280}  # a 10" tablet in portrait
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are ordinary synchronous ones. Only while the browser runs.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
            )
            yield browser
            browser.close()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def tablet_page(chromium):
    context = chromium.new_context(viewport=TABLET, has_touch=True, locale="en-US")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: _collect(errors, msg))
    yield page
    context.close()
    assert errors == [], errors  # no script errors, no CSP violations


def _shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _collect(errors: list, msg) -> None:
    """Keep console errors, except the browser's note on a 422: that is a form's answer."""
    if msg.type == "error" and "status of 422" not in msg.text:
        errors.append(msg.text)
