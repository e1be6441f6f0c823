"""Results folders: written atomically, with provenance, and never over someone's files.

A run's folder holds ``summary.json`` (the contract), ``funnel.csv`` (one row
per step and replication), ``distributions.json`` (histograms behind the
irritation, waiting and checkout-time charts), ``scenario.resolved.yaml``
(every default filled in), ``run.json`` (seed, versions, command, runtime,
scenario hash, overrides, and the list of the files frictionsim wrote there),
the PNG charts and ``report.md``/``report.html``. It is assembled in a hidden
sibling folder and renamed into place only when complete, so an interrupted or
failed run leaves either the previous folder or the new one, never a
half-written one. Ctrl-C and SIGTERM are held back for the moment the previous
folder is swapped for the new one (and two runs writing the same folder take
turns for it), and hidden folders left by a process that was killed outright
(SIGKILL, power loss) are cleaned up, or put back, by the next write.

What may be replaced: a folder is replaced only if it is a frictionsim results
folder (a ``run.json`` written by frictionsim) holding nothing but the files
frictionsim wrote there (``run.json`` lists them; a folder written before it did
is judged by the names frictionsim writes), and only by results of the same
study (same scenario, overrides and options, the ``identity`` in ``run.json``)
unless forced. Anything else is refused before any work, naming what is in the
way. A symbolic link as the folder is followed: the folder it points to is
written, atomically, and the link stays.

:func:`write_report` redraws the charts and the report of an existing folder
from its stored documents, without simulating; it first checks every document
(:mod:`frictionsim.documents`) and never replaces a file that frictionsim did not
write. Its files are all written under temporary names first, then renamed, so a
full disk leaves the previous files.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import platform
import re
import shutil
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from . import documents
from .errors import ResultsError

#: The file that marks a folder as a frictionsim results folder.
MARKER = "run.json"
#: Optional documents a report draws when present (written by other features).
OPTIONAL_DOCUMENTS = {
    "distributions": "distributions.json",
    "word_of_mouth": "word_of_mouth.json",
}
#: Every name frictionsim writes in a results folder (besides ``DESIGN.resolved.yaml``
#: of a comparison): what a folder whose ``run.json`` does not list its files may hold.
KNOWN_FILES = frozenset(
    {
        MARKER,
        "summary.json",
        "funnel.csv",
        "scenario.resolved.yaml",
        "distributions.json",
        "word_of_mouth.json",
        "events.csv",
        "events.xes",
        "funnel.png",
        "lost_revenue.png",
        "irritation.png",
        "waiting.png",
        "checkout_time.png",
        "word_of_mouth.png",
        "report.md",
        "report.html",
        "comparison.json",
        "comparison.csv",
        "differences.png",
        "sweep.json",
        "sweep.csv",
        "sweep.png",
        "sensitivity.json",
        "sensitivity.csv",
        "tornado.png",
        "sobol.png",
        "optimum.json",
        "optimum.csv",
        "optimum.png",
        "improvements.json",
        "improvements.csv",
        "improvements.png",
    }
)
#: Files an operating system's file manager leaves in any folder it shows: not the
#: user's work, so they do not keep a results folder from being replaced.
SYSTEM_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
#: Longest file name (bytes) the usual filesystems accept.
NAME_MAX = 255
#: At most this many of the files in the way are named in a refusal.
SHOWN = 5


def _read_marker(folder: Path) -> dict[str, Any] | None:
    """The ``run.json`` document of ``folder`` if frictionsim wrote it, else ``None``."""
    path = Path(folder) / MARKER
    try:
        if not path.is_file():
            return None
        data = documents.read_json(path)
    except (ResultsError, OSError):
        return None
    return data if isinstance(data, dict) and "frictionsim_results" in data else None


def is_results_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a ``run.json`` written by frictionsim."""
    return _read_marker(folder) is not None


# ------------------------------------------------------------------ where results go


def output_path(text: str) -> Path:
    """``--out`` as given: refuses an empty name (which would mean the current folder)."""
    if not str(text).strip():
        raise ResultsError(
            f"--out {text!r}: empty; give the results folder's name, such as results/NAME"
        )
    return Path(text)


_UNSAFE = re.compile(r"[^A-Za-z0-9._=+,-]")
#: Default folder names are cut (and given a digest of what was cut) beyond this.
MAX_DEFAULT_NAME = 120


def folder_slug(variations: Sequence[str]) -> str:
    """A readable file-name form of overrides and options (``steps.payment.capacity=8``;
    several joined by ``--``); characters that are not safe in file names become ``_``."""
    return "--".join(_UNSAFE.sub("_", v) for v in variations)


def default_folder(base: str, variations: Sequence[str] = ()) -> Path:
    """``results/BASE/``, or ``results/BASE--SLUG/`` for a study with overrides or
    options (:func:`folder_slug`); a name longer than :data:`MAX_DEFAULT_NAME`
    characters is cut and ends with a digest of all of them, so it stays unique."""
    if not variations:
        return Path("results") / base
    name = f"{base}--{folder_slug(variations)}"
    if len(name) > MAX_DEFAULT_NAME:
        digest = hashlib.sha256("\n".join(variations).encode()).hexdigest()[:10]
        name = name[: MAX_DEFAULT_NAME - len(digest) - 1].rstrip("-._=,+") + "-" + digest
    return Path("results") / name


def identity(kind: str, *parts: Any) -> str:
    """What a folder's results are of: the kind of study and a digest of everything that
    decides them but the seed and replications (resolved scenarios, overrides, options)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()}"


def run_identity(resolved_yaml: str) -> str:
    """A run's identity: its resolved scenario (file content and overrides applied). It
    is ``run:`` + ``scenario_sha256``, so folders written before ``identity`` was
    recorded are recognised too."""
    return f"run:{sha256(resolved_yaml)}"


def recorded_identity(folder: Path) -> str | None:
    marker = _read_marker(folder)
    if marker is None:
        return None
    if isinstance(marker.get("identity"), str):
        return marker["identity"]
    sha = marker.get("scenario_sha256")
    if "kind" not in marker and isinstance(sha, str):
        return f"run:{sha}"  # a run folder of an earlier version
    return None


def target_of(out: Path) -> Path:
    """Where ``out`` really is: a symbolic link (anywhere in the path) is followed, so
    the folder it points to is the one written."""
    out = Path(out)
    try:
        return Path(os.path.realpath(out, strict=False))
    except (OSError, RuntimeError, ValueError) as exc:
        raise ResultsError(f"{out}: cannot follow this path ({exc})") from None


def _mount_points() -> set[str]:
    """Mount points from ``/proc/self/mountinfo`` (bind mounts of a folder included,
    which ``os.path.ismount`` cannot see); empty where there is no such file."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return set()
    found = set()
    for line in lines:
        fields = line.split()
        if len(fields) > 4:
            found.add(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[4]))
    return found


def is_mount_point(path: Path) -> bool:
    try:
        return os.path.ismount(path) or str(path) in _mount_points()
    except OSError:
        return False


def check_writable(out: Path, identity: str | None = None, force: bool = False) -> None:
    """Refuse, before any work, an output folder that cannot or must not be replaced.

    ``identity``: what the new results are of (:func:`identity`); a folder of other
    results is refused unless ``force``. The folder is looked at while no other
    frictionsim swaps folders beside it (:func:`_turn`), so a run finishing meanwhile
    is seen before or after its swap, never halfway.
    """
    with _turn(_nearest_existing(target_of(Path(out)).parent)):
        _check_writable(out, identity, force)


def _check_writable(out: Path, identity: str | None, force: bool) -> None:
    out = Path(out)
    target = target_of(out)
    try:
        cwd = Path.cwd().resolve()
    except OSError:
        cwd = None
    if cwd is not None and (target == cwd or target in cwd.parents):
        raise ResultsError(
            f"--out {out}: is the current folder or holds it, which cannot be replaced; "
            "give a folder to create or replace, such as results/NAME"
        )
    if len(os.fsencode(target.name)) > NAME_MAX:
        raise ResultsError(
            f"{out}: the folder name is too long ({len(os.fsencode(target.name))} bytes; "
            f"at most {NAME_MAX})"
        )
    if os.path.lexists(target) and not target.is_dir():
        what = "a broken symbolic link" if not target.exists() else "a file"
        raise ResultsError(f"{out}: exists and is {what}, not a results folder")
    above = _nearest_existing(out.parent)  # as given, for the message
    if above.exists() and not above.is_dir():
        raise ResultsError(f"{above}: is a file, so {out} cannot be made inside it")
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ResultsError(f"{ancestor}: is a file, so {out} cannot be made inside it")
    if target.is_dir():
        if is_mount_point(target):
            raise ResultsError(
                f"{out}: is a mount point; a results folder is swapped into place by "
                f"renaming, which a mount point cannot be. Use a folder inside it, such as "
                f"{out / 'results'}"
            )
        _check_replaceable(out, target, identity, force)
    if not os.access(ancestor, os.W_OK):
        raise ResultsError(f"{ancestor}: cannot write here (read-only or no permission)")


def _nearest_existing(path: Path) -> Path:
    for above in (path, *path.parents):
        if os.path.lexists(above):
            return above
    return Path(".")


def _check_replaceable(out: Path, target: Path, identity: str | None, force: bool) -> None:
    try:
        empty = not any(target.iterdir())
    except OSError as exc:
        raise ResultsError(f"{out}: cannot read it ({exc.strerror})") from None
    if empty:
        return
    if not is_results_folder(target):
        raise ResultsError(
            f"{out}: exists and is not a frictionsim results folder (no {MARKER}); "
            "refusing to overwrite it, choose another --out"
        )
    foreign, more = foreign_files(target)
    if foreign:
        raise ResultsError(
            f"{out}: holds files that frictionsim did not write ({_listing(foreign, more)}), "
            f"which replacing the folder would delete; move them out of {out}, or choose "
            "another --out"
        )
    recorded = recorded_identity(target)
    if identity and recorded and recorded != identity and not force:
        raise ResultsError(
            f"{out}: holds the results of another {_kind_words(recorded)} (other scenario "
            "file content, --set overrides or options); add --force to replace them, or "
            "choose another --out"
        )


def _kind_words(identity_: str) -> str:
    kind = identity_.partition(":")[0]
    return {"run": "run", "compare": "comparison", "sweep": "sweep"}.get(kind, kind)


def _listing(names: Sequence[str], more: int) -> str:
    shown = ", ".join(names[:SHOWN])
    rest = len(names) - SHOWN + more
    return shown + (f" and {rest} more" if rest > 0 else "")


def owned_files(folder: Path, marker: dict[str, Any] | None = None) -> set[str]:
    """The names of the files frictionsim wrote in ``folder``: the list in its
    ``run.json``, or for a folder written before that list existed, the names
    frictionsim writes (:data:`KNOWN_FILES`)."""
    marker = _read_marker(folder) if marker is None else marker
    if marker is None:
        return set()
    listed = marker.get("files")
    if isinstance(listed, list) and all(isinstance(n, str) for n in listed):
        return {*listed, MARKER}
    designs = marker.get("designs") if isinstance(marker.get("designs"), list) else []
    return {*KNOWN_FILES, *(f"{d}.resolved.yaml" for d in designs if isinstance(d, str))}


_TEMP = re.compile(r"^\.(.+)\.tmp-(\d+)$")


def _is_temporary(name: str, owned: set[str]) -> bool:
    """A temporary file frictionsim writes beside one of its files (``.NAME.tmp-PID``)."""
    m = _TEMP.match(name)
    return bool(m) and (m[1] in owned or m[1] in {_short(n) for n in owned})


def foreign_files(folder: Path, limit: int = 1000) -> tuple[list[str], int]:
    """Files (and links, folders) in results ``folder`` that frictionsim did not write,
    as paths relative to it, sorted; at most ``limit``, and how many more there are."""
    folder = Path(folder)
    owned = owned_files(folder)
    found: list[str] = []
    more = 0

    def add(name: str) -> None:
        nonlocal more
        if len(found) < limit:
            found.append(name)
        else:
            more += 1

    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        name = entry.name
        if name in SYSTEM_FILES:
            continue
        if entry.is_symlink():
            add(name)
        elif entry.is_dir():
            inside = False
            for root, dirs, files in os.walk(entry.path):
                dirs.sort()
                for f in sorted(files):
                    inside = True
                    add(os.path.relpath(os.path.join(root, f), folder))
                if more > limit:
                    break
            if not inside:
                add(name + "/")
        elif (name in owned and entry.is_file()) or _is_temporary(name, owned):
            continue
        else:
            add(name)
    return found, more


# ------------------------------------------------------------------ hidden siblings


def _short(name: str) -> str:
    return "frictionsim-" + hashlib.sha256(os.fsencode(name)).hexdigest()[:16]


def hidden_name(name: str, kind: str, pid: int | None = None) -> str:
    """``.NAME.KIND-PID``: a hidden sibling of ``NAME`` (a temporary folder or file, the
    previous folder moved aside, an event log being written). When that would be longer
    than the filesystem allows, ``NAME`` is replaced by a digest of it."""
    pid = os.getpid() if pid is None else pid
    full = f".{name}.{kind}-{pid}"
    if len(os.fsencode(full)) <= NAME_MAX:
        return full
    return f".{_short(name)}.{kind}-{pid}"


#: Kinds of hidden siblings of a results folder.
SIBLING_KINDS = ("tmp", "old", "events")


def _stale_folders(out: Path) -> Iterator[tuple[Path, str, int]]:
    """Hidden ``.NAME.KIND-PID`` siblings of ``out`` (``NAME`` possibly a digest)."""
    prefixes = (f".{out.name}.", f".{_short(out.name)}.")
    for path in out.parent.iterdir():
        for prefix in prefixes:
            if path.name.startswith(prefix):
                kind, _, pid = path.name.removeprefix(prefix).partition("-")
                if kind in SIBLING_KINDS and pid.isdigit():
                    yield path, kind, int(pid)
                break


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def recover_stale(out: Path) -> None:
    """Clean up after a write that was killed outright (no chance to tidy up).

    A ``.old`` folder with no ``out`` beside it is the previous results, moved
    aside just before the kill: it is put back. Everything else of a process
    that no longer runs (a half-written folder, an event log) is removed.
    """
    out = Path(out)
    try:
        if not out.parent.is_dir():
            return
        stale = sorted(_stale_folders(out), key=lambda t: t[1] != "old")
    except OSError:
        return
    for path, kind, pid in stale:
        if pid == os.getpid() or _alive(pid):
            continue  # another run writing the same folder right now
        if kind == "old" and not os.path.lexists(out) and is_results_folder(path):
            path.rename(out)
        else:
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def event_folder(out: Path) -> Iterator[Path]:
    """A hidden folder beside ``out`` for a run's event-log parts (``.NAME.events-PID``),
    removed afterwards; leftovers of a killed run are removed by the next write."""
    target = target_of(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_stale(target)
    path = target.parent / hidden_name(target.name, "events")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _turn(parent: Path) -> Iterator[None]:
    """One writer at a time swaps folders in ``parent`` (an advisory lock on it)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    try:
        # a folder only (never blocks on a named pipe in the way)
        fd = os.open(parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_error(exc: OSError, final: Path) -> ResultsError:
    """One line for a failed write of ``final``: the disk is full, or why not."""
    if exc.errno == errno.ENOSPC:
        return ResultsError(f"no space left on device while writing {final}")
    if exc.errno == errno.EDQUOT:
        return ResultsError(f"disk quota exceeded while writing {final}")
    return ResultsError(f"{final}: cannot write it ({exc.strerror or exc})")


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Name ``path`` in an ``OSError`` raised while writing it (``write()`` on a full
    disk says only "no space left", not where)."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            exc.filename = str(path)
        raise


def _final_name(exc: OSError, tmp: Path, out: Path) -> Path:
    """The file of ``out`` that was being written when ``exc`` happened in ``tmp``."""
    try:
        return out / Path(exc.filename).relative_to(tmp)
    except (TypeError, ValueError):
        return out


_NUMBER_LIST = re.compile(r"\[\s+([-+0-9.eE,\s]+?)\s+\]")


def json_text(data: Any, inline_number_lists: bool = False) -> str:
    """Stable JSON: fixed key order as given, no NaN (written as null). With
    ``inline_number_lists``, a list of numbers stays on one line (histograms)."""
    text = json.dumps(_no_nan(data), indent=2, allow_nan=False)
    if inline_number_lists:
        text = _NUMBER_LIST.sub(
            lambda m: "[" + ", ".join(x.strip() for x in m[1].split(",")) + "]", text
        )
    return text + "\n"


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value


#: Text that a spreadsheet would run as a formula (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, CR), e.g.
    a ``--values`` item, prefixed with ``'`` so that spreadsheets show it as text.
    Numbers, and text that is a plain number (``-5``), are left alone."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_START)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """CSV of ``rows`` in ``columns``: floats exactly (``repr``), text spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([spreadsheet_safe(c) for c in columns])
    for row in rows:
        writer.writerow(
            [
                repr(v) if isinstance(v, float) else spreadsheet_safe(v)
                for v in (row.get(c, "") for c in columns)
            ]
        )
    return buffer.getvalue()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def versions() -> dict[str, str]:
    """Versions of frictionsim, Python and the libraries that shape results."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    found = {"frictionsim": __version__, "python": platform.python_version()}
    for name in ("numpy", "simpy", "scipy", "pydantic", "matplotlib"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "unknown"
    return found


def write_folder(
    out: Path,
    files: dict[str, str],
    extra: Callable[[Path], Any] | None = None,
    marker: dict[str, Any] | None = None,
    force: bool = False,
) -> Path:
    """Write ``files`` (name → text), ``extra(folder)`` output and ``run.json`` (the
    ``marker`` document, with the list of every file written) into ``out`` atomically.

    ``out`` is checked as by :func:`check_writable` (with the marker's ``identity``)
    before writing and again just before the swap, when another run may have written
    it meanwhile. A failed write (a full disk) leaves the previous folder and no
    hidden one, and is reported as one line naming the file.
    """
    out = Path(out)
    files = dict(files)
    if marker is None and MARKER in files:
        marker = json.loads(files.pop(MARKER))
    marker = dict(marker or {"frictionsim_results": 1})
    ident = marker.get("identity")
    check_writable(out, ident, force)
    target = target_of(out)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, Path(exc.filename or target.parent)) from None
    recover_stale(target)
    tmp = target.parent / hidden_name(target.name, "tmp")
    old = target.parent / hidden_name(target.name, "old")
    shutil.rmtree(tmp, ignore_errors=True)
    swapped = False
    try:
        try:
            tmp.mkdir()
            for name, text in files.items():
                with writing(tmp / name):
                    (tmp / name).write_text(text, encoding="utf-8")
            if extra is not None:
                extra(tmp)
            written = {p.name for p in tmp.iterdir()}
            marker["files"] = sorted({*written, MARKER})
            with writing(tmp / MARKER):
                (tmp / MARKER).write_text(json_text(marker), encoding="utf-8")
        except OSError as exc:
            raise write_error(exc, _final_name(exc, tmp, out)) from None
        with _signals_held(), _turn(target.parent):
            _check_writable(out, ident, force)  # another run may have written it meanwhile
            try:
                if os.path.lexists(target):
                    target.rename(old)
                tmp.rename(target)
            except OSError as exc:
                if exc.errno in (errno.EBUSY, errno.EXDEV):
                    raise ResultsError(
                        f"{out}: cannot be replaced by renaming (a mount point?); "
                        "use a folder inside it"
                    ) from None
                raise write_error(exc, out) from None
            swapped = True
        shutil.rmtree(old, ignore_errors=True)  # interruptible: the new folder stands
    except KeyboardInterrupt:
        if swapped:  # held back during the swap: the new folder is complete, so it stands
            shutil.rmtree(old, ignore_errors=True)
            return out
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not os.path.lexists(target):
            old.rename(target)
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not os.path.lexists(target):
            old.rename(target)  # put the previous results back
        raise
    return out


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while the old folder is swapped for the new one."""
    signals = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    except (AttributeError, ValueError, OSError):  # not POSIX, or not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def provenance(**fields: Any) -> dict[str, Any]:
    """The ``run.json`` document: what was run, with what, and how long it took."""
    return {
        "frictionsim_results": 1,
        **fields,
        "versions": versions(),
        "platform": platform.platform(),
        "command": sys.argv,
    }


def write_run(
    run: Any,
    out: Path,
    scenario_file: str | None = None,
    charts: bool = True,
    event_log: str | None = None,
    overrides: Sequence[str] = (),
    force: bool = False,
) -> Path:
    """Write the results folder of a completed :class:`~frictionsim.studies.run.Run`.

    With ``event_log`` ("csv" or "xes"), the replications' event parts in
    ``run.event_dir`` are merged into ``events.csv`` or ``events.xes``.
    ``overrides`` (the ``--set`` values the scenario was loaded with) are recorded
    in ``run.json`` and shown in every chart title and the report. A folder of
    another scenario (or other overrides) is replaced only with ``force``.
    """
    from .scenario import scenario_to_yaml
    from .stats import FUNNEL_COLUMNS, distributions, funnel_rows, word_of_mouth_data

    resolved = scenario_to_yaml(run.scenario)
    files = {
        "summary.json": json_text(run.summary),
        "funnel.csv": csv_text(funnel_rows(run.scenario, run.results), FUNNEL_COLUMNS),
        "scenario.resolved.yaml": resolved,
    }
    marker = provenance(
        scenario=run.scenario.name,
        scenario_file=scenario_file,
        scenario_sha256=sha256(resolved),
        overrides=list(overrides),
        identity=run_identity(resolved),
        seed=run.seed,
        replications=len(run.results),
        jobs=run.jobs,
        engine=getattr(run, "engine", None),
        runtime_seconds=round(run.runtime_seconds, 3),
    )
    loop = None
    if run.scenario.word_of_mouth or run.scenario.repeat:
        loop = word_of_mouth_data(run.scenario, run.results)
        files[OPTIONAL_DOCUMENTS["word_of_mouth"]] = json_text(loop, inline_number_lists=True)
    dists = distributions(run.scenario, run.results)
    if dists is not None:
        files["distributions.json"] = json_text(dists, inline_number_lists=True)

    def extra(folder: Path) -> None:
        if event_log:
            from .eventlog import write_log
            from .execution import event_part

            parts = [event_part(run.event_dir, k) for k in range(len(run.results))]
            with writing(folder / f"events.{event_log}"):
                write_log(run.scenario, parts, folder / f"events.{event_log}", event_log)
        if charts:
            from .report import render_report

            drawn = render_report(run.summary, dists, loop, overrides=overrides)
            for name, content in drawn.items():
                with writing(folder / name):
                    (folder / name).write_bytes(content)

    return write_folder(out, files, extra, marker, force)


def _read_json(path: Path, folder: Path, shape: documents.Check | None = None) -> Any:
    """The JSON document ``path`` of results ``folder``, checked against ``shape``."""
    data = documents.read_json(path)
    return data if shape is None else documents.check(path, data, shape)


def read_results(folder: Path) -> dict[str, Any]:
    """The documents of a run's results folder, each checked: ``summary``, ``run`` and
    the optional ones of :data:`OPTIONAL_DOCUMENTS` (``None`` when absent). ``funnel.csv``
    is checked too, though no chart draws it.

    Raises :class:`ResultsError` with a one-line message for a missing folder,
    a folder that is not a results folder, and damaged or missing documents.
    """
    folder = Path(folder)
    _check_folder(folder)
    found: dict[str, Any] = {"run": _read_json(folder / MARKER, folder, documents.RUN)}
    summary = _read_json(folder / "summary.json", folder, documents.SUMMARY)
    found["summary"] = summary
    shapes = {"distributions": documents.distributions, "word_of_mouth": documents.word_of_mouth}
    for key, name in OPTIONAL_DOCUMENTS.items():
        path = folder / name
        found[key] = _read_json(path, folder, shapes[key]) if os.path.lexists(path) else None
    if os.path.lexists(folder / "funnel.csv"):
        documents.check_funnel(
            folder / "funnel.csv", list(summary["steps"]), summary.get("replications")
        )
    return found


def _check_folder(folder: Path) -> None:
    if not os.path.lexists(folder):
        raise ResultsError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise ResultsError(f"{folder}: is a file, not a results folder")
    marker = folder / MARKER
    if not os.path.lexists(marker):
        raise ResultsError(f"{folder}: not a frictionsim results folder (no {MARKER})")


def write_atomic(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content`` at once: write a temporary sibling, then rename."""
    path = Path(path)
    tmp = path.parent / hidden_name(path.name, "tmp")
    try:
        tmp.write_bytes(content)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(exc, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def replace_files(folder: Path, files: dict[str, bytes], remove: Sequence[str] = ()) -> None:
    """Replace the ``files`` of ``folder`` (name → bytes) and delete ``remove``, all or
    none: every file is written under a temporary name first, and only when all are
    written are they renamed into place (signals held back meanwhile)."""
    folder = Path(folder)
    temporary: dict[str, Path] = {}
    try:
        for name, content in files.items():
            tmp = folder / hidden_name(name, "tmp")
            temporary[name] = tmp
            try:
                tmp.write_bytes(content)
            except OSError as exc:
                raise write_error(exc, folder / name) from None
        with _signals_held():
            for name, tmp in temporary.items():
                os.replace(tmp, folder / name)
            for name in remove:
                (folder / name).unlink(missing_ok=True)
    except BaseException:
        for tmp in temporary.values():
            tmp.unlink(missing_ok=True)
        raise


def _remove_stale_temporaries(folder: Path, owned: set[str]) -> None:
    """Temporary files of a report that was killed outright (``.NAME.tmp-PID``)."""
    for entry in os.scandir(folder):
        m = _TEMP.match(entry.name)
        if m and _is_temporary(entry.name, owned) and not _alive(int(m[2])):
            with suppress(OSError):
                os.unlink(entry.path)


def _check_redraw(folder: Path, names: Sequence[str], owned: set[str]) -> None:
    """Refuse to replace a file frictionsim did not write there (a user's chart of the
    same name, a link, a folder) before anything is drawn."""
    clash = [
        n
        for n in names
        if os.path.lexists(folder / n)
        and (n not in owned or (folder / n).is_symlink() or not (folder / n).is_file())
    ]
    if clash:
        raise ResultsError(
            f"{folder}: the report would replace {_listing(clash, 0)}, which frictionsim "
            "did not write there; move them out of the folder, or redraw a copy of it"
        )
    if not os.access(folder, os.W_OK):
        raise ResultsError(
            f"{folder}: cannot write here (read-only or no permission); "
            "copy the folder elsewhere to redraw it"
        )


def _overrides(marker: dict[str, Any]) -> list[str]:
    return list(marker.get("overrides") or [])


def write_report(folder: Path) -> list[Path]:
    """Redraw every chart and the report of a results folder from its stored
    documents (no simulation); return the files written.

    Every document is checked first; only files frictionsim wrote there are
    replaced, and the files are replaced all together (:func:`replace_files`).
    """
    from .report import CHART_FILES, render_report

    folder = Path(folder)
    _check_folder(folder)
    marker = _read_json(folder / MARKER, folder, documents.RUN)
    for document, chart in STUDY_CHARTS.items():
        if os.path.lexists(folder / document):
            return [_redraw_study(folder, document, chart, marker)]
    found = read_results(folder)
    owned = owned_files(folder, marker)
    _remove_stale_temporaries(folder, owned)
    planned = _report_names(found)
    _check_redraw(folder, planned, owned)
    try:
        files = render_report(
            found["summary"],
            found["distributions"],
            found["word_of_mouth"],
            overrides=_overrides(marker),
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError) as exc:
        raise ResultsError(
            f"{folder}: damaged results, cannot draw the report ({type(exc).__name__}: {exc})"
        ) from None
    _check_redraw(folder, list(files), owned)
    # a chart whose data is gone must not outlive it (only one frictionsim wrote)
    remove = [
        n
        for n in CHART_FILES
        if n not in files
        and n in owned
        and (folder / n).is_file()
        and not (folder / n).is_symlink()
    ]
    _replace_with_manifest(folder, marker, files, remove)
    return [folder / name for name in files]


def _report_names(found: dict[str, Any]) -> list[str]:
    """The files a report of ``found`` draws, known before drawing them."""
    from .report import chart_plan

    plan = chart_plan(found["summary"], found["distributions"], found["word_of_mouth"])
    return [name for name, *_ in plan] + ["report.md", "report.html"]


def _replace_with_manifest(
    folder: Path, marker: dict[str, Any], files: dict[str, bytes], remove: Sequence[str]
) -> None:
    """:func:`replace_files`, and the list of files in ``run.json`` kept up to date."""
    listed = marker.get("files")
    if isinstance(listed, list):
        now = sorted((set(listed) | set(files) | {MARKER}) - set(remove))
        if now != sorted(listed):
            files = {**files, MARKER: json_text({**marker, "files": now}).encode()}
    replace_files(folder, files, remove)


#: The document of a compare, sweep or sensitivity folder, and the kind of its chart.
STUDY_CHARTS = {
    "comparison.json": "comparison",
    "sweep.json": "sweep",
    "sensitivity.json": "sensitivity",
    "optimum.json": "optimum",
    "improvements.json": "improvements",
}
_STUDY_SHAPES = {
    "comparison": documents.comparison,
    "sweep": documents.sweep,
    "sensitivity": documents.sensitivity,
    "optimum": documents.optimum,
    "improvements": documents.improvements,
}


def _redraw_study(folder: Path, document: str, kind: str, marker: dict[str, Any]) -> Path:
    """Redraw the chart of a compare, sweep or sensitivity folder from its document."""
    from .report import render_study_chart

    doc = _read_json(folder / document, folder, _STUDY_SHAPES[kind])
    owned = owned_files(folder, marker)
    _remove_stale_temporaries(folder, owned)
    try:
        name, content = render_study_chart(kind, doc, _overrides(marker))
    except (
        KeyError,
        TypeError,
        ValueError,
        IndexError,
        AttributeError,
        ArithmeticError,
        StopIteration,
    ) as exc:
        raise ResultsError(
            f"{folder / document}: damaged, cannot draw its chart ({type(exc).__name__}: {exc})"
        ) from None
    _check_redraw(folder, [name], owned)
    _replace_with_manifest(folder, marker, {name: content}, ())
    return folder / name


COMPARISON_COLUMNS = (
    "design",
    "reference",
    "metric",
    "design_mean",
    "reference_mean",
    "difference",
    "ci_low",
    "ci_high",
    "relative",
    "significant",
    "method",
)


def comparison_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per design (other than the reference) and metric: every metric of
    ``summary.json`` by its path, step and segment metrics included."""
    ref = document["reference"]
    rows = []
    for name, diffs in document["differences"].items():
        for metric, d in diffs.items():
            ci = d["ci95"] or ["", ""]
            rows.append(
                {
                    "design": name,
                    "reference": ref,
                    "metric": metric,
                    "design_mean": _level(document, name, metric),
                    "reference_mean": _level(document, ref, metric),
                    "difference": _blank(d["mean"]),
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                    "relative": _blank(d["relative"]),
                    "significant": d["significant"],
                    "method": d["method"],
                }
            )
    return rows


def _level(document: dict[str, Any], design: str, metric: str) -> Any:
    """A design's mean of ``metric`` in a comparison; 0 for a count or money of a step
    the design does not have (nobody is lost there), blank otherwise."""
    described = document["metrics"][design].get(metric)
    return _blank(described["mean"]) if described else 0.0


def _blank(x: Any) -> Any:
    return "" if x is None or (isinstance(x, float) and x != x) else x


def _write_study(
    out: Path,
    name: str,
    document: dict[str, Any],
    table: str,
    chart: str | None,
    more: dict[str, str] | None = None,
    overrides: Sequence[str] = (),
    force: bool = False,
    **run: Any,
) -> Path:
    """Write the results folder of a comparison, sweep or sensitivity study atomically:
    ``NAME.json`` (the document), ``NAME.csv`` (its ``table``), the ``more`` files,
    ``run.json`` (provenance with the ``run`` fields) and, given the ``chart`` kind,
    its drawing of the document (overrides in its title)."""
    files = {f"{name}.json": json_text(document), f"{name}.csv": table, **(more or {})}

    def draw(folder: Path) -> None:
        from .report import render_study_chart

        file, content = render_study_chart(chart, document, overrides)
        with writing(folder / file):
            (folder / file).write_bytes(content)

    marker = provenance(overrides=list(overrides), **run)
    return write_folder(out, files, draw if chart else None, marker, force)


def study_identity(kind: str, scenario: Any, *options: Any) -> str:
    """The identity (:func:`identity`) of a study of ``scenario`` (or of several
    scenarios, for a comparison) with ``options``."""
    from .scenario import scenario_to_yaml

    scenarios = scenario if isinstance(scenario, (list, tuple)) else [scenario]
    return identity(kind, [scenario_to_yaml(s) for s in scenarios], *options)


def write_comparison(
    comparison: Any,
    out: Path,
    files: Sequence[str] = (),
    charts: bool = True,
    overrides: Sequence[str] = (),
    force: bool = False,
) -> Path:
    """Write the results folder of a :class:`~frictionsim.studies.compare.Comparison` atomically
    (``overrides``: the ``--set`` values applied to every design)."""
    from .scenario import scenario_to_yaml

    doc = comparison.document
    resolved = {design.name: scenario_to_yaml(design) for design in comparison.designs}
    return _write_study(
        out,
        "comparison",
        doc,
        csv_text(comparison_rows(doc), COMPARISON_COLUMNS),
        "comparison" if charts else None,
        more={f"{name}.resolved.yaml": text for name, text in resolved.items()},
        overrides=overrides,
        force=force,
        kind="compare",
        identity=study_identity("compare", comparison.designs),
        designs=[d.name for d in comparison.designs],
        scenario_files=list(files),
        scenario_sha256={name: sha256(text) for name, text in resolved.items()},
        seed=comparison.seed,
        replications=comparison.replications,
        common_random_numbers=comparison.common_random_numbers,
        jobs=comparison.jobs,
        runtime_seconds=round(comparison.runtime_seconds, 3),
    )


def sweep_identity(scenario: Any, params: Sequence[str], points: Sequence[Sequence[str]]) -> str:
    """A sweep's identity: the scenario (overrides applied), parameters and points."""
    return study_identity("sweep", scenario, list(params), [list(p) for p in points])


def write_sweep(
    sweep: Any,
    out: Path,
    file: str | None = None,
    charts: bool = True,
    overrides: Sequence[str] = (),
    force: bool = False,
    scenario: Any = None,
) -> Path:
    """Write the results folder of a :class:`~frictionsim.studies.sweep.Sweep` atomically.
    ``scenario``: the swept scenario as loaded (overrides applied), for the folder's
    identity; without it a folder of another sweep is refused only for other points."""
    from .studies.sweep import SWEEP_METRIC_COLUMNS, sweep_rows

    doc = sweep.document
    ident = (
        sweep_identity(scenario, sweep.params, sweep.points)
        if scenario is not None
        else identity("sweep", list(sweep.params), [list(p) for p in sweep.points])
    )
    return _write_study(
        out,
        "sweep",
        doc,
        csv_text(sweep_rows(doc), [*sweep.params, *SWEEP_METRIC_COLUMNS]),
        "sweep" if charts else None,
        overrides=overrides,
        force=force,
        kind="sweep",
        identity=ident,
        scenario_file=file,
        params=sweep.params,
        points=len(sweep.points),
        seed=sweep.seed,
        replications=sweep.replications,
        jobs=sweep.jobs,
    )


SENSITIVITY_COLUMNS = {
    "oat": (
        "rank",
        "parameter",
        "value",
        "low",
        "high",
        "low_mean",
        "high_mean",
        "effect",
        "ci_low",
        "ci_high",
        "significant",
    ),
    "sobol": ("rank", "parameter", "value", "low", "high", "S1", "S1_conf", "ST", "ST_conf"),
}


def sensitivity_identity(
    scenario: Any, method: str, metric: str, delta: float, samples: int | None
) -> str:
    """A sensitivity analysis's identity: the scenario, method, metric, delta and (Sobol)
    samples."""
    return study_identity(
        "sensitivity",
        scenario,
        method,
        metric,
        float(delta),
        samples if method == "sobol" else None,
    )


def write_sensitivity(
    result: Any,
    out: Path,
    file: str | None = None,
    charts: bool = True,
    overrides: Sequence[str] = (),
    force: bool = False,
) -> Path:
    """Write the results folder of a
    :class:`~frictionsim.studies.sensitivity.Sensitivity` atomically."""
    doc = result.document
    columns = SENSITIVITY_COLUMNS[doc["method"]]
    rows = []
    for r in doc["parameters"]:
        row = {k: r[k] for k in columns if k in r}
        if "ci95" in r:
            row["ci_low"], row["ci_high"] = r["ci95"] or ["", ""]
        rows.append(row)
    return _write_study(
        out,
        "sensitivity",
        doc,
        csv_text(rows, columns),
        "sensitivity" if charts else None,
        overrides=overrides,
        force=force,
        kind="sensitivity",
        identity=sensitivity_identity(
            result.scenario, result.method, result.metric, doc["delta_percent"], doc.get("samples")
        ),
        scenario=result.scenario.name,
        scenario_file=file,
        method=result.method,
        metric=result.metric,
        seed=result.seed,
        jobs=result.jobs,
        runtime_seconds=round(result.runtime_seconds, 3),
    )


OPTIMUM_COLUMNS = ("point", "feasible", "metric", "mean", "sd", "ci_low", "ci_high")


def optimum_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """``optimum.csv``: one row per evaluated point and metric (objective, constraints)."""
    rows = []
    for point in document["evaluated"]:
        label = ";".join(f"{p}={v}" for p, v in point["values"].items())
        for metric, d in point["metrics"].items():
            ci = d["ci95"] or ["", ""]
            rows.append(
                {
                    "point": label,
                    "feasible": point["feasible"],
                    "metric": metric,
                    "mean": _blank(d["mean"]),
                    "sd": _blank(d["sd"]),
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                }
            )
    return rows


def optimum_identity(scenario: Any, *options: Any) -> str:
    """An optimisation's identity: the scenario and the options that define it (the
    command passes its ``--param``, ``--values``, ``--objective`` and ``--constraint``)."""
    return study_identity("optimize", scenario, *options)


def _write_scenario_study(
    result: Any,
    out: Path,
    name: str,
    table: str,
    charts: bool,
    identity: str,
    file: str | None,
    overrides: Sequence[str],
    force: bool,
    **run: Any,
) -> Path:
    """The folder of a study of one scenario (optimize, improve): ``NAME.json``,
    ``NAME.csv``, the resolved scenario, provenance and, with ``charts``, the chart."""
    from .scenario import scenario_to_yaml

    resolved = scenario_to_yaml(result.scenario)
    return _write_study(
        out,
        name,
        result.document,
        table,
        name if charts else None,
        more={"scenario.resolved.yaml": resolved},
        overrides=overrides,
        force=force,
        identity=identity,
        scenario=result.scenario.name,
        scenario_file=file,
        scenario_sha256=sha256(resolved),
        seed=result.seed,
        replications=result.replications,
        jobs=result.jobs,
        runtime_seconds=round(result.runtime_seconds, 3),
        **run,
    )


def write_optimum(
    result: Any,
    out: Path,
    file: str | None = None,
    charts: bool = True,
    overrides: Sequence[str] = (),
    force: bool = False,
    identity: str | None = None,
) -> Path:
    """Write the results folder of an :class:`~frictionsim.studies.optimize.Optimum`."""
    doc = result.document
    identity = identity or optimum_identity(
        result.scenario, doc["params"], doc["grid_points"], doc["objective"], doc["constraints"]
    )
    table = csv_text(optimum_rows(doc), OPTIMUM_COLUMNS)
    return _write_scenario_study(
        result, out, "optimum", table, charts, identity, file, overrides, force,
        kind="optimize", params=result.params,
    )  # fmt: skip


IMPROVEMENT_COLUMNS = (
    "rank",
    "step",
    "change",
    "metric",
    "difference",
    "ci_low",
    "ci_high",
    "per_year",
    "per_year_ci_low",
    "per_year_ci_high",
    "significant",
)


def improvement_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """``improvements.csv``: one row per step, change and metric (differences from the
    unchanged design; money also per year)."""
    factor = document["per_year_factor"]
    rows = []
    for r in document["improvements"]:
        for metric, d in r["differences"].items():
            ci = d["ci95"] or ["", ""]
            money = metric in ("revenue", "profit")
            rows.append(
                {
                    "rank": r["rank"],
                    "step": r["step"],
                    "change": r["change"],
                    "metric": metric,
                    "difference": _blank(d["mean"]),
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                    "per_year": _blank(d["mean"] * factor) if money and d["mean"] else "",
                    "per_year_ci_low": ci[0] * factor if money and d["ci95"] else "",
                    "per_year_ci_high": ci[1] * factor if money and d["ci95"] else "",
                    "significant": d["significant"],
                }
            )
    return rows


def write_improvements(
    result: Any,
    out: Path,
    file: str | None = None,
    charts: bool = True,
    overrides: Sequence[str] = (),
    force: bool = False,
    identity: str | None = None,
) -> Path:
    """Write the results folder of an :class:`~frictionsim.studies.improve.Improvements`."""
    doc = result.document
    identity = identity or study_identity("improve", result.scenario, sorted(set(doc["changes"])))
    table = csv_text(improvement_rows(doc), IMPROVEMENT_COLUMNS)
    return _write_scenario_study(
        result, out, "improvements", table, charts, identity, file, overrides, force,
        kind="improve",
    )  # fmt: skip


def _write_calibration(
    result: Any,
    out: Path,
    file: str | None = None,
    charts: bool = True,
    overrides: Sequence[str] = (),  # recorded in the calibrated scenario's values already
    force: bool = False,
) -> list[Path]:
    from .studies.calibrate import write_calibration

    return write_calibration(result, out, file, chart=charts, force=force)


#: The writer of each kind of study result (its ``kind``), by name in this module.
WRITERS: dict[str, str] = {
    "run": "write_run",
    "compare": "write_comparison",
    "sweep": "write_sweep",
    "sensitivity": "write_sensitivity",
    "optimize": "write_optimum",
    "improve": "write_improvements",
    "calibrate": "_write_calibration",
}


def write_study(
    result: Any,
    out: Path,
    source: str | Sequence[str] | None = None,
    charts: bool = True,
    overrides: Sequence[str] = (),
    force: bool = False,
    **options: Any,
) -> Any:
    """Write any study's result (:mod:`frictionsim.studies`) where its ``kind`` goes: a
    results folder (atomically), or for a calibration the calibrated scenario and its
    fit files. ``source``: the scenario file (the files, for a comparison) recorded as
    provenance; ``overrides``: the ``--set`` values it was loaded with; ``options``:
    what one kind takes besides (``event_log`` of a run, the ``scenario`` of a sweep,
    the ``identity`` of an optimisation or ranking)."""
    kind = getattr(result, "kind", None)
    if kind not in WRITERS:
        raise TypeError(f"not a study result: {type(result).__name__}")
    writer = globals()[WRITERS[kind]]
    return writer(result, out, source, charts, overrides=overrides, force=force, **options)
