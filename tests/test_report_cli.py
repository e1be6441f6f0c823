"""``frictionsim report DIR``: redraws a results folder without simulating, and refuses
folders that are not results or are damaged with one clean line."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from frictionsim.cli import cli
from frictionsim.execution import Execution

from .conftest import external_references, page_images
from .test_cli import SMALL, invoke
from .test_report import WORD_OF_MOUTH

BUNDLED = Path(__file__).parent.parent / "scenarios"

CHARTS = ["checkout_time.png", "funnel.png", "irritation.png", "lost_revenue.png", "waiting.png"]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """One results folder written by ``run``, simulated once for the module."""
    base = tmp_path_factory.mktemp("simulated")
    (base / "tiny.yaml").write_text(yaml.safe_dump(SMALL, sort_keys=False))
    result = invoke("run", base / "tiny.yaml", "--out", base / "out", "--quiet")
    assert result.exit_code == 0, result.output
    return base / "out"


@pytest.fixture
def folder(simulated, tmp_cwd):
    """A fresh copy of that folder for each test."""
    return Path(shutil.copytree(simulated, tmp_cwd / "out"))


def test_report_redraws_identical_files_without_simulating(folder, monkeypatch):
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def no_simulation(*args, **kwargs):
        raise AssertionError("report must not simulate")

    monkeypatch.setattr(Execution, "map", no_simulation)
    for name in [*CHARTS, "report.md", "report.html"]:
        (folder / name).unlink()
    result = invoke("report", folder)
    assert result.exit_code == 0, result.output
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert after == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary files


def test_report_md_and_html(folder):
    md = (folder / "report.md").read_text()
    summary = json.loads((folder / "summary.json").read_text())
    conv = summary["metrics"]["conversion_rate"]
    assert md.startswith("# tiny: checkout report")
    assert f"{conv['mean']:.1%} (95% CI {conv['ci95'][0]:.1%}–{conv['ci95'][1]:.1%})" in md
    assert "**Worst step**" in md
    order = [md.index(f"]({name})") for name in ("funnel.png", "lost_revenue.png")]
    assert order == sorted(order)
    html = (folder / "report.html").read_text()
    assert external_references(html) == []  # one file: nothing beside it, nothing online
    images = page_images(html)
    charts = order_of_charts(md)
    assert sorted(charts) == sorted(CHARTS)
    assert [data for _, data, _ in images] == [(folder / n).read_bytes() for n in charts]
    assert "5 replications" not in html  # the tiny scenario has 4
    assert "4 replications, seed 7, frictionsim 0.1.0." in html
    assert "@page { size: A4;" in html
    assert "break-inside: avoid" in html


def order_of_charts(md: str) -> list[str]:
    """The chart files report.md links, in order."""
    return re.findall(r"\]\(([a-z_]+\.png)\)", md)


def test_word_of_mouth_drawn_when_its_data_is_in_the_folder(folder):
    (folder / "word_of_mouth.json").write_text(json.dumps(WORD_OF_MOUTH))
    assert invoke("report", folder).exit_code == 0
    assert (folder / "word_of_mouth.png").read_bytes()[:4] == b"\x89PNG"
    assert "word_of_mouth.png" in (folder / "report.md").read_text()


def test_report_removes_a_chart_whose_data_is_gone(folder):
    (folder / "distributions.json").unlink()
    assert invoke("report", folder).exit_code == 0
    names = {p.name for p in folder.iterdir() if p.suffix == ".png"}
    assert names == {"funnel.png", "lost_revenue.png"}
    assert "irritation.png" not in (folder / "report.md").read_text()
    # and run.json no longer lists them
    files = json.loads((folder / "run.json").read_text())["files"]
    assert "irritation.png" not in files
    assert "distributions.json" in files  # what was written stays listed: report only draws


def test_report_never_removes_or_replaces_a_file_it_did_not_write(folder):
    (folder / "word_of_mouth.png").write_bytes(b"my own chart")  # not written by frictionsim
    assert invoke("report", folder).exit_code == 0
    assert (folder / "word_of_mouth.png").read_bytes() == b"my own chart"
    (folder / "word_of_mouth.json").write_text(json.dumps(WORD_OF_MOUTH))  # now it would draw it
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = invoke("report", folder)
    assert result.exit_code == 1
    assert result.output == (
        f"error: {folder}: the report would replace word_of_mouth.png, which frictionsim did "
        "not write there; move them out of the folder, or redraw a copy of it\n"
    )
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_no_charts_writes_neither_charts_nor_report(tmp_cwd):
    (tmp_cwd / "tiny.yaml").write_text(yaml.safe_dump(SMALL, sort_keys=False))
    assert invoke("run", tmp_cwd / "tiny.yaml", "--out", "o", "--no-charts", "-q").exit_code == 0
    names = {p.name for p in (tmp_cwd / "o").iterdir()}
    assert not {n for n in names if n.endswith(".png")}
    assert "report.md" not in names
    assert "distributions.json" in names


def damage(folder, name, text):
    (folder / name).write_text(text)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: (f / "run.json").unlink(), "not a frictionsim results folder (no run.json)"),
        (lambda f: damage(f, "run.json", "{not json"), "run.json: damaged, not valid JSON"),
        (
            lambda f: (f / "summary.json").unlink(),
            "damaged results folder: summary.json is missing",
        ),
        (lambda f: damage(f, "summary.json", '{"scen'), "summary.json: damaged, not valid JSON"),
        (
            lambda f: damage(f, "summary.json", "[1, 2]"),
            "summary.json: damaged: expected a mapping of keys, got a list of 2",
        ),
        (
            lambda f: damage(f, "distributions.json", "{}"),
            "distributions.json: damaged: irritation: missing",
        ),
        (
            lambda f: damage(f, "word_of_mouth.json", '{"time": [0]}'),
            "word_of_mouth.json: damaged: sources: missing",
        ),
        (lambda f: (f / "summary.json").write_bytes(b"\xff\xfe"), "summary.json: damaged"),
    ],
    ids=[
        "no-run-json",
        "bad-run-json",
        "no-summary",
        "bad-summary",
        "summary-not-an-object",
        "bad-distributions",
        "bad-word-of-mouth",
        "binary-summary",
    ],
)
def test_damaged_folder_gets_one_clean_line(folder, change, message):
    change(folder)
    (folder / "report.md").unlink()
    result = invoke("report", folder)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (folder / "report.md").exists()  # nothing written


def test_missing_or_foreign_folder(tmp_cwd):
    result = invoke("report", tmp_cwd / "nope")
    assert (result.exit_code, result.output.strip()) == (
        1,
        f"error: {tmp_cwd / 'nope'}: no such folder",
    )
    (tmp_cwd / "notes.txt").write_text("x")
    assert "is a file" in invoke("report", tmp_cwd / "notes.txt").output
    assert "not a frictionsim results folder" in invoke("report", tmp_cwd).output


EXAMPLE = Path(__file__).parent.parent / "results" / "example"


def test_committed_example_matches_the_report_code(tmp_path):
    """results/example/ (shown in the README) is redrawn byte for byte by the current code.
    Regenerate it with the command in README.md when a chart changes on purpose."""
    import matplotlib

    versions = json.loads((EXAMPLE / "run.json").read_text())["versions"]
    if versions["matplotlib"] != matplotlib.__version__:
        pytest.skip("rendered with another matplotlib version")
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLE, copy)
    assert invoke("report", copy).exit_code == 0
    for path in sorted(EXAMPLE.iterdir()):
        assert (copy / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("parts", [2, 3])
def test_a_report_drawn_in_parts_is_the_report_drawn_at_once(folder, parts):
    from frictionsim.report import render_report
    from frictionsim.results.drawing import merge_parts

    summary = json.loads((folder / "summary.json").read_text())
    dists = json.loads((folder / "distributions.json").read_text())
    whole = render_report(summary, dists)
    drawn = merge_parts([render_report(summary, dists, None, (), k, parts) for k in range(parts)])
    assert list(drawn) == list(whole)  # the same files in the same order
    assert drawn == whole


@pytest.mark.parametrize("parts", [1, 2, 3, 9])
def test_the_charts_are_shared_once_each_the_longest_first(parts):
    from frictionsim.report.parts import CHART_COST, PAGES_COST, report_order, share

    names = list(CHART_COST)
    shared = share(names, parts)
    assert len(shared) == parts
    assert sorted(n for part in shared for n in part) == sorted(names)
    for part in shared:
        assert part == report_order(part)  # each part in report order
    # no part could give its last chart to another and finish sooner (the greedy bound)
    loads = [sum(CHART_COST[n] for n in part) + (PAGES_COST if k == 0 else 0)
             for k, part in enumerate(shared)]  # fmt: skip
    assert max(loads) - min(loads) <= max(CHART_COST.values()) + 1e-9


def test_the_run_charts_come_in_the_order_the_parts_are_merged_in(folder):
    from frictionsim.report.parts import CHART_COST
    from frictionsim.report.run_charts import chart_plan

    summary = json.loads((folder / "summary.json").read_text())
    dists = json.loads((folder / "distributions.json").read_text())
    names = [name for name, *_ in chart_plan(summary, dists)]
    assert names == [n for n in CHART_COST if n in names]


def test_workers_draw_the_charts_of_a_run_byte_for_byte(tmp_cwd):
    """--jobs 2: a worker loads matplotlib while the run simulates, then draws half the
    charts and a child forked from it the other half; the folder is the one a single
    process writes."""
    args = ["run", str(BUNDLED / "checkout_baseline.yaml"), "-r", "2", "--set", "horizon=1d", "-q"]
    one = CliRunner().invoke(cli, [*args, "--jobs", "1", "-o", "one"])
    two = CliRunner().invoke(cli, [*args, "--jobs", "2", "-o", "two"])
    assert one.exit_code == 0, one.output
    assert two.exit_code == 0, two.output
    names = json.loads((tmp_cwd / "one" / "run.json").read_text())["files"]
    assert any(n.endswith(".png") for n in names)
    for name in names:
        if name != "run.json":
            assert (tmp_cwd / "one" / name).read_bytes() == (tmp_cwd / "two" / name).read_bytes()


def test_a_report_split_with_a_forked_child_is_the_report_drawn_at_once(folder):
    from frictionsim.report import render_report
    from frictionsim.results.drawing import draw_split

    summary = json.loads((folder / "summary.json").read_text())
    dists = json.loads((folder / "distributions.json").read_text())
    whole = render_report(summary, dists, None, ("horizon=1d",), notes=("a note",))
    drawn = draw_split(summary, dists, None, ("horizon=1d",), ("a note",))
    assert list(drawn) == list(whole)
    assert drawn == whole


def test_a_chart_that_fails_in_the_forked_child_fails_the_report(folder, monkeypatch):
    from frictionsim.results import drawing

    real = drawing.draw_part

    def failing(*args):
        if args[4] == 1:  # the child's part
            raise ValueError("chart 7 cannot be drawn")
        return real(*args)

    monkeypatch.setattr(drawing, "draw_part", failing)
    summary = json.loads((folder / "summary.json").read_text())
    with pytest.raises(ValueError, match="chart 7 cannot be drawn"):
        drawing.draw_split(summary, None, None, (), ())


def test_a_chart_that_fails_here_stops_the_forked_child_instead_of_waiting_for_it(
    folder, monkeypatch
):
    """The worker's own half fails: the child, whose charts fill more than a pipe holds,
    is stopped rather than waited for (it used to wait for ever to send them)."""
    import multiprocessing
    import signal

    from frictionsim.results import drawing

    real = drawing.draw_part

    def failing(*args):
        if args[4] == 0:  # this process's part
            raise ValueError("chart 3 cannot be drawn")
        return real(*args)

    def hung(signum, frame):
        raise AssertionError("draw_split waited for the child")

    monkeypatch.setattr(drawing, "draw_part", failing)
    summary = json.loads((folder / "summary.json").read_text())
    dists = json.loads((folder / "distributions.json").read_text())
    before = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    try:
        with pytest.raises(ValueError, match="chart 3 cannot be drawn"):
            drawing.draw_split(summary, dists, None, (), ())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)
    assert not multiprocessing.active_children()


class _Unpicklable(Exception):
    def __init__(self, text):
        super().__init__(text)
        self.callback = lambda: None  # a lambda does not pickle


def test_an_error_in_the_child_that_does_not_pickle_comes_back_in_words(folder, monkeypatch):
    from frictionsim.results import drawing

    real = drawing.draw_part

    def failing(*args):
        if args[4] == 1:
            raise _Unpicklable("chart 9 has a callback")
        return real(*args)

    monkeypatch.setattr(drawing, "draw_part", failing)
    summary = json.loads((folder / "summary.json").read_text())
    with pytest.raises(RuntimeError, match="_Unpicklable: chart 9 has a callback"):
        drawing.draw_split(summary, None, None, (), ())


def test_two_parts_of_the_baseline_report_are_as_even_as_any_split():
    """The five charts of the bundled baseline shared between two processes: the busier
    part has no more work than in the best of all 32 splits (the pages with part 0)."""
    import itertools

    from frictionsim.report.parts import CHART_COST, PAGES_COST, share

    names = ["funnel.png", "lost_revenue.png", "irritation.png", "waiting.png",
             "checkout_time.png"]  # fmt: skip

    def busiest(parts):
        return max(sum(CHART_COST[n] for n in p) + (PAGES_COST if k == 0 else 0)
                   for k, p in enumerate(parts))  # fmt: skip

    best = min(
        busiest([[n for n, s in zip(names, sides) if s == k] for k in (0, 1)])
        for sides in itertools.product((0, 1), repeat=len(names))
    )
    assert busiest(share(names, 2)) == pytest.approx(best)
