"""Where results go: never over a file frictionsim did not write, every odd ``--out``
refused in one clear line before any work (or written safely), and default folders that
say what was run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from frictionsim import results
from frictionsim.cli import cli
from frictionsim.execution import Execution
from frictionsim.results import MARKER, default_folder, folder_slug, hidden_name

from .conftest import read_only, scenario_dict, small_disk


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def scenario_file(tmp_cwd):
    path = tmp_cwd / "s.yaml"
    path.write_text(yaml.safe_dump(scenario_dict(replications=2), sort_keys=False))
    return path


@pytest.fixture
def no_work(monkeypatch):
    """Fails the test if anything is simulated."""

    def simulated(*args, **kwargs):
        raise AssertionError("a refused run must not simulate")

    monkeypatch.setattr(Execution, "map", simulated)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _run(scenario_file, out, *more):
    result = invoke("run", scenario_file, "--out", out, "--no-charts", "-q", *more)
    assert result.exit_code == 0, result.output
    return result


# ------------------------------------------------------------------ files the user added


def test_a_rerun_into_a_folder_with_user_files_is_refused_before_any_work(
    scenario_file, tmp_cwd, monkeypatch
):
    _run(scenario_file, "res")
    (tmp_cwd / "res" / "my_analysis.ipynb").write_text("{}")
    (tmp_cwd / "res" / "sub").mkdir()
    (tmp_cwd / "res" / "sub" / "keep.csv").write_text("a,b")
    before = _tree(tmp_cwd / "res")
    monkeypatch.setattr(Execution, "map", None)  # any work would fail
    result = invoke("run", scenario_file, "--out", "res", "--no-charts")
    assert result.exit_code == 1
    assert result.output == (
        "error: res: holds files that frictionsim did not write (my_analysis.ipynb, "
        "sub/keep.csv), which replacing the folder would delete; move them out of res, "
        "or choose another --out\n"
    )
    assert _tree(tmp_cwd / "res") == before


def test_at_most_five_are_named(scenario_file, tmp_cwd, no_work):
    (tmp_cwd / "res").mkdir()
    (tmp_cwd / "res" / MARKER).write_text('{"frictionsim_results": 1, "files": ["run.json"]}')
    for k in range(8):
        (tmp_cwd / "res" / f"note{k}.txt").write_text("x")
    result = invoke("run", scenario_file, "--out", "res")
    assert "(note0.txt, note1.txt, note2.txt, note3.txt, note4.txt and 3 more)" in result.output


def test_what_frictionsim_wrote_is_listed_in_run_json(scenario_file, tmp_cwd):
    assert invoke("run", scenario_file, "--out", "res", "-q").exit_code == 0
    listed = json.loads((tmp_cwd / "res" / MARKER).read_text())["files"]
    assert listed == sorted(p.name for p in (tmp_cwd / "res").iterdir())
    assert {"summary.json", "funnel.png", "report.html", MARKER} <= set(listed)


@pytest.mark.parametrize(
    "intruder",
    ["link", "folder", "empty-folder", "chart-named-folder"],
)
def test_links_and_folders_are_never_frictionsim_s(scenario_file, tmp_cwd, intruder, no_work):
    out = tmp_cwd / "res"
    out.mkdir()
    (out / MARKER).write_text('{"frictionsim_results": 1, "files": ["run.json", "funnel.png"]}')
    if intruder == "link":
        (tmp_cwd / "elsewhere.txt").write_text("x")
        (out / "funnel.png").symlink_to(tmp_cwd / "elsewhere.txt")
        named = "funnel.png"
    elif intruder == "folder":
        (out / "data").mkdir()
        (out / "data" / "raw.csv").write_text("x")
        named = "data/raw.csv"
    elif intruder == "empty-folder":
        (out / "data").mkdir()
        named = "data/"
    else:
        (out / "funnel.png").mkdir()
        (out / "funnel.png" / "x").write_text("x")
        named = "funnel.png/x"
    result = invoke("run", scenario_file, "--out", out)
    assert result.exit_code == 1
    assert f"did not write ({named})" in result.output


def test_os_litter_and_stale_temporary_files_do_not_block_a_rerun(scenario_file, tmp_cwd):
    _run(scenario_file, "res")
    (tmp_cwd / "res" / ".DS_Store").write_bytes(b"\0")
    dead = 2**22 + 12345
    (tmp_cwd / "res" / f".funnel.csv.tmp-{dead}").write_text("half")  # a killed report's
    _run(scenario_file, "res", "--seed", "3")
    assert sorted(p.name for p in tmp_cwd.iterdir()) == ["res", "s.yaml"]


def test_a_folder_of_an_earlier_version_is_judged_by_the_names_frictionsim_writes(
    scenario_file, tmp_cwd
):
    out = tmp_cwd / "res"
    out.mkdir()
    (out / MARKER).write_text('{"frictionsim_results": 1}')  # no list of files
    (out / "summary.json").write_text("{}")
    (out / "funnel.png").write_bytes(b"png")
    _run(scenario_file, out)
    assert json.loads((out / "summary.json").read_text())["scenario"] == "micro"
    (out / "thesis.tex").write_text("mine")
    result = invoke("run", scenario_file, "--out", out, "--seed", 2)
    assert result.exit_code == 1
    assert "(thesis.tex)" in result.output


def test_report_cleans_up_after_a_killed_report(scenario_file, tmp_cwd):
    assert invoke("run", scenario_file, "--out", "res", "-q").exit_code == 0
    dead = 2**22 + 12345
    (tmp_cwd / "res" / f".funnel.png.tmp-{dead}").write_bytes(b"half a chart")
    (tmp_cwd / "res" / ".mine.tmp-1").write_text("a user's file that looks like ours")
    assert invoke("report", "res").exit_code == 0
    hidden = sorted(p.name for p in (tmp_cwd / "res").iterdir() if p.name.startswith("."))
    assert hidden == [".mine.tmp-1"]


# ------------------------------------------------------------------ odd --out values


@pytest.mark.parametrize(
    ("out", "line"),
    [
        ("", "error: --out '': empty; give the results folder's name, such as results/NAME"),
        (" ", "error: --out ' ': empty; give the results folder's name, such as results/NAME"),
        (
            ".",
            "error: --out .: is the current folder or holds it, which cannot be replaced; "
            "give a folder to create or replace, such as results/NAME",
        ),
        ("..", "error: --out ..: is the current folder or holds it"),
        ("/", "error: --out /: is the current folder or holds it"),
        ("notes.txt/sub", "error: notes.txt: is a file, so notes.txt/sub cannot be made inside it"),
        ("notes.txt/a/b", "error: notes.txt: is a file, so notes.txt/a/b cannot be made inside it"),
        ("notes.txt", "error: notes.txt: exists and is a file, not a results folder"),
        ("x" * 256, "error: " + "x" * 80 + "… (256 characters): the folder name is too long "
                    "(256 bytes; at most 255)"),
    ],
    ids=["empty", "blank", "dot", "dotdot", "root", "file-parent", "file-grandparent", "file",
         "name-too-long"],
)  # fmt: skip
def test_odd_out_is_one_line_before_any_work(scenario_file, tmp_cwd, no_work, out, line):
    (tmp_cwd / "notes.txt").write_text("mine")
    before = sorted(p.name for p in tmp_cwd.iterdir())
    result = invoke("run", scenario_file, "--out", out)
    assert result.exit_code == 1
    assert result.output.startswith(line)
    assert len(result.output.splitlines()) == 1
    assert sorted(p.name for p in tmp_cwd.iterdir()) == before
    assert (tmp_cwd / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("command", ["run", "sweep", "sensitivity"])
def test_a_250_character_name_works(scenario_file, tmp_cwd, command):
    name = "r" * 250
    assert len(hidden_name(name, "tmp").encode()) <= 255  # the sibling's name is shortened
    args = {
        "run": ["--no-charts"],
        "sweep": ["--param", "steps.only.fields", "--values", "0,1", "--no-charts"],
        "sensitivity": ["-r", "2", "--no-charts"],
    }[command]
    for seed in ("1", "2"):  # written, then replaced
        result = invoke(command, scenario_file, "--out", name, "-q", "--seed", seed, *args)
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_cwd.iterdir()) == sorted([name, "s.yaml"])


def test_a_parent_that_does_not_exist_is_created(scenario_file, tmp_cwd):
    _run(scenario_file, "a/b/c/res")
    assert (tmp_cwd / "a/b/c/res/summary.json").is_file()


def test_a_read_only_parent_is_refused_before_any_work(scenario_file, tmp_cwd, no_work):
    (tmp_cwd / "locked").mkdir()
    with read_only(tmp_cwd / "locked"):
        result = invoke("run", scenario_file, "--out", tmp_cwd / "locked" / "res")
        assert result.exit_code == 1
        assert result.output == (
            f"error: {tmp_cwd / 'locked'}: cannot write here (read-only or no permission)\n"
        )


def test_a_mount_point_is_refused_and_a_folder_inside_it_works(scenario_file, tmp_cwd):
    with small_disk(tmp_cwd / "disk", "8m"):
        result = invoke("run", scenario_file, "--out", "disk", "--no-charts")
        assert result.exit_code == 1
        assert result.output.startswith("error: disk: is a mount point;")
        assert "such as disk/results" in result.output
        _run(scenario_file, "disk/results")
        _run(scenario_file, "disk/results", "--seed", "4")  # and replaced there
        assert sorted(p.name for p in (tmp_cwd / "disk").iterdir()) == ["results"]


def test_a_symlinked_out_writes_the_folder_it_points_to(scenario_file, tmp_cwd):
    (tmp_cwd / "store").mkdir()
    _run(scenario_file, "store/res")
    (tmp_cwd / "link").symlink_to(tmp_cwd / "store" / "res")
    _run(scenario_file, "link", "--seed", "5")
    assert (tmp_cwd / "link").is_symlink()
    assert json.loads((tmp_cwd / "store/res/summary.json").read_text())["seed"] == 5
    # no leftovers beside the link or beside its target
    assert sorted(p.name for p in tmp_cwd.iterdir()) == ["link", "s.yaml", "store"]
    assert sorted(p.name for p in (tmp_cwd / "store").iterdir()) == ["res"]


def test_a_dangling_symlink_is_followed_and_a_loop_refused(scenario_file, tmp_cwd):
    (tmp_cwd / "new").symlink_to(tmp_cwd / "made" / "here")
    _run(scenario_file, "new")
    assert (tmp_cwd / "made/here/summary.json").is_file()
    (tmp_cwd / "loop").symlink_to(tmp_cwd / "loop")
    result = invoke("run", scenario_file, "--out", "loop")
    assert result.exit_code == 1
    assert len(result.output.splitlines()) == 1
    assert (tmp_cwd / "loop").is_symlink()


# ------------------------------------------------------------------ default folders


def test_default_folder_names():
    assert default_folder("shop") == Path("results/shop")
    assert default_folder("shop", ["steps.payment.capacity=8"]) == Path(
        "results/shop--steps.payment.capacity=8"
    )
    assert folder_slug(["arrivals.rate=200/h", "a=x y"]) == "arrivals.rate=200_h--a=x_y"
    long_a = default_folder("shop", [f"steps.s{k}.fields=1" for k in range(30)])
    long_b = default_folder("shop", [f"steps.s{k}.fields=2" for k in range(30)])
    assert len(long_a.name) <= results.MAX_DEFAULT_NAME
    assert long_a != long_b  # the digest tells them apart


def test_a_run_with_overrides_gets_its_own_folder_and_title(scenario_file, tmp_cwd):
    assert invoke("run", scenario_file, "-q").exit_code == 0
    result = invoke("run", scenario_file, "-q", "--set", "steps.only.fields=3")
    assert result.exit_code == 0, result.output
    variant = tmp_cwd / "results" / "micro--steps.only.fields=3"
    assert sorted(p.name for p in (tmp_cwd / "results").iterdir()) == ["micro", variant.name]
    run = json.loads((variant / MARKER).read_text())
    assert run["overrides"] == ["steps.only.fields=3"]
    md = (variant / "report.md").read_text()
    assert md.startswith("# micro [steps.only.fields=3]: checkout report")
    assert "**Overrides**: --set steps.only.fields=3." in md
    assert "[steps.only.fields=3]" in (variant / "report.html").read_text()
    plain = (tmp_cwd / "results" / "micro" / "funnel.png").read_bytes()
    assert (variant / "funnel.png").read_bytes() != plain
    # the report redraws the same titles from run.json
    drawn = (variant / "funnel.png").read_bytes()
    assert invoke("report", variant).exit_code == 0
    assert (variant / "funnel.png").read_bytes() == drawn


def test_every_chart_title_shows_the_overrides():
    from matplotlib.figure import Figure

    from frictionsim import report

    from .test_report import WORD_OF_MOUTH

    summary = json.loads(
        (Path(__file__).parent.parent / "results/example/summary.json").read_text()
    )
    dists = json.loads(
        (Path(__file__).parent.parent / "results/example/distributions.json").read_text()
    )
    plan = report.chart_plan(summary, dists, WORD_OF_MOUTH, overrides=["a.b=1"])
    assert len(plan) == 6
    for name, _, _, draw in plan:
        fig = Figure()
        draw(fig)
        titles = [fig.get_suptitle()] + [ax.get_title("left") for ax in fig.axes]
        assert any("[a.b=1]" in t for t in titles), name


def test_a_folder_of_another_scenario_is_replaced_only_with_force(scenario_file, tmp_cwd):
    _run(scenario_file, "res")
    scenario_file.write_text(scenario_file.read_text().replace("horizon: 60", "horizon: 30"))
    result = invoke("run", scenario_file, "--out", "res", "--no-charts")
    assert result.exit_code == 1
    assert result.output == (
        "error: res: holds the results of another run (other scenario file content, --set "
        "overrides or options); add --force to replace them, or choose another --out\n"
    )
    _run(scenario_file, "res", "--force")
    assert (tmp_cwd / "res" / "scenario.resolved.yaml").read_text().count("horizon: 30") == 1
    # same scenario, other seed or replications: the same study, replaced
    _run(scenario_file, "res", "--seed", "11", "-r", "3")


def test_a_sweep_never_replaces_another_sweep_or_a_run(scenario_file, tmp_cwd):
    sweep = ["sweep", scenario_file, "--param", "steps.only.fields", "-q", "--no-charts"]
    assert invoke(*sweep, "--values", "0,1").exit_code == 0
    assert invoke(*sweep, "--values", "2,3").exit_code == 0
    names = sorted(p.name for p in (tmp_cwd / "results").iterdir())
    assert names == ["sweep-micro--steps.only.fields=0,1", "sweep-micro--steps.only.fields=2,3"]
    # the same folder for other points or a run: refused
    refused = invoke(*sweep, "--values", "5", "--out", f"results/{names[0]}")
    assert refused.exit_code == 1
    assert "holds the results of another sweep" in refused.output
    refused = invoke("run", scenario_file, "--out", f"results/{names[0]}")
    assert "holds the results of another sweep" in refused.output


def test_sensitivity_methods_get_their_own_folders(scenario_file, tmp_cwd):
    assert invoke("sensitivity", scenario_file, "-q", "-r", "2", "--no-charts").exit_code == 0
    result = invoke(
        "sensitivity", scenario_file, "-q", "--method", "sobol", "--samples", "4", "--no-charts"
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_cwd / "results").iterdir())
    assert names == ["sensitivity-micro", "sensitivity-micro--method=sobol--samples=4"]


def test_disk_full_leaves_the_previous_folder_and_says_so(scenario_file, tmp_cwd):
    with small_disk(tmp_cwd / "disk", "512k"):
        _run(scenario_file, "disk/res")
        before = _tree(tmp_cwd / "disk" / "res")
        big = yaml.safe_load(scenario_file.read_text())
        big["horizon"] = 600  # many more rows and events: the event log cannot fit
        scenario_file.write_text(yaml.safe_dump(big))
        result = invoke(
            "run", scenario_file, "--out", "disk/res", "--event-log", "csv", "-r", "20",
            "--force", "-q",
        )  # fmt: skip
        assert result.exit_code == 1
        assert result.output.startswith("error: no space left on device while writing disk/res/")
        assert len(result.output.splitlines()) == 1
        assert _tree(tmp_cwd / "disk" / "res") == before
        assert sorted(p.name for p in (tmp_cwd / "disk").iterdir()) == ["res"]


def test_report_on_a_full_disk_changes_nothing(scenario_file, tmp_cwd):
    with small_disk(tmp_cwd / "disk", "1m"):
        assert invoke("run", scenario_file, "--out", "disk/res", "-q").exit_code == 0
        before = _tree(tmp_cwd / "disk" / "res")
        filler = tmp_cwd / "disk" / "filler"
        with open(filler, "wb", buffering=0) as f:  # fill the disk, leaving a few kB
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
        (tmp_cwd / "disk/res/funnel.png").unlink()
        before.pop("funnel.png")
        os.truncate(filler, max(os.path.getsize(filler) - 8192, 0))
        result = invoke("report", "disk/res")
        assert result.exit_code == 1
        assert result.output.startswith("error: no space left on device while writing disk/res/")
        assert _tree(tmp_cwd / "disk" / "res") == before
        assert not [p for p in (tmp_cwd / "disk/res").iterdir() if p.name.startswith(".")]


def test_report_on_a_read_only_folder_is_one_line(scenario_file, tmp_cwd):
    assert invoke("run", scenario_file, "--out", "res", "-q").exit_code == 0
    with read_only(tmp_cwd / "res"):
        result = invoke("report", "res")
    assert result.exit_code == 1
    assert result.output == (
        "error: res: cannot write here (read-only or no permission); "
        "copy the folder elsewhere to redraw it\n"
    )


def test_dollar_signs_in_user_text_are_drawn_as_text(scenario_file, tmp_cwd):
    """Overrides and swept values are in titles and ticks: never parsed as mathtext."""
    evil = r"$\frac$"
    result = invoke("run", scenario_file, "-q", "--set", f"description={evil}")
    assert result.exit_code == 0, result.output
    result = invoke("sweep", scenario_file, "--param", "description", "--values", f"{evil},b", "-q")
    assert result.exit_code == 0, result.output
