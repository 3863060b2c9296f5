"""Tests of the HTML report's view model and of the rendered page."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from openapi_spec_validator import validate

import akita_model.report as report_module
from akita_model.build import build_files
from akita_model.report import ReportError, build_view, render_report
from akita_model.report_histogram import Bar, format_ms, layout_histogram
from akita_model.report_view import (
    NO_AUTH,
    BodyView,
    FilterOption,
    HeaderView,
    ParameterView,
    build_histogram,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "openapi"
EDGES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, math.inf]


def load(name: str) -> dict[str, Any]:
    with open(FIXTURES / f"{name}.yaml", encoding="utf-8") as file:
        document: dict[str, Any] = yaml.safe_load(file)
    return document


class _Elements(HTMLParser):
    """Collect every start tag with its attributes, and the text of scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._inside = tag
            (self.scripts if tag == "script" else self.styles).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._inside:
            self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside == "script":
            self.scripts[-1] += data
        elif self._inside == "style":
            self.styles[-1] += data


def parse(html: str) -> _Elements:
    elements = _Elements()
    elements.feed(html)
    elements.close()
    return elements


@pytest.mark.parametrize("name", ["shop", "empty", "hostile"])
def test_fixtures_are_valid_openapi(name: str) -> None:
    validate(load(name))


def test_rows_of_a_document() -> None:
    rows = build_view(load("shop")).rows

    assert [
        (row.anchor, row.method, row.path, row.auth, row.statuses, row.witnesses)
        for row in rows
    ] == [
        ("op-0", "GET", "/api/articles", ("bearerAuth", NO_AUTH), ("200",), 12),
        (
            "op-1",
            "POST",
            "/api/articles",
            ("bearerAuth",),
            ("201", "400", "401"),
            9,
        ),
        ("op-2", "GET", "/api/articles/{slug}", (NO_AUTH,), ("200", "404"), 20),
        ("op-3", "DELETE", "/api/articles/{slug}", ("tokenAuth",), ("204", "403"), 4),
        ("op-4", "POST", "/api/login", ("basicAuth",), ("200", "401"), 3),
        ("op-5", "GET", "/api/me", ("sessionCookie_sessionid",), ("200", "500"), 5),
        (
            "op-6",
            "GET",
            "/api/users/{user_id}",
            ("apiKeyHeader_X-Api-Key",),
            ("200",),
            5,
        ),
    ]
    assert [(row.p50, row.p99) for row in rows] == [
        ("4.00", "12.3"),
        ("31.5", "1210"),
        ("2.25", "6.00"),
        ("5.00", "7.00"),
        ("55.0", "70.0"),
        ("3.00", "15000"),
        ("1.50", "2.00"),
    ]
    assert [chip.label for chip in rows[1].status_chips] == [
        "201 ×6",
        "400 ×2",
        "401 ×1",
    ]
    assert [chip.kind for chip in rows[1].status_chips] == ["2", "4", "4"]


def test_details_of_an_endpoint() -> None:
    rows = build_view(load("shop")).rows
    get_article, create_article, users = rows[2], rows[1], rows[6]

    assert get_article.parameters == (ParameterView("path", "slug", "string", True),)
    assert users.parameters == (
        ParameterView("path", "user_id", "string (uuid)", True),
        ParameterView("header", "X-Request-Id", "string", False),
    )
    assert create_article.request_bodies == (
        BodyView(
            status="",
            status_kind="",
            description="required",
            media_type="application/json",
            schema_text=json.dumps(
                {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string"},
                        "body": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["title", "body"],
                },
                indent=2,
            ),
            example_text=json.dumps(
                {"title": "How to train", "body": "Slowly.", "tags": ["dogs"]},
                indent=2,
            ),
        ),
    )
    assert [
        (body.status, body.media_type, body.description)
        for body in create_article.responses
    ] == [
        ("201", "application/json", "Created"),
        ("400", "application/json", "Bad Request"),
        ("401", "", "Unauthorized"),
    ]
    assert create_article.response_headers == (
        HeaderView("201", "Location", "string (uri)"),
    )
    assert rows[0].first_seen == "2026-12-03T21:10:08.123456+00:00"


def test_filter_options_come_from_the_rows() -> None:
    filters = build_view(load("shop")).filters

    assert filters.methods == (
        FilterOption("GET", "GET", 4),
        FilterOption("POST", "POST", 2),
        FilterOption("DELETE", "DELETE", 1),
    )
    assert filters.auth == (
        FilterOption(
            "apiKeyHeader_X-Api-Key",
            "apiKeyHeader_X-Api-Key: API key in header X-Api-Key",
            1,
        ),
        FilterOption("basicAuth", "basicAuth: HTTP basic", 1),
        FilterOption("bearerAuth", "bearerAuth: HTTP bearer token (JWT)", 2),
        FilterOption(
            "sessionCookie_sessionid",
            "sessionCookie_sessionid: session cookie sessionid",
            1,
        ),
        FilterOption("tokenAuth", "tokenAuth: Token in the Authorization header", 1),
        FilterOption(NO_AUTH, "no authentication", 2),
    )
    assert filters.statuses == tuple(
        FilterOption(status, status, count)
        for status, count in [
            ("200", 5),
            ("201", 1),
            ("204", 1),
            ("400", 1),
            ("401", 2),
            ("403", 1),
            ("404", 1),
            ("500", 1),
        ]
    )


def test_totals_and_schemes() -> None:
    view = build_view(load("shop"))

    assert (view.title, view.version, view.witnesses) == ("shop-demo", "2026-12-03", 58)
    assert view.skipped == (("bad json", 2), ("no response", 1))
    assert view.skipped_total == 3
    assert [(s.name, s.endpoints) for s in view.schemes] == [
        ("apiKeyHeader_X-Api-Key", 1),
        ("basicAuth", 1),
        ("bearerAuth", 2),
        ("sessionCookie_sessionid", 1),
        ("tokenAuth", 1),
    ]


def test_histogram_bars_of_a_known_histogram() -> None:
    histogram = layout_histogram(EDGES, [0, 1, 3, 6, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0])

    # 624 units of plot width over 14 buckets: a slot of 44.571, bars 80% of
    # it; 138 units of height, so the tallest bar (6) is 138 and 1 is 23.
    assert histogram.bars[:5] == (
        Bar(12.46, 160.0, 35.66, 0.0, 30.29, 156.0, 0, "≤1", "up to 1 ms: 0 witnesses"),
        Bar(57.03, 137.0, 35.66, 23.0, 74.86, 133.0, 1, "≤2", "1 to 2 ms: 1 witness"),
        Bar(101.6, 91.0, 35.66, 69.0, 119.43, 87.0, 3, "≤5", "2 to 5 ms: 3 witnesses"),
        Bar(
            146.17, 22.0, 35.66, 138.0, 164.0, 18.0, 6, "≤10", "5 to 10 ms: 6 witnesses"
        ),
        Bar(
            190.74,
            114.0,
            35.66,
            46.0,
            208.57,
            110.0,
            2,
            "≤20",
            "10 to 20 ms: 2 witnesses",
        ),
    )
    assert [bar.label for bar in histogram.bars] == [
        "≤1",
        "≤2",
        "≤5",
        "≤10",
        "≤20",
        "≤50",
        "≤100",
        "≤200",
        "≤500",
        "≤1s",
        "≤2s",
        "≤5s",
        "≤10s",
        ">10s",
    ]
    assert histogram.bars[-1].tooltip == "over 10000 ms: 0 witnesses"
    assert histogram.bars[-1].x == 591.89
    assert (histogram.total, histogram.baseline_y, histogram.label_y) == (
        12,
        160.0,
        176.0,
    )
    assert (histogram.width, histogram.height) == (640, 200)


def test_histogram_of_no_timed_witness_has_flat_bars() -> None:
    histogram = layout_histogram([10, math.inf], [0, 0])

    assert [(bar.height, bar.y, bar.label) for bar in histogram.bars] == [
        (0.0, 160.0, "≤10"),
        (0.0, 160.0, ">10"),
    ]


def test_histogram_from_a_json_document_reads_the_open_edge() -> None:
    written = {"histogram": {"le": [1, 2, "inf"], "counts": [1, 2, 3]}}
    orjson_style = {"histogram": {"le": [1, 2, None], "counts": [1, 2, 3]}}
    native = {"histogram": {"le": [1, 2, math.inf], "counts": [1, 2, 3]}}

    assert build_histogram(written) == build_histogram(native)
    assert build_histogram(orjson_style) == build_histogram(native)
    assert build_histogram({"p50": 1.0}) is None


def test_histogram_with_mismatched_buckets_is_an_error() -> None:
    latency = {"histogram": {"le": [1, 2, math.inf], "counts": [1, 2]}}

    with pytest.raises(ReportError) as error:
        build_histogram(latency, "paths['/a'].get.x-akita-latency")

    assert str(error.value) == (
        "The document's paths['/a'].get.x-akita-latency.histogram has 3 bucket "
        "edges but 2 counts ([1.0, 2.0, inf] and [1, 2]); each bucket needs one "
        "edge and one count."
    )


def test_histogram_with_a_bad_edge_is_an_error() -> None:
    with pytest.raises(ReportError, match=r"not 'ten'; write \.inf"):
        build_histogram({"histogram": {"le": ["ten"], "counts": [1]}})


def test_format_ms() -> None:
    assert [format_ms(v) for v in [0.123, 4, 12.34, 1234.5, None, math.inf]] == [
        "0.12",
        "4.00",
        "12.3",
        "1234",
        "–",
        "∞",
    ]


def test_captured_markup_shows_as_text() -> None:
    html = render_report(load("hostile"))
    elements = parse(html)

    assert [tag for tag, _ in elements.tags if tag in ("script", "img")] == ["script"]
    assert not [
        (tag, name)
        for tag, attributes in elements.tags
        for name in attributes
        if name.startswith("on")
    ]
    assert (
        "<title>shop &lt;script&gt;window.__pwned = &#39;title&#39;; "
        "document.title = &#39;pwned&#39;&lt;/script&gt; · API model</title>"
    ) in html
    assert (
        "<code>/search/&lt;script&gt;window.__pwned = &#39;path&#39;; "
        "document.title = &#39;pwned&#39;&lt;/script&gt;</code>"
    ) in html
    assert (
        "<td><code>&lt;script&gt;window.__pwned = &#39;header&#39;&lt;/script&gt;"
        "</code></td>"
    ) in html
    assert (
        "&#34;&lt;img src=x onerror=\\&#34;window.__pwned = &#39;property&#39;"
        "\\&#34;&gt;&#34;: {"
    ) in html
    assert (
        'data-statuses=\'["200", "\\u0027 onmouseover=\\u0027window.__pwned = 1"]\''
    ) in html
    assert '<option value="&#39; onmouseover=&#39;window.__pwned = 1">' in html


def test_only_the_reports_own_script_and_style_may_run() -> None:
    html = render_report(load("shop"))
    elements = parse(html)

    policy = next(
        attributes["content"]
        for tag, attributes in elements.tags
        if tag == "meta" and attributes.get("http-equiv") == "Content-Security-Policy"
    )
    assert policy is not None

    def digest(text: str) -> str:
        value = hashlib.sha256(text.encode("utf-8")).digest()
        return "sha256-" + base64.b64encode(value).decode("ascii")

    assert len(elements.scripts) == 1 and len(elements.styles) == 1
    assert policy == (
        f"default-src 'none'; style-src '{digest(elements.styles[0])}'; "
        f"script-src '{digest(elements.scripts[0])}'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    assert not [
        (tag, attributes)
        for tag, attributes in elements.tags
        if "src" in attributes or "href" in attributes
    ]


def test_rows_carry_their_filter_values() -> None:
    html = render_report(load("shop"))

    bodies = [
        attributes
        for tag, attributes in parse(html).tags
        if tag == "tbody" and attributes.get("class") == "endpoint"
    ]
    assert [
        (body["id"], body["data-method"], body["data-auth"], body["data-statuses"])
        for body in bodies
    ] == [
        ("op-0", "GET", '["bearerAuth", "(none)"]', '["200"]'),
        ("op-1", "POST", '["bearerAuth"]', '["201", "400", "401"]'),
        ("op-2", "GET", '["(none)"]', '["200", "404"]'),
        ("op-3", "DELETE", '["tokenAuth"]', '["204", "403"]'),
        ("op-4", "POST", '["basicAuth"]', '["200", "401"]'),
        ("op-5", "GET", '["sessionCookie_sessionid"]', '["200", "500"]'),
        ("op-6", "GET", '["apiKeyHeader_X-Api-Key"]', '["200"]'),
    ]


def test_histogram_svg_is_in_the_page() -> None:
    html = render_report(load("shop"))

    assert (
        '<rect x="146.17" y="22.0" width="35.66" height="138.0"/>\n'
        '    <text class="count" x="164.0" y="18.0" text-anchor="middle">6</text>\n'
        '    <text class="bucket" x="164.0" y="176.0" text-anchor="middle">≤10</text>'
    ) in html
    assert html.count('<svg class="histogram"') == 7


def test_output_is_deterministic() -> None:
    document = load("shop")
    shuffled = copy.deepcopy(document)
    shuffled["paths"] = dict(reversed(list(shuffled["paths"].items())))
    shuffled["components"]["securitySchemes"] = dict(
        reversed(list(shuffled["components"]["securitySchemes"].items()))
    )

    first = render_report(document)

    assert render_report(document) == first
    assert render_report(shuffled) == first


def test_a_document_without_paths_gives_an_empty_report() -> None:
    view = build_view(load("empty"))
    html = render_report(load("empty"))

    assert view.rows == ()
    assert (view.filters.methods, view.filters.auth, view.filters.statuses) == (
        (),
        (),
        (),
    )
    assert '<p id="no-match">No endpoints were seen in this trace.</p>' in html
    assert '<dd id="total-endpoints">0</dd>' in html
    assert "<tbody" not in html
    assert (
        render_report({"openapi": "3.1.0", "info": {"title": "t"}}).count(
            "No endpoints were seen"
        )
        == 1
    )


def test_security_falls_back_to_the_documents_own() -> None:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "security": [{"basicAuth": []}],
        "paths": {
            "/a": {"get": {"responses": {}}},
            "/b": {"get": {"security": [], "responses": {}}},
        },
    }
    without_default = {**document, "security": None}

    assert [row.auth for row in build_view(document).rows] == [
        ("basicAuth",),
        (NO_AUTH,),
    ]
    assert [row.auth for row in build_view(without_default).rows] == [
        (NO_AUTH,),
        (NO_AUTH,),
    ]


def test_references_are_followed() -> None:
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "components": {
            "parameters": {
                "Page": {"name": "page", "in": "query", "schema": {"type": "integer"}}
            },
            "responses": {"Missing": {"description": "Not Found"}},
        },
        "paths": {
            "/a": {
                "get": {
                    "parameters": [{"$ref": "#/components/parameters/Page"}],
                    "responses": {"404": {"$ref": "#/components/responses/Missing"}},
                }
            }
        },
    }

    row = build_view(document).rows[0]

    assert row.parameters == (ParameterView("query", "page", "integer", False),)
    assert [(body.status, body.description) for body in row.responses] == [
        ("404", "Not Found")
    ]

    document["paths"]["/a"]["get"]["parameters"] = [{"$ref": "#/components/x/Nope"}]
    with pytest.raises(ReportError, match=r"'#/components/x/Nope' points at nothing"):
        build_view(document)


def test_unquoted_status_codes_are_read_as_text() -> None:
    document = yaml.safe_load(
        "openapi: 3.1.0\n"
        "info: {title: t, version: '1'}\n"
        "paths:\n"
        "  /a:\n"
        "    get:\n"
        "      responses: {200: {description: OK}}\n"
        "      x-akita-status-counts: {200: 3}\n"
    )

    row = build_view(document).rows[0]

    assert row.statuses == ("200",)
    assert [chip.label for chip in row.status_chips] == ["200 ×3"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (["not", "a", "mapping"], r"must be a mapping, not list: \['not', 'a'"),
        ({"paths": ["/a"]}, r"The document's paths must be a mapping, not list"),
        (
            {"paths": {"/a": {"get": {"x-akita-witnesses": "many"}}}},
            r"paths\['/a'\]\.get\.x-akita-witnesses must be a whole number, "
            r"not 'many'",
        ),
        (
            {"paths": {"/a": {"get": {"security": {"basicAuth": []}}}}},
            r"paths\['/a'\]\.get\.security must be a list, not dict",
        ),
    ],
)
def test_a_malformed_document_is_named(document: Any, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        render_report(document)


def test_page_is_one_self_contained_file() -> None:
    html = render_report(load("shop"))

    assert html.startswith("<!DOCTYPE html>\n")
    assert html.endswith("</html>\n")
    assert re.findall(r"https?://[^\s\"']+", html) == ["http://www.w3.org/2000/svg"] * 7


def test_a_built_model_gives_the_same_report_from_yaml_and_json(
    tmp_path: Path,
) -> None:
    trace = FIXTURES.parent / "traces" / "shop.jsonl"
    result = build_files(
        [trace], model_path=tmp_path / "model.yaml", html_path=tmp_path / "report.html"
    )
    build_files([trace], model_path=tmp_path / "model.json")
    from_yaml = yaml.safe_load((tmp_path / "model.yaml").read_text(encoding="utf-8"))
    from_json = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))

    written = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert written == render_report(result.openapi)
    assert render_report(from_yaml) == written
    assert render_report(from_json) == written

    view = build_view(result.openapi)
    assert (len(view.rows), view.witnesses) == (result.endpoints, result.witnesses)
    operations = [
        result.openapi["paths"][row.path][row.method.lower()] for row in view.rows
    ]
    assert [row.histogram.total if row.histogram else None for row in view.rows] == [
        operation["x-akita-latency"]["count"] for operation in operations
    ]


def _page_of(environment: jinja2.Environment) -> str:
    return environment.get_template("report.html.j2").render(
        view=build_view(load("shop")),
        no_auth="none",
        style_hash="sha256-style",
        script_hash="sha256-script",
    )


def test_compiled_templates_are_read_back_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = report_module._environment(str(tmp_path))
    page = _page_of(first)
    cached = sorted(path.name for path in tmp_path.iterdir())

    # A new environment on the same cache reads the page without compiling.
    report_module._environment.cache_clear()
    second = report_module._environment(str(tmp_path))

    def no_compiling(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a cached template was compiled again")

    monkeypatch.setattr(second, "compile", no_compiling)
    try:
        assert _page_of(second) == page
    finally:
        report_module._environment.cache_clear()
    # The page and the three templates it includes, a file each.
    assert len(cached) == 4
    assert all(name.startswith("__jinja2_") for name in cached)


def test_a_cache_that_cannot_be_used_is_passed_over(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x", encoding="utf-8")
    (tmp_path / "cache").mkdir()
    try:
        page = _page_of(report_module._environment(str(not_a_folder)))
        expected = _page_of(report_module._environment(str(tmp_path / "cache")))
    finally:
        report_module._environment.cache_clear()

    assert page == expected
    assert not_a_folder.read_text(encoding="utf-8") == "x"
