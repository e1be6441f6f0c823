"""The report of every kind of results folder: one self-contained ``report.html`` (and a
``report.md`` beside the charts) with the key numbers in words, written by each command,
listed in ``run.json``, redrawn by ``frictionsim report`` byte for byte; and rendered by
headless Chromium (``test_every_report_renders_in_headless_chromium``, slow)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from frictionsim.cli import cli

from .conftest import external_references, page_images, png_size
from .test_cli import SMALL

#: The shape of a run's charts (slides) and of every study's chart.
SLIDE = (1600, 900)

#: An observed funnel of the tiny scenario, for calibrate.
FUNNEL = "step,entered,completed\ncart,1000,\nform,790,\npay,700,600\n"


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A folder of every kind, written by its command on the tiny scenario (calibrate: the
    calibrated scenario's folder), simulated once for the module."""
    base = tmp_path_factory.mktemp("kinds")
    scenario = base / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(SMALL, sort_keys=False))
    lean = base / "lean.yaml"
    lean.write_text(yaml.safe_dump({**SMALL, "name": "lean", "steps": SMALL["steps"][::2]}))
    (base / "observed.csv").write_text(FUNNEL)
    quick = ("-r", 3, "--jobs", 1, "-q")
    invoke("run", scenario, "--out", base / "run", *quick)
    invoke("compare", scenario, lean, "--out", base / "compare", *quick)
    invoke("sweep", scenario, "--param", "steps.form.fields", "--values", "0,8,16",
           "--out", base / "sweep", *quick)  # fmt: skip
    invoke("sensitivity", scenario, "--out", base / "sensitivity", *quick)
    invoke("optimize", scenario, "--param", "steps.pay.capacity", "--values", "1:4:1",
           "--objective", "min:steps.pay.capacity", "--constraint",
           "steps.pay.abandon_rate<=0.5", "--out", base / "optimize", *quick)  # fmt: skip
    invoke("improve", scenario, "--out", base / "improve", *quick)
    invoke("calibrate", scenario, "--funnel", base / "observed.csv", "--fit", "exit:cart",
           "--sample", 1, "--max-evaluations", 10, "--out", base / "calibrate" / "cal.yaml",
           "--jobs", 1, "-q")  # fmt: skip
    return {kind: base / kind for kind in KINDS}


#: Each kind of folder: its report, its chart, and words its key numbers must have.
KINDS = {
    "run": ("report.html", "funnel.png", ["**Conversion**", "**Worst step**"]),
    "compare": (
        "report.html",
        "differences.png",
        ["**lean** vs tiny: conversion ", "pp (95% CI ", "significant", "a year"],
    ),
    "sweep": ("report.html", "sweep.png", ["**Best**: conversion rate ", "**Worst**"]),
    "sensitivity": ("report.html", "tornado.png", ["**Base**", "**1. ", "effect "]),
    "optimize": (
        "report.html",
        "optimum.png",
        ["**Optimum**: steps.pay.capacity = ", "the probability that it holds is"],
    ),
    "improve": ("report.html", "improvements.png", ["**1. ", "a year (95% CI "]),
    "calibrate": (
        "cal.report.html",
        "cal.fit.png",
        ["**steps.cart.exit** = ", " ± ", "**Goodness of fit**: deviance "],
    ),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_of_folder_gets_one_self_contained_report(folders, kind):
    folder = folders[kind]
    name, chart, words = KINDS[kind]
    page = (folder / name).read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert external_references(page) == []  # nothing beside it, nothing online, no script
    images = page_images(page)  # every <img> a PNG data: URI of its stated size
    assert images
    inside = [data for _, data, _ in images]
    assert (folder / chart).read_bytes() in inside  # the very chart of the folder
    for _, data, size in images:
        assert size == (SLIDE if kind != "calibrate" else png_size((folder / chart).read_bytes()))
        assert data in {p.read_bytes() for p in folder.glob("*.png")}
    text = re.sub(r"<[^>]+>", "", page.replace("<strong>", "**").replace("</strong>", "**"))
    for word in words:
        assert word in text, word
    assert "Key numbers" in text
    assert re.search(r"seed \d+", text)
    assert "frictionsim 0.1.0" in text
    assert "@page { size: A4;" in page
    assert "break-inside: avoid" in page
    if kind != "calibrate":
        md = (folder / "report.md").read_text()
        assert f"]({chart})" in md  # the Markdown links the chart beside it
        listed = json.loads((folder / "run.json").read_text())["files"]
        assert {"report.md", "report.html", chart} <= set(listed)
        assert listed == sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "calibrate"])
def test_report_redraws_the_report_of_every_kind_byte_for_byte(folders, kind, tmp_path):
    copy = Path(shutil.copytree(folders[kind], tmp_path / kind))
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    for name in ("report.md", "report.html"):
        (copy / name).unlink()
    result = invoke("report", copy)
    assert "report.html" in result.output
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before


def test_an_older_study_folder_gets_its_report_listed_and_never_over_a_users_file(
    folders, tmp_path
):
    copy = Path(shutil.copytree(folders["sweep"], tmp_path / "sweep"))
    marker = json.loads((copy / "run.json").read_text())
    marker["files"] = [n for n in marker["files"] if not n.startswith("report.")]
    (copy / "run.json").write_text(json.dumps(marker))
    (copy / "report.md").unlink()
    (copy / "report.html").write_text("my notes")  # not frictionsim's: never replaced
    result = CliRunner().invoke(cli, ["report", str(copy)])
    assert result.exit_code == 1
    assert "would replace report.html" in result.output
    assert (copy / "report.html").read_text() == "my notes"
    (copy / "report.html").unlink()
    invoke("report", copy)
    listed = json.loads((copy / "run.json").read_text())["files"]
    assert {"report.md", "report.html"} <= set(listed)


def test_no_charts_writes_no_report_for_a_study(folders, tmp_cwd):
    scenario = tmp_cwd / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(SMALL, sort_keys=False))
    invoke("improve", scenario, "--out", "o", "-r", 2, "--jobs", 1, "-q", "--no-charts")
    names = {p.name for p in (tmp_cwd / "o").iterdir()}
    assert names == {"improvements.json", "improvements.csv", "scenario.resolved.yaml", "run.json"}


# -- rendered by a browser ----------------------------------------------------------------------


def chromium() -> str | None:
    """A Chromium (or Chrome) on PATH; ``.ci/chromium`` installs one."""
    return next(
        (found for name in ("chromium", "chromium-browser", "google-chrome")
         if (found := shutil.which(name))),
        None,
    )  # fmt: skip


#: A page the size of A4 at 150 pixels per inch.
WINDOW = (1240, 1754)


def screenshot(page: Path, out: Path) -> Path:
    browser = chromium()
    assert browser is not None
    args = [browser, "--headless=new", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
            "--disable-extensions", "--no-first-run", f"--user-data-dir={out.parent / 'profile'}",
            f"--screenshot={out}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
            page.resolve().as_uri()]  # fmt: skip
    env = {**os.environ, "HOME": str(out.parent)}  # no profile of the user touched
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.mark.slow
@pytest.mark.skipif(
    chromium() is None,
    reason="no chromium, chromium-browser or google-chrome on PATH (.ci/chromium)",
)
def test_every_report_renders_in_headless_chromium(folders, tmp_path):
    """Each kind's report.html, opened by headless Chromium from a folder of its own (so
    nothing beside it could be loaded), renders as a page, not a blank one, whose charts
    draw: the same page with every chart's data emptied (a broken image, the same layout)
    differs from it over at least 0.5 % of the page."""
    import numpy as np
    from matplotlib.image import imread

    for kind, (name, _, _) in KINDS.items():
        page = (folders[kind] / name).read_text()
        broken = re.sub(r'src="data:image/png;base64,[^"]*"', 'src="data:image/png;base64,"', page)
        shots = []
        for which, text in (("page", page), ("broken", broken)):
            alone = tmp_path / kind / which
            alone.mkdir(parents=True)
            (alone / "report.html").write_text(text)
            shot = imread(screenshot(alone / "report.html", alone / "screen.png"))
            assert shot.shape[:2] == (WINDOW[1], WINDOW[0]), kind
            shots.append((shot[..., :3] * 255).round())
        ink = np.any(shots[0] < 200, axis=-1).mean()
        assert ink > 0.005, (kind, ink)  # text and charts: not a blank page
        drawn = np.any(shots[0] != shots[1], axis=-1).mean()
        assert drawn > 0.005, (kind, drawn)  # the charts themselves show


# -- key numbers of documents made by hand ------------------------------------------------------


def described(mean, lo, hi, **more):
    return {"mean": mean, "sd": 0.1, "ci95": [lo, hi], **more}


def sweep_of(metric, means):
    points = [
        {"values": {"p": str(k)}, "metrics": {metric: described(m, m - 1, m + 1)}}
        for k, m in enumerate(means)
    ]
    return {"scenario": "s", "params": ["p"], "metric": metric, "replications": 3, "seed": 1,
            "points": points}  # fmt: skip


@pytest.mark.parametrize(
    ("metric", "best", "worst"),
    [
        ("revenue", ("Best", "p = 1"), ("Worst", "p = 0")),
        ("lost_revenue", ("Best", "p = 0"), ("Worst", "p = 1")),  # lower is better
        ("steps.pay.utilisation", ("Highest", "p = 1"), ("Lowest", "p = 0")),  # neither
    ],
)
def test_a_sweep_names_its_best_and_worst_point_by_which_way_is_better(metric, best, worst):
    from frictionsim.report import study_key_numbers

    lines = study_key_numbers("sweep", sweep_of(metric, [10.0, 30.0, 20.0]))
    assert lines[0].startswith(f"**{best[0]}**")
    assert lines[0].endswith(f"at {best[1]}.")
    assert lines[1].startswith(f"**{worst[0]}**")
    assert lines[1].endswith(f"at {worst[1]}.")
    assert "do not overlap" in lines[2]


def test_an_optimisation_without_a_feasible_point_says_so():
    from frictionsim.report import study_key_numbers

    doc = {"scenario": "s", "params": ["p"], "objective": {"sense": "max", "metric": "revenue"},
           "constraints": [{"metric": "conversion_rate", "op": ">=", "value": 0.9}],
           "replications": 2, "search": "exhaustive", "grid_points": 3, "evaluated_points": 3,
           "best": None, "evaluated": []}  # fmt: skip
    assert study_key_numbers("optimum", doc) == [
        "**No feasible point**: none of the 3 evaluated points meets every constraint."
    ]


def test_a_comparison_says_whether_each_difference_is_significant():
    from frictionsim.report import study_key_numbers

    diffs = {
        "conversion_rate": described(0.02, -0.01, 0.05, significant=False),
        "revenue": described(-500.0, -900.0, -100.0, significant=True),
        "lost_revenue_friction": described(300.0, 100.0, 500.0, significant=True),
    }
    doc = {"reference": "a", "designs": ["a", "b"], "replications": 5, "seed": 3,
           "common_random_numbers": True, "horizon_minutes": 10080.0,
           "metrics": {"a": {}, "b": {}},
           "differences": {"b": {**{m: described(0.0, 0.0, 0.0) for m in ("visitors",)},
                                 **diffs}}}  # fmt: skip
    lines = study_key_numbers("comparison", doc)
    assert lines[0] == (
        "**b** vs a: conversion +2.0 pp (95% CI −1.0 pp to +5.0 pp), not significant (the "
        "interval includes 0); revenue −500 per simulated week (95% CI −900 to −100), "
        "significant, −26k a year."
    )
    assert "revenue lost to friction +300 (95% CI +100 to +500), significant" in lines[1]
    assert lines[-1] == "**No difference in any replication** (not drawn): visitors."
