"""The ``frictionsim`` command: a thin click shell over the Python API.

Each command parses its options, calls the API and prints. Errors meant for
users (:class:`~frictionsim.errors.FrictionsimError`) are printed without a
traceback by :func:`main`: scenario problems as ``FILE:LINE:COL: path:
message`` lines with exit code 2, bad options (an unknown metric, bad
``--values``) as one line with exit code 2, other problems as one line with
exit code 1.
An interrupted run (Ctrl-C, SIGTERM) exits with 130 and writes nothing. Anything
else that goes wrong is still one line and exit code 1: an ``OSError`` as ``error:
FILE: reason``, any other exception as an internal error to report
(``FRICTIONSIM_DEBUG=1`` raises it instead, with its traceback).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import math
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import FrictionsimError, OptionError, ScenarioError, one_line, visible


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, with what is left on disk when that is not "nothing"."""

    def __init__(self, message: str = "interrupted; nothing was written") -> None:
        super().__init__(message)
        self.message = message


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Interrupted


def _written() -> list | None:
    """The folders and files written in full so far (None: the writers are not loaded)."""
    writers = sys.modules.get("frictionsim.results.writers")
    return None if writers is None else writers.WRITTEN


#: Set to 1 to get the traceback of an unexpected error instead of its one line.
DEBUG_ENV = "FRICTIONSIM_DEBUG"


def os_error_line(exc: OSError) -> str:
    """One line for an operating-system error: the file and what went wrong."""
    if exc.errno == errno.ENOSPC:
        where = f" while writing {exc.filename}" if exc.filename else ""
        return f"no space left on device{where}"
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: What click raises to show the help for a command given no arguments (click >= 8.2).
_HELP_ERRORS = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _usage_line(exc: click.exceptions.UsageError, ctx: click.Context) -> None:
    """A usage error (an option out of range, a missing argument) as one line, as every
    other error, with where to read more, and its exit code (2)."""
    if isinstance(exc, _HELP_ERRORS):  # a bare `frictionsim`: the help, as click prints it
        raise exc
    where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
    message = one_line(exc.format_message()).rstrip(".")
    click.echo(f"error: {message}; see '{where} --help'", err=True)
    ctx.exit(exc.exit_code)


class _Group(click.Group):
    """Prints user-facing errors as clean lines with their exit codes.

    A last safety net turns anything else into one line and exit code 1: an
    ``OSError`` as ``error: FILE: reason``, any other exception as an internal
    error to report. With ``FRICTIONSIM_DEBUG=1`` those are raised instead.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:  # the group's own options (``frictionsim --bogus``)
            return super().parse_args(ctx, args)
        except click.exceptions.UsageError as exc:
            _usage_line(exc, ctx)
            raise  # not reached: _usage_line exits

    def invoke(self, ctx: click.Context) -> Any:
        written = _written()
        if written is not None:
            written.clear()
        try:
            return super().invoke(ctx)
        except ScenarioError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            ctx.exit(2)
        except FrictionsimError as exc:
            click.echo(f"error: {one_line(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            message = exc.message if isinstance(exc, Interrupted) else Interrupted().message
            written = _written()
            if written and message == Interrupted().message:  # it was, in full, before
                message = f"interrupted after the results were written in full to {written[-1]}"
            click.echo(message, err=True)
            ctx.exit(130)
        except click.exceptions.UsageError as exc:
            _usage_line(exc, ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            if isinstance(exc, OSError):
                line = os_error_line(exc)
            elif isinstance(exc, MemoryError):
                line = "out of memory; try fewer replications or a shorter horizon"
            elif type(exc).__name__ == "BrokenProcessPool":  # not imported for this test
                line = (
                    "a worker process ended abruptly (killed, or out of memory); nothing "
                    "was written; try again, or --jobs 1"
                )
            else:
                line = f"internal error ({type(exc).__name__}: {exc}); please report it"
            click.echo(f"error: {_one_line(line)}", err=True)
            ctx.exit(1)


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


# Options several commands share: the same name, type and range wherever they appear.
Decorator = Callable[[Any], Any]


def seed_option(default: str = "the scenario's") -> Decorator:
    """``--seed``: the root seed of the replications."""
    return click.option(
        "--seed", type=click.IntRange(0, 2**63 - 1), help=f"Seed (default: {default})."
    )


def replications_option(minimum: int, help: str) -> Decorator:
    """``--replications``/``-r``: at least ``minimum``, at most 100,000."""
    return click.option("--replications", "-r", type=click.IntRange(minimum, 100_000), help=help)


def _out_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    from .results import output_path

    return None if value is None else output_path(value)


def out_option(default: str) -> Decorator:
    """``--out``/``-o``: the results folder, ``default`` when not given (an empty name
    is refused: it would be the current folder)."""
    return click.option(
        "--out",
        "-o",
        type=click.Path(),
        callback=_out_path,
        help=f"Results folder (default: {default}).",
    )


def overrides_option(
    help: str = "Override a scenario value, e.g. steps.payment.capacity=8 (repeatable).",
) -> Decorator:
    """``--set PATH=VALUE`` (repeatable), passed as ``overrides``."""
    return click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE", help=help)


def no_charts_option(help: str = "Skip the PNG chart.") -> Decorator:
    """``--no-charts``: write the results without drawing."""
    return click.option("--no-charts", is_flag=True, help=help)


def jobs_option(help: str) -> Decorator:
    """``--jobs``/``-j``: worker processes, 1 to 1024."""
    return click.option("--jobs", "-j", type=click.IntRange(1, 1024), help=help)


def quiet_option(help: str) -> Decorator:
    """``--quiet``/``-q``: no progress and less printed."""
    return click.option("--quiet", "-q", is_flag=True, help=help)


def grid_options(what: str, values: str) -> Decorator:
    """``--param PATH`` and ``--values LIST|RANGE`` (repeatable, in pairs): a sweep's or an
    optimisation's grid."""

    def decorate(f: Any) -> Any:
        f = click.option(
            "--values",
            "values",
            multiple=True,
            required=True,
            metavar="LIST|RANGE",
            help=f"{values} of the matching --param: 5,10,15 or START:STOP:STEP (inclusive), "
            "e.g. 5:20:5.",
        )(f)
        return click.option(
            "--param",
            "params",
            multiple=True,
            required=True,
            metavar="PATH",
            help=f"Scenario path to {what}; give two for a grid.",
        )(f)

    return decorate


def parse_grid(params: Sequence[str], values: Sequence[str]) -> list[tuple[str, list[str]]]:
    """The ``(path, values)`` pairs of ``--param``/``--values``, or an :class:`OptionError`."""
    from .studies.sweep import parse_values

    if len(params) != len(values):
        raise OptionError("give one --values for each --param, in the same order")
    return [(p, parse_values(v)) for p, v in zip(params, values)]


def force_option(f: Any) -> Any:
    """``--force``: run work estimated beyond the limits of :func:`check_run_size`, and
    replace a results folder of another study."""
    return click.option(
        "--force",
        is_flag=True,
        help="Run even if the work is estimated beyond 30 min or 2e8 customers; replace a "
        "results folder of another scenario, other --set values or options.",
    )(f)


def execution_options(f: Any) -> Any:
    """``--jobs``, ``--engine``, ``--scheduler`` and ``--quiet``: how work runs (every simulating
    command)."""
    f = quiet_option("No progress and no table; print only the results folder.")(f)
    f = click.option(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        envvar="FRICTIONSIM_SCHEDULER",
        help="Run on this Dask cluster (needs frictionsim[dask]); env FRICTIONSIM_SCHEDULER.",
    )(f)
    f = click.option(
        "--engine",
        type=click.Choice(["auto", "simpy", "fast"]),
        default="auto",
        show_default=True,
        help="auto: vectorized fast path where it is exact (no loops; queues too), else SimPy.",
    )(f)
    return jobs_option("Worker processes (default: all cores; small runs stay serial).")(f)


@contextlib.contextmanager
def study_execution(
    label: str,
    quiet: bool,
    jobs: int | None,
    engine: str = "auto",
    scheduler: str | None = None,
    force: bool = False,
    unit: str = "replications",
) -> Any:
    """The :class:`~frictionsim.execution.Execution` of one command, with its progress
    bar: the study sets the total when it plans its work."""
    from .console import progress_bar
    from .execution import Execution

    with (
        progress_bar(label, None, quiet, unit) as advance,
        Execution(jobs, engine, scheduler, advance, force) as execution,
    ):
        yield execution


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@seed_option()
@replications_option(1, "Independent runs (default: the scenario's).")
@out_option("results/<name>/, with --set: results/<name>--<overrides>/")
@overrides_option()
@no_charts_option("Skip the PNG charts and report.md/report.html.")
@click.option(
    "--event-log",
    type=click.Choice(["csv", "xes"]),
    help="Also write every customer's events (events.csv or events.xes) for process mining.",
)
@click.option(
    "--precision",
    "precision",
    multiple=True,
    metavar="METRIC=HALFWIDTH",
    help="Run more replications, in batches, until the 95% CI half-width of METRIC (its "
    "path in summary.json) is at most HALFWIDTH, e.g. conversion_rate=0.005 (repeatable).",
)
@click.option(
    "--max-replications",
    type=click.IntRange(2, 100_000),
    help="With --precision: replications at most (default 1000).",
)
@click.option(
    "--uncertainty",
    is_flag=True,
    help="Each replication draws the parameters `frictionsim calibrate` fitted (the "
    "scenario's `uncertainty` section) from their fitted distribution.",
)
@force_option
@execution_options
def run(
    file: Path,
    seed: int | None,
    replications: int | None,
    out: Path | None,
    overrides: tuple[str, ...],
    no_charts: bool,
    event_log: str | None,
    precision: tuple[str, ...],
    max_replications: int | None,
    uncertainty: bool,
    force: bool,
    jobs: int | None,
    engine: str,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Simulate scenario FILE, print a summary and write the results folder."""
    from .console import print_precision, print_summary
    from .execution import check_run_size, estimate_run
    from .results import (
        check_writable,
        default_folder,
        event_folder,
        run_identity,
        write_error,
        write_study,
    )
    from .scenario import load_scenario, scenario_to_yaml
    from .studies import run as run_scenario
    from .studies.run import MAX_REPLICATIONS

    if event_log and engine == "fast":  # before anything is loaded or written
        from .studies.run import NO_FAST_EVENTS

        raise OptionError(NO_FAST_EVENTS)
    scenario = load_scenario(file, overrides)
    targets = _precision_targets(precision, max_replications, scenario)
    if uncertainty and scenario.uncertainty is None:
        raise OptionError(
            f"--uncertainty: {visible(str(file))} has no `uncertainty` section; "
            "`frictionsim calibrate` writes one into the scenario it calibrates"
        )
    most = max_replications or MAX_REPLICATIONS
    if not force:  # before the folder is looked at: a run too large is refused first
        check_run_size(estimate_run(scenario, most if targets else replications, jobs))
    out = out or default_folder(scenario.name, overrides)
    check_writable(out, run_identity(scenario_to_yaml(scenario)), force)
    with contextlib.ExitStack() as stack:
        event_dir = None
        if event_log:  # parts are written next to the results, then merged into the folder
            event_dir = stack.enter_context(event_folder(out))
        with study_execution(f"simulating {scenario.name}", quiet, jobs, engine, scheduler,
                             force) as execution:  # fmt: skip
            render = None
            if not no_charts:  # a worker loads matplotlib while this process simulates
                from .results.drawing import draw_split, render_shared, warm

                execution.hold(warm, draw_split)
                render = functools.partial(render_shared, execution)
            try:
                result = run_scenario(
                    scenario,
                    seed,
                    replications,
                    event_dir=event_dir,
                    execution=execution,
                    precision=targets,
                    max_replications=most,
                    uncertainty=uncertainty,
                )
            except OSError as exc:  # writing the event log's parts
                if event_dir is None:
                    raise
                raise write_error(exc, out / f"events.{event_log}") from None
            write_study(result, out, str(file), not no_charts, overrides, force,
                        event_log=event_log, render=render)  # fmt: skip
    print_summary(result.summary, out, result.runtime_seconds, quiet)
    if result.precision is not None:
        print_precision(result.precision, quiet)


def _precision_targets(
    given: tuple[str, ...], most: int | None, scenario: Any
) -> list[tuple[str, float]]:
    """``--precision METRIC=HALFWIDTH`` values, each metric checked against ``scenario``."""
    from .errors import OptionError
    from .metrics import check_path

    if most is not None and not given:
        raise OptionError("--max-replications: it limits --precision; give --precision too")
    targets: list[tuple[str, float]] = []
    for text in given:
        metric, sep, width = text.rpartition("=")
        if not sep or not metric:
            raise OptionError(f"--precision: {text!r}: expected METRIC=HALFWIDTH, "
                              "e.g. conversion_rate=0.005")  # fmt: skip
        try:
            value = float(width)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise OptionError(f"--precision: {text!r}: the half-width must be a number above 0")
        try:
            check_path(metric, scenario)
        except OptionError as exc:
            raise OptionError(f"--precision: {exc}") from None
        targets.append((metric, value))
    return targets


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@seed_option("the first's")
@replications_option(2, "Replications per design (default: the first design's).")
@out_option("results/compare-<names>/")
@click.option(
    "--independent",
    is_flag=True,
    help="Give each design its own seeds instead of common random numbers (Welch CIs).",
)
@overrides_option("Override a value in every design, e.g. arrivals.rate=200/h (repeatable).")
@no_charts_option()
@force_option
@execution_options
def compare(
    files: tuple[Path, ...],
    seed: int | None,
    replications: int | None,
    out: Path | None,
    independent: bool,
    overrides: tuple[str, ...],
    no_charts: bool,
    force: bool,
    jobs: int | None,
    engine: str,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Compare designs FILES (the first is the reference) with the same seeds per replication."""
    from .console import print_comparison
    from .results import check_writable, default_folder, study_identity, write_study
    from .scenario import load_scenario
    from .studies import check_comparable
    from .studies import compare as compare_designs

    designs = [load_scenario(f, overrides) for f in files]
    check_comparable(designs)
    out = out or default_folder("compare-" + "-".join(d.name for d in designs), overrides)
    check_writable(out, study_identity("compare", designs), force)
    with study_execution("comparing designs", quiet, jobs, engine, scheduler, force) as execution:
        result = compare_designs(
            designs,
            seed,
            replications,
            common_random_numbers=not independent,
            execution=execution,
        )
    write_study(result, out, [str(f) for f in files], not no_charts, overrides, force)
    print_comparison(result.document, out, result.runtime_seconds, quiet)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@grid_options("vary, e.g. steps.account.fields", "Values")
@click.option(
    "--metric",
    default="conversion_rate",
    show_default=True,
    help="Metric drawn in the chart, by its path in summary.json: conversion_rate, nps, "
    "profit, steps.<step>.<metric>, segments.<segment>.<metric> (sweep.csv has them all).",
)
@seed_option()
@replications_option(1, "Replications per point (default: the scenario's).")
@out_option("results/sweep-<name>--<param>=<values>/")
@overrides_option("Override a scenario value at every point (repeatable).")
@click.option("--resume", is_flag=True, help="Skip points an interrupted run already finished.")
@no_charts_option()
@force_option
@execution_options
def sweep(
    file: Path,
    params: tuple[str, ...],
    values: tuple[str, ...],
    metric: str,
    seed: int | None,
    replications: int | None,
    out: Path | None,
    overrides: tuple[str, ...],
    resume: bool,
    no_charts: bool,
    force: bool,
    jobs: int | None,
    engine: str,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Run scenario FILE at every value of --param (two: a grid), with the same seeds."""
    import itertools

    from .results import check_writable, default_folder, sweep_identity, write_study
    from .scenario import load_scenario
    from .studies import sweep as run_sweep
    from .studies.sweep import partial_path

    grid = parse_grid(params, values)
    scenario = load_scenario(file, overrides)
    variations = [f"{p}={v}" for p, v in zip(params, values)] + list(overrides)
    out = out or default_folder(f"sweep-{scenario.name}", variations)
    points = list(itertools.product(*(vals for _, vals in grid)))
    check_writable(out, sweep_identity(scenario, params, points), force)
    partial = partial_path(out)
    label = f"sweeping {scenario.name}"
    try:
        with study_execution(label, quiet, jobs, engine, scheduler, force) as execution:
            result = run_sweep(
                scenario,
                grid,
                seed=seed,
                replications=replications,
                metric=metric,
                partial=partial,
                resume=resume,
                execution=execution,
            )
    except KeyboardInterrupt:
        if partial.is_file():
            raise Interrupted(
                f"interrupted; no results folder was written, finished points are kept in "
                f"{partial}: add --resume to go on"
            ) from None
        raise
    write_study(result, out, str(file), not no_charts, overrides, force, scenario=scenario)
    partial.unlink(missing_ok=True)
    if result.damaged_lines:
        click.echo(
            f"warning: {result.damaged_lines} damaged line(s) of {partial.name} were not "
            "used; their points were simulated again",
            err=True,
        )
    if quiet:
        click.echo(visible(out))
    else:
        resumed = f", {result.resumed_points} resumed" if result.resumed_points else ""
        click.echo(
            f"{len(result.points)} points{resumed}; results in {visible(out)}/ "
            f"({result.runtime_seconds:.1f} s)"
        )


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--metric",
    default="conversion_rate",
    show_default=True,
    help="Metric to rank by, by its path in summary.json: conversion_rate, nps, profit, "
    "steps.<step>.<metric>, segments.<segment>.<metric>.",
)
@click.option(
    "--delta",
    type=float,
    default=10.0,
    show_default=True,
    help="Move each parameter this many percent down and up (Sobol: its range).",
)
@click.option(
    "--method",
    type=click.Choice(["oat", "sobol"]),
    default="oat",
    show_default=True,
    help="oat: one at a time, tornado chart; sobol: Sobol indices (needs frictionsim[sobol]).",
)
@click.option(
    "--samples",
    type=click.IntRange(2, 1_000_000),
    default=64,
    show_default=True,
    help="Sobol base samples (runs: samples × (parameters + 2)).",
)
@seed_option()
@replications_option(2, "Replications per run, oat only (default: the scenario's).")
@out_option(
    "results/sensitivity-<name>/, other options and --set: results/sensitivity-<name>--<options>/"
)
@overrides_option("Override a scenario value first (repeatable).")
@no_charts_option()
@force_option
@execution_options
def sensitivity(
    file: Path,
    metric: str,
    delta: float,
    method: str,
    samples: int,
    seed: int | None,
    replications: int | None,
    out: Path | None,
    overrides: tuple[str, ...],
    no_charts: bool,
    force: bool,
    jobs: int | None,
    engine: str,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Rank the numeric parameters of scenario FILE by their effect on --metric."""
    from .console import print_sensitivity
    from .metrics import check_path
    from .results import check_writable, default_folder, sensitivity_identity, write_study
    from .scenario import load_scenario
    from .studies import sensitivity as rank_parameters

    scenario = load_scenario(file, overrides)
    check_path(metric, scenario)
    options = [
        *(["method=sobol"] if method == "sobol" else []),
        *([f"metric={metric}"] if metric != "conversion_rate" else []),
        *([f"delta={delta:g}"] if delta != 10.0 else []),
        *([f"samples={samples}"] if method == "sobol" and samples != 64 else []),
    ]
    out = out or default_folder(f"sensitivity-{scenario.name}", [*options, *overrides])
    check_writable(out, sensitivity_identity(scenario, method, metric, delta, samples), force)
    label = f"ranking parameters of {scenario.name}"
    with study_execution(label, quiet, jobs, engine, scheduler, force, "runs") as execution:
        result = rank_parameters(
            scenario, metric, delta, method, samples, seed, replications, execution=execution
        )
    write_study(result, out, str(file), not no_charts, overrides, force)
    print_sensitivity(result.document, out, result.runtime_seconds, quiet)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@grid_options("choose, e.g. steps.desk.capacity", "Candidate values")
@click.option(
    "--objective",
    required=True,
    metavar="max:METRIC|min:METRIC",
    help="What to maximise or minimise: a metric of summary.json by its path (max:profit) "
    "or one of the --param paths (min:steps.desk.capacity: the fewest).",
)
@click.option(
    "--constraint",
    "constraints",
    multiple=True,
    metavar="'METRIC<=VALUE'",
    help="A bound every chosen point must meet (<=, >=, <, >), e.g. "
    "'steps.desk.abandon_rate<=0.02' (repeatable).",
)
@click.option(
    "--exhaustive", is_flag=True, help="Evaluate every point instead of searching (bisection)."
)
@seed_option()
@replications_option(2, "Replications per point (default: the scenario's).")
@out_option("results/optimize-<name>/")
@overrides_option("Override a scenario value at every point (repeatable).")
@no_charts_option()
@force_option
@execution_options
def optimize(
    file: Path,
    params: tuple[str, ...],
    values: tuple[str, ...],
    objective: str,
    constraints: tuple[str, ...],
    exhaustive: bool,
    seed: int | None,
    replications: int | None,
    out: Path | None,
    overrides: tuple[str, ...],
    no_charts: bool,
    force: bool,
    jobs: int | None,
    engine: str,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Find the best --param values of scenario FILE for --objective, within --constraint."""
    from .console import print_optimum
    from .results import check_writable, default_folder, optimum_identity, write_study
    from .scenario import load_scenario
    from .studies import optimize as find_optimum

    grid = parse_grid(params, values)
    scenario = load_scenario(file, overrides)
    variations = [f"{p}={v}" for p, v in zip(params, values)]
    variations += [f"objective={objective}", *(f"constraint={c}" for c in constraints)]
    out = out or default_folder(f"optimize-{scenario.name}", [*variations, *overrides])
    identity = optimum_identity(scenario, grid, objective, list(constraints))
    check_writable(out, identity, force)
    label = f"optimizing {scenario.name}"
    with study_execution(label, quiet, jobs, engine, scheduler, force) as execution:
        result = find_optimum(
            scenario,
            grid,
            objective,
            constraints,
            seed,
            replications,
            exhaustive=exhaustive,
            execution=execution,
        )
    write_study(result, out, str(file), not no_charts, overrides, force, identity=identity)
    print_optimum(result.document, out, result.runtime_seconds, quiet)


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--change",
    "changes",
    type=click.Choice(["remove", "halve"]),
    multiple=True,
    help="What happens to a step's friction (default: both): removed (0) or halved.",
)
@seed_option()
@replications_option(2, "Replications of every variant (default: the scenario's).")
@out_option("results/improve-<name>/")
@overrides_option("Override a scenario value first (repeatable).")
@no_charts_option()
@force_option
@execution_options
def improve(
    file: Path,
    changes: tuple[str, ...],
    seed: int | None,
    replications: int | None,
    out: Path | None,
    overrides: tuple[str, ...],
    no_charts: bool,
    force: bool,
    jobs: int | None,
    engine: str,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Rank the steps of FILE by the revenue a year recovered if their friction went."""
    from .console import print_improvements
    from .results import check_writable, default_folder, study_identity, write_study
    from .scenario import load_scenario
    from .studies import improve as rank_steps

    scenario = load_scenario(file, overrides)
    chosen = [f"change={c}" for c in dict.fromkeys(changes)] if changes else []
    out = out or default_folder(f"improve-{scenario.name}", [*chosen, *overrides])
    changes = tuple(dict.fromkeys(changes)) or ("remove", "halve")
    identity = study_identity("improve", scenario, sorted(set(changes)))
    check_writable(out, identity, force)
    label = f"ranking steps of {scenario.name}"
    with study_execution(label, quiet, jobs, engine, scheduler, force) as execution:
        result = rank_steps(scenario, changes, seed, replications, execution=execution)
    write_study(result, out, str(file), not no_charts, overrides, force, identity=identity)
    print_improvements(result.document, out, result.runtime_seconds, quiet)


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
def report(folder: Path) -> None:
    """Redraw the charts, report.md and report.html of results FOLDER (no simulation)."""
    from .results import write_report

    for path in write_report(folder):
        click.echo(path)


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    help="The animation: .gif (Pillow) or .mp4 (needs ffmpeg); default FOLDER/animation.gif.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(0.2, 600),
    default=15.0,
    show_default=True,
    help="Length of the animation; the whole replication is spread over it.",
)
@click.option("--fps", type=click.IntRange(1, 50), default=10, show_default=True,
              help="Frames a second.")  # fmt: skip
@click.option(
    "--replication",
    type=click.IntRange(0, None),
    default=0,
    show_default=True,
    help="Which replication of the event log.",
)
@force_option
def animate(
    folder: Path, out: Path | None, seconds: float, fps: int, replication: int, force: bool
) -> None:
    """Animate the event log of run FOLDER (frictionsim run FILE --event-log csv): customers
    at each step and in its queue, and the orders, abandonments and exits so far."""
    from .results.animating import write_animation

    def say(text: str) -> None:
        click.echo(text, err=True)

    written = write_animation(folder, out, seconds, fps, replication, force, announce=say)
    click.echo(visible(str(written)))


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--funnel",
    required=True,
    type=click.Path(path_type=Path),
    help="Observed funnel: a CSV step,entered[,completed][,segment], or an analytics "
    "export (GA4, PostHog, Amplitude, Mixpanel; see --funnel-format).",
)
@click.option(
    "--funnel-format",
    type=click.Choice(
        ["auto", "frictionsim", "ga4", "ga4-json", "posthog", "amplitude", "mixpanel"]
    ),
    default="auto",
    show_default=True,
    help="Format of --funnel; auto tells it from the content.",
)
@click.option(
    "--step-map",
    "step_map",
    multiple=True,
    metavar="'TOOL STEP=STEP'",
    help="Scenario step of an export's step (repeatable); 'TOOL STEP=' leaves it out. "
    "Default: by name, then by position.",
)
@click.option(
    "--fit",
    default="exit",
    show_default=True,
    help="Parameters to fit: exit, irritation, errors (errors.p), duration (mean minutes, "
    "from the funnel's times to convert), tolerance, rate; a kind may name its steps "
    "(exit:cart+review).",
)
@click.option(
    "--steps",
    help="Steps whose exit/irritation/errors/duration are fitted (default: all observed; "
    "duration: those with times).",
)
@click.option(
    "--out", "-o", required=True, type=click.Path(path_type=Path), help="Calibrated scenario YAML."
)
@seed_option()
@click.option(
    "--sample",
    type=click.FloatRange(1, 1000),
    default=5.0,
    show_default=True,
    help="Simulated visitors per observed visitor in each evaluation.",
)
@click.option(
    "--max-evaluations",
    type=click.IntRange(10, 100_000),
    default=400,
    show_default=True,
    help="Optimiser evaluations at most.",
)
@jobs_option("Worker processes.")
@overrides_option()
@click.option(
    "--force",
    is_flag=True,
    help="Run even if estimated beyond 30 min or 2e8 customers; replace --out (and its "
    ".fit.csv, .fit.png, .report.html) though frictionsim calibrate did not write it.",
)
@click.option(
    "--hourly",
    type=click.Path(path_type=Path),
    help="A CSV hour,entered (hours 0-23): fit the arrival profile to these entries first.",
)
@quiet_option("No progress and no tables.")
def calibrate(
    file: Path,
    funnel: Path,
    funnel_format: str,
    step_map: tuple[str, ...],
    fit: str,
    steps: str | None,
    out: Path,
    seed: int | None,
    sample: float,
    max_evaluations: int,
    jobs: int | None,
    overrides: tuple[str, ...],
    force: bool,
    hourly: Path | None,
    quiet: bool,
) -> None:
    """Fit scenario FILE to an observed funnel; write the calibrated scenario to --out."""
    import time

    from .console import print_calibration
    from .funnel_data import load_funnel, load_hourly
    from .results import write_study
    from .scenario import load_scenario
    from .studies.calibrate import calibrate as fit_scenario
    from .studies.calibrate import check_output

    check_output(out, [file, funnel, *([hourly] if hourly else [])], force)
    scenario = load_scenario(file, overrides)
    observed = load_funnel(funnel, scenario, funnel_format, step_map)
    entries = load_hourly(hourly) if hourly is not None else None
    for warning in observed.warnings:
        click.echo(f"warning: {warning}", err=True)
    start = time.perf_counter()
    with study_execution("calibrating", quiet, jobs, force=force, unit="evaluations") as execution:
        result = fit_scenario(
            scenario, observed, fit, steps, seed, sample, max_evaluations,
            execution=execution, hourly=entries,
        )  # fmt: skip
    write_study(result, out, str(file), force=force)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    print_calibration(result, out, time.perf_counter() - start, quiet)


def main() -> None:
    """Entry point of the ``frictionsim`` command."""
    signal.signal(signal.SIGTERM, _on_sigterm)  # a terminated run cleans up like Ctrl-C
    try:
        cli(prog_name="frictionsim")
    except SystemExit as exc:
        if exc.code == 130:
            # Interrupted: everything is cleaned up and said. Leave without the exit
            # handlers, which may race the worker pool just killed and print a
            # traceback of their own after the one line.
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            os._exit(130)
        # done: a Ctrl-C now, while the interpreter shuts down, cannot undo anything
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise
