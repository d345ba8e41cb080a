"""The round's outputs: result.json, result.xlsx and report.html, written atomically; the page
is self-contained and renders in headless Chromium."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from google.protobuf import json_format
from openpyxl import load_workbook

from service.round import charts, report
from service.round.report_summary import NOT_IN_ROUND
from tests.round_response import round_request, round_response
from venture.v1 import allocation_pb2, round_pb2

CHROMIUM = Path("/usr/bin/chromium")
SECTIONS = (
    "header",
    "shortlist",
    "awards",
    "unfunded",
    "spend",
    "scores",
    "judges",
    "rank-intervals",
    "need-matches",
    "mentor-matches",
)
CHARTS = (
    "chart-spend-domain",
    "chart-spend-region",
    "chart-spend-pool",
    "chart-scores",
    "chart-judges",
    "chart-rank-intervals",
)
TABLES = (
    "table-shortlist",
    "table-awards",
    "table-unfunded",
    "table-spend-domain",
    "table-spend-region",
    "table-spend-pool",
    "table-judges",
    "table-need_matches",
    "table-unmet_needs",
    "table-mentor_matches",
    "table-uncovered_areas",
)
SHEETS = (
    "shortlist",
    "awards",
    "unfunded",
    "spend",
    "need_matches",
    "unmet_needs",
    "mentor_matches",
    "uncovered_areas",
    "judges",
)


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("round") / "out"
    report.write_outputs(round_request(), round_response(), folder)
    return folder


@pytest.fixture(scope="module")
def page(out_dir: Path) -> str:
    return (out_dir / report.REPORT_HTML).read_text(encoding="utf-8")


def test_write_outputs_writes_the_three_files_and_nothing_else(out_dir: Path) -> None:
    assert sorted(os.listdir(out_dir)) == ["report.html", "result.json", "result.xlsx"]


def test_outputs_are_the_same_bytes_for_the_same_round(out_dir: Path, tmp_path: Path) -> None:
    paths = report.write_outputs(round_request(), round_response(), tmp_path)
    # result.json last: its presence marks the whole result written (the batch runner reads it).
    assert [p.name for p in paths] == ["report.html", "result.xlsx", "result.json"]
    for path in paths:
        assert path.read_bytes() == (out_dir / path.name).read_bytes(), path.name


def test_result_json_parses_back_to_the_response(out_dir: Path) -> None:
    text = (out_dir / report.RESULT_JSON).read_text(encoding="utf-8")
    parsed = json_format.Parse(text, round_pb2.OptimizeRoundResponse())
    assert parsed == round_response()
    assert "青石镇" in text  # Chinese kept as text, not \\u escapes


def test_result_json_does_not_depend_on_map_order() -> None:
    first, second = round_response(), round_response()
    first.labels.clear()
    second.labels.clear()
    for key in ("b", "a", "c"):
        first.labels[key] = key
    for key in ("c", "a", "b"):
        second.labels[key] = key
    assert report.result_json(first) == report.result_json(second)


def test_workbook_has_every_sheet_with_rows_and_money_in_yuan_and_fen(out_dir: Path) -> None:
    workbook = load_workbook(out_dir / report.RESULT_XLSX)
    assert workbook.sheetnames == ["round", *SHEETS]
    for name in SHEETS:
        assert workbook[name].max_row > 1, name
    awards = workbook["awards"]
    headers = [cell.value for cell in awards[1]]
    assert "资助金额（元） granted (yuan)" in headers and "资助金额（分） granted (fen)" in headers
    yuan = headers.index("资助金额（元） granted (yuan)")
    first = [cell.value for cell in awards[2]]
    fen = first[yuan + 1]
    assert isinstance(fen, int) and first[yuan] == fen / 100
    assert awards.cell(2, yuan + 1).number_format == "#,##0.00"


def test_page_is_self_contained(page: str) -> None:
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == len(CHARTS)
    assert all(s.startswith("data:image/svg+xml;base64,") for s in sources)


def test_page_has_every_section_table_and_chart(page: str) -> None:
    for element_id in (*SECTIONS, *TABLES, *CHARTS):
        assert f'id="{element_id}"' in page, element_id
    assert page.count('<img class="chart"') == len(CHARTS)
    assert NOT_IN_ROUND not in page


def test_missing_parts_are_not_part_of_this_round() -> None:
    response = round_response()
    response.ClearField("mentors")
    response.ClearField("needs")
    page = report.render_html(round_request(), response)
    mentors = page[page.index('id="mentor-matches"') :]
    assert NOT_IN_ROUND in mentors
    assert page.count('<img class="chart"') == len(CHARTS)


def test_an_empty_round_renders_without_charts(tmp_path: Path) -> None:
    request = round_pb2.OptimizeRoundRequest(round_id="empty")
    response = round_pb2.OptimizeRoundResponse(round_id="empty")
    report.write_outputs(request, response, tmp_path)
    page = (tmp_path / report.REPORT_HTML).read_text(encoding="utf-8")
    assert "<img" not in page and page.count(NOT_IN_ROUND) >= 8
    workbook = load_workbook(tmp_path / report.RESULT_XLSX)
    assert workbook["mentor_matches"]["A2"].value == NOT_IN_ROUND


def test_text_is_escaped_in_the_page_and_never_a_formula_in_the_workbook(tmp_path: Path) -> None:
    request = round_request()
    request.display_name = "<script>alert(1)</script>"
    request.proposals[0].title = "=HYPERLINK(1) & <b>"
    report.write_outputs(request, round_response(), tmp_path)
    page = (tmp_path / report.REPORT_HTML).read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "=HYPERLINK(1) &amp; &lt;b&gt;" in page
    titles = [c for row in load_workbook(tmp_path / report.RESULT_XLSX)["awards"] for c in row]
    cell = next(c for c in titles if c.value == "=HYPERLINK(1) & <b>")
    assert cell.data_type == "s"


def test_many_spend_keys_fold_into_one_bar_and_the_table_lists_all() -> None:
    response = round_response()
    for i in range(25):
        response.allocation.spend.add(
            dimension=allocation_pb2.DIMENSION_REGION, key=f"town-{i:02d}", amount_fen=100, count=1
        )
    page = report.render_html(round_request(), response)
    region = page[page.index('id="table-spend-region"') : page.index('id="chart-spend-pool"')]
    assert region.count("<tr>") == 1 + 8 + 25  # header, the round's 8 regions, the 25 added
    assert "13 others" in region


def test_chart_labels_fall_back_where_no_font_has_the_glyphs() -> None:
    assert charts.label("youth", "D1") == "youth"
    assert charts.label("\ue000", "R1") == "R1"  # private use: no font draws it
    assert charts.label("a$b", "x") == r"a\$b"  # not mathtext


def _temporaries(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


@pytest.mark.parametrize("failing", ["os.replace", "os.fsync"])
def test_atomic_write_keeps_the_old_file_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "result.json"
    target.write_bytes(b"old")

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(failing, fail)
    with pytest.raises(OSError, match="disk full"):
        report.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert _temporaries(tmp_path) == []


def test_atomic_write_survives_ctrl_c_midway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_bytes(b"old")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.atomic_write_bytes(target, b"new" * 1000)
    assert target.read_bytes() == b"old"
    assert _temporaries(tmp_path) == []


def test_atomic_write_replaces_and_keeps_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "result.xlsx"
    report.atomic_write_bytes(target, b"first")
    assert target.stat().st_mode & 0o777 == 0o644
    target.chmod(0o600)
    report.atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert target.stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["result.xlsx"]


def _chromium_or_skip() -> None:
    """Skip, with the reason, where no browser can render the page; in CI that is a failure."""
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (Debian's chromium package; .ci/run installs it)"
    if reason and os.environ.get("CI"):
        pytest.fail(f"CI must render the report, but {reason}")
    if reason:
        pytest.skip(reason)


@pytest.mark.parametrize(
    ("ci", "outcome"), [("1", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_a_missing_browser_skips_with_the_reason_but_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(f"{__name__}.CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="no-chromium is missing"):
        _chromium_or_skip()


def test_report_renders_in_headless_chromium(out_dir: Path, tmp_path: Path) -> None:
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ]
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.on("request", lambda r: requested.append(r.url))
            tab.goto((out_dir / report.REPORT_HTML).as_uri(), wait_until="load")
            for element_id in (*SECTIONS, *TABLES, *CHARTS):
                element = tab.locator(f"#{element_id}")
                assert element.is_visible(), element_id
                box = element.bounding_box()
                assert box is not None and box["width"] > 0 and box["height"] > 0, element_id
            for chart_id in CHARTS:  # the SVG decoded, not a broken-image box
                width = tab.locator(f"#{chart_id}").evaluate("img => img.naturalWidth")
                assert width > 100, chart_id
            tab.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert all(url.startswith(("file:", "data:")) for url in requested), requested
    assert (tmp_path / "report.png").stat().st_size > 10_000
