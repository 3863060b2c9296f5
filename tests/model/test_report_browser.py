"""Drive the HTML report in a real headless Chromium.

The report is opened from a file:// URL, as a user opens the file the
builder wrote. Debian's chromium is required: these tests fail without it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Page, sync_playwright

from akita_model.report import render_report

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FIXTURES = Path(__file__).parent.parent / "fixtures" / "openapi"
ALL_ROWS = ["op-0", "op-1", "op-2", "op-3", "op-4", "op-5", "op-6"]

# Runs before the page's own script, outside its Content-Security-Policy, and
# records any script or handler that the policy had to block: there must be
# none, since captured markup is never markup in the page.
_WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + event.sample);
});
"""


@dataclass
class OpenedReport:
    page: Page
    errors: list[str] = field(default_factory=list)

    def visible_rows(self) -> list[str]:
        rows: list[str] = self.page.locator("tbody.endpoint").evaluate_all(
            "bodies => bodies"
            ".filter(body => body.getClientRects().length > 0)"
            ".map(body => body.id)"
        )
        return rows

    def shown_count(self) -> str:
        return self.page.locator("#shown-count").inner_text()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"The browser tests need Debian's Chromium at {CHROMIUM}, which is "
            "missing. Install it with `apt-get install chromium` "
            "(scripts/test.sh does).",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def open_report(
    chromium: Browser, tmp_path: Path
) -> Iterator[Callable[..., OpenedReport]]:
    contexts = []

    def open_(name: str, *, without_policy: bool = False) -> OpenedReport:
        html = render_report(load(name))
        if without_policy:
            html, removed = re.subn(
                r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html
            )
            assert removed == 1
        path = tmp_path / f"{name}.html"
        path.write_text(html, encoding="utf-8")

        context = chromium.new_context()
        contexts.append(context)
        page = context.new_page()
        page.add_init_script(_WATCH_VIOLATIONS)
        opened = OpenedReport(page)
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        page.goto(path.as_uri())
        return opened

    yield open_

    for context in contexts:
        context.close()


def load(name: str) -> dict[str, Any]:
    with open(FIXTURES / f"{name}.yaml", encoding="utf-8") as file:
        document: dict[str, Any] = yaml.safe_load(file)
    return document


def test_all_endpoints_show_at_first(open_report: Callable[..., OpenedReport]) -> None:
    report = open_report("shop")

    assert report.visible_rows() == ALL_ROWS
    assert report.shown_count() == "7 of 7 endpoints"
    assert not report.page.locator("#no-match").is_visible()
    assert report.page.evaluate("window.__violations") == []
    assert report.errors == []


def test_each_filter_narrows_the_rows(open_report: Callable[..., OpenedReport]) -> None:
    report = open_report("shop")
    page = report.page

    page.select_option("#filter-method", "POST")
    assert report.visible_rows() == ["op-1", "op-4"]
    assert report.shown_count() == "2 of 7 endpoints"

    page.select_option("#filter-method", "")
    page.select_option("#filter-auth", "bearerAuth")
    assert report.visible_rows() == ["op-0", "op-1"]

    page.select_option("#filter-auth", "(none)")
    assert report.visible_rows() == ["op-0", "op-2"]

    page.select_option("#filter-auth", "")
    page.select_option("#filter-status", "401")
    assert report.visible_rows() == ["op-1", "op-4"]

    page.select_option("#filter-status", "500")
    assert report.visible_rows() == ["op-5"]
    assert report.errors == []


def test_filters_combine_and_reset_shows_all(
    open_report: Callable[..., OpenedReport],
) -> None:
    report = open_report("shop")
    page = report.page

    page.select_option("#filter-method", "POST")
    page.select_option("#filter-status", "401")
    page.select_option("#filter-auth", "basicAuth")
    assert report.visible_rows() == ["op-4"]
    assert report.shown_count() == "1 of 7 endpoints"

    page.select_option("#filter-method", "DELETE")
    assert report.visible_rows() == []
    assert (
        page.locator("#no-match").inner_text() == "No endpoint matches these filters."
    )

    page.click("#filter-reset")
    assert report.visible_rows() == ALL_ROWS
    assert report.shown_count() == "7 of 7 endpoints"
    assert not page.locator("#no-match").is_visible()
    assert [
        page.input_value(select)
        for select in ("#filter-method", "#filter-auth", "#filter-status")
    ] == ["", "", ""]


def test_expanding_an_endpoint_shows_its_histogram(
    open_report: Callable[..., OpenedReport],
) -> None:
    report = open_report("shop")
    page = report.page
    details = page.locator("#op-1-details")
    histogram = details.locator("svg.histogram")

    assert not histogram.is_visible()

    page.click("#op-1 button.toggle")
    assert histogram.is_visible()
    assert page.get_attribute("#op-1 button.toggle", "aria-expanded") == "true"
    assert histogram.locator("rect").count() == 14
    assert histogram.locator("text.count").all_text_contents() == [
        "0",
        "0",
        "0",
        "1",
        "2",
        "3",
        "1",
        "1",
        "0",
        "0",
        "1",
        "0",
        "0",
        "0",
    ]
    box = histogram.bounding_box()
    assert box is not None and (box["width"], box["height"]) == (640, 200)
    request_schema = details.locator("pre.schema").first.inner_text()
    assert request_schema.startswith('{\n  "type": "object",\n  "properties": {')
    assert '"required": [\n    "title",\n    "body"\n  ]' in request_schema

    page.click("#op-1 button.toggle")
    assert not histogram.is_visible()
    assert not page.locator("#op-0-details svg.histogram").is_visible()


@pytest.mark.parametrize("without_policy", [False, True], ids=["policy", "no-policy"])
def test_captured_markup_never_runs(
    open_report: Callable[..., OpenedReport], without_policy: bool
) -> None:
    # Without the Content-Security-Policy only escaping stands between the
    # captured markup and the page, so both ways must hold.
    report = open_report("hostile", without_policy=without_policy)
    page = report.page

    page.click("#op-1 button.toggle")
    page.click("#op-0 button.toggle")
    page.hover("#op-1 .statuses .chip >> nth=1")
    page.hover("#op-1-details table.parameters code >> nth=1")

    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("window.__violations") == []
    assert page.title() == (
        "shop <script>window.__pwned = 'title'; document.title = 'pwned'</script>"
        " · API model"
    )
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 1
    assert page.locator("#op-1 .path code").inner_text() == (
        "/search/<script>window.__pwned = 'path'; document.title = 'pwned'</script>"
    )
    assert page.locator("#op-0 .path code").inner_text() == (
        "/img/<img src=x onerror=\"window.__pwned = 'img path'\">"
    )
    schema = page.locator("#op-1-details pre.schema").inner_text()
    assert '"<img src=x onerror=\\"window.__pwned = \'property\'\\">": {' in schema
    assert "\"</pre><script>window.__pwned = 'pre'</script>\": {" in schema
    assert page.locator("#op-1-details table.parameters code").all_inner_texts() == [
        "<script>window.__pwned = 'header'</script>",
        "q\" onmouseover=\"window.__pwned = 'attribute'",
    ]
    assert report.errors == []


def test_a_captured_status_works_as_a_filter_value(
    open_report: Callable[..., OpenedReport],
) -> None:
    report = open_report("hostile")

    report.page.select_option("#filter-status", "' onmouseover='window.__pwned = 1")

    assert report.visible_rows() == ["op-1"]
    assert report.page.evaluate("typeof window.__pwned") == "undefined"


def test_an_empty_report_says_so(open_report: Callable[..., OpenedReport]) -> None:
    report = open_report("empty")

    assert report.visible_rows() == []
    assert report.shown_count() == "0 of 0 endpoints"
    assert report.page.locator("#no-match").inner_text() == (
        "No endpoints were seen in this trace."
    )
    assert report.page.locator("#filter-method option").all_inner_texts() == ["all"]
    assert report.errors == []
