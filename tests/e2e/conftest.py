"""Browser tests: Playwright driving Debian's Chromium, headless, against a live server.

Chromium comes from the system (``apt-get install chromium``), never downloaded at run time.
Where it is missing the tests are skipped with a message, except under ``CI=true``, where a
missing browser is a failure.

Accessibility: ``assert_accessible(page, name)`` runs axe-core (the npm package, pinned and
vendored in tests/e2e/vendor/axe-core by ``make vendor``) in the page and fails on any serious
or critical violation. Every result is also written to test-artifacts/axe/<name>.json.
"""

import json
import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("FRONTDESK_CHROMIUM", "/usr/bin/chromium"))
TABLET = {"width": 800, "height": 1280}  # a 10" tablet in portrait
PHONE = {"width": 390, "height": 844}  # a phone, for the status page
DESKTOP = {"width": 1366, "height": 900}  # the front desk's browser
TV = {"width": 1280, "height": 720}  # the lobby display
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


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


def axe_violations(page, name: str) -> list[dict]:
    """Run axe-core on the page as it is now; save the full result; return the violations.

    The script is evaluated through the DevTools protocol, so the page's Content Security
    Policy (which refuses inline scripts) stays on for everything the page itself does.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                 "best-practice"]},
                resultTypes: ["violations"],
            });
            return {violations: r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary})),
            })), url: r.url, version: r.testEngine.version};
        }"""
    )
    folder = ARTIFACTS / "axe"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result["violations"]


def assert_accessible(page, name: str) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    blocking = [v for v in axe_violations(page, name) if v["impact"] in BLOCKING]
    assert blocking == [], f"{name}: " + json.dumps(blocking, indent=2)


def new_page(chromium, errors: list, **context):
    """A page in a context of its own (its own cookies), reporting script errors to errors."""
    context.setdefault("locale", "en-US")
    page = chromium.new_context(**context).new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: _collect(errors, msg))
    return page


@pytest.fixture
def open_page(chromium):
    """``open_page(errors, **context)``: a page in a context of its own; every context is closed
    when the test ends, so no page keeps polling the live server after its database is gone."""
    contexts = []

    def factory(errors: list, **context):
        page = new_page(chromium, errors, **context)
        contexts.append(page.context)
        return page

    yield factory
    for context in contexts:
        context.close()


def kiosk_to_contact_page(page) -> None:
    """From the welcome screen, as a new visitor: English, Aaliyah Brooks, first visit,
    "Looking for work", on to the contact page (the tablet turns these pages itself)."""
    page.get_by_role("button", name="Check in English").tap()
    page.get_by_label("First name").fill("Aaliyah")
    page.get_by_label("Last name").fill("Brooks")
    page.get_by_role("button", name="Next").tap()
    page.get_by_role("button", name="This is my first visit").tap()
    page.get_by_text("Looking for work").tap()
    page.get_by_role("button", name="Next").tap()
