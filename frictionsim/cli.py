"""The ``frictionsim`` command: a thin click shell over the Python API.

Each command parses its options, calls the API and prints. Errors meant for
users (:class:`~frictionsim.errors.FrictionsimError`) are printed without a
traceback by :func:`main`: scenario problems as ``FILE:LINE:COL: path:
message`` lines with exit code 2, other problems as one line with exit code 1.
An interrupted run (Ctrl-C, SIGTERM) exits with 130 and writes nothing.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import FrictionsimError, ScenarioError


class _Interrupted(KeyboardInterrupt):
    pass


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Interrupted


class _Group(click.Group):
    """Prints user-facing errors as clean lines with their exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScenarioError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            ctx.exit(2)
        except FrictionsimError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted; nothing was written", err=True)
            ctx.exit(130)


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="frictionsim")
def cli() -> None:
    """Simulate customers through checkout designs: irritation, abandonment, lost revenue."""


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check scenario FILES; print 'ok' or one line per problem (exit 2)."""
    from .scenario import load_scenario

    problems = []
    for file in files:
        try:
            load_scenario(file)
            click.echo(f"{file}: ok")
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editor completion)."""
    from .scenario import scenario_json_schema

    click.echo(json.dumps(scenario_json_schema(), indent=2))


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Seed (default: the scenario's).")
@click.option(
    "--replications",
    "-r",
    type=click.IntRange(1, 100_000),
    help="Independent runs (default: the scenario's).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 1024),
    help="Worker processes (default: all cores; small runs stay serial).",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="Results folder (default: results/<name>/).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scenario value, e.g. steps.payment.capacity=8 (repeatable).",
)
@click.option("--no-charts", is_flag=True, help="Skip the PNG charts.")
@click.option(
    "--force",
    is_flag=True,
    help="Run even if the run is estimated beyond 30 min or 2e8 customers.",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress and no table; print only the results folder."
)
def run(
    file: Path,
    seed: int | None,
    replications: int | None,
    jobs: int | None,
    out: Path | None,
    overrides: tuple[str, ...],
    no_charts: bool,
    force: bool,
    quiet: bool,
) -> None:
    """Simulate scenario FILE, print a summary and write the results folder."""
    from .console import print_summary, progress_bar
    from .experiment import check_run_size, estimate_run
    from .experiment import run as run_scenario
    from .results import check_writable, write_run
    from .scenario import load_scenario

    scenario = load_scenario(file, overrides)
    if not force:
        check_run_size(estimate_run(scenario, replications, jobs))
    out = out or Path("results") / scenario.name
    check_writable(out)
    reps = replications or scenario.replications
    with progress_bar(f"simulating {scenario.name}", reps, quiet) as advance:
        result = run_scenario(scenario, seed, replications, jobs, progress=advance)
    write_run(result, out, scenario_file=str(file), charts=not no_charts)
    print_summary(result.summary, out, result.runtime_seconds, quiet)


def main() -> None:
    """Entry point of the ``frictionsim`` command."""
    signal.signal(signal.SIGTERM, _on_sigterm)  # a terminated run cleans up like Ctrl-C
    cli(prog_name="frictionsim")
