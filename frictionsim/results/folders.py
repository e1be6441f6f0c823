"""Where results go, and whether a folder there may be replaced.

``--out`` is taken as given (an empty name is refused); without it a study goes to
``results/BASE/``, or ``results/BASE--SLUG/`` with its overrides and options in a
file-name form (:func:`default_folder`). A symbolic link as the folder is
followed: the folder it points to is the one written (:func:`target_of`).

What may be replaced (:func:`check_writable`, before any work): a folder is
replaced only if it is a frictionsim results folder (a ``run.json``, the
:data:`MARKER`, written by frictionsim) holding nothing but the files frictionsim
wrote there (``run.json`` lists them; a folder written before it did is judged by
the names frictionsim writes, :data:`KNOWN_FILES`), and only by results of the
same study (same scenario, overrides and options: the :func:`identity` in
``run.json``) unless forced. Anything else is refused, naming what is in the way;
so are the current folder, a mount point and a file. The folder is looked at while
no other frictionsim swaps folders beside it (:func:`_turn`, an advisory lock on
the parent folder).

Also here: the names of the hidden siblings of a folder (``.NAME.KIND-PID``,
:func:`hidden_name`), which :mod:`~frictionsim.results.atomic` writes and cleans
up, and the provenance document that ``run.json`` starts from (:func:`provenance`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import documents
from ..errors import ResultsError

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
        "service.png",
        "customer_base.png",
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
    _probe(ancestor)


def _probe(folder: Path) -> None:
    """Make and remove an empty folder in ``folder``: some places that ``os.access``
    calls writable refuse it (``/proc``, a read-only mount seen as root), which would
    otherwise be found only after all the work."""
    try:
        made = tempfile.mkdtemp(prefix=".frictionsim-probe-", dir=folder)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ResultsError(f"{folder}: cannot write here ({reason})") from None
    with contextlib.suppress(OSError):
        os.rmdir(made)


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


# ------------------------------------------------------------------ one writer at a time


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


# ------------------------------------------------------------------ provenance


def versions() -> dict[str, str]:
    """Versions of frictionsim, Python and the libraries that shape results."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    found = {"frictionsim": __version__, "python": platform.python_version()}
    for name in ("numpy", "simpy", "scipy", "pydantic", "matplotlib"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "unknown"
    return found


def provenance(**fields: Any) -> dict[str, Any]:
    """The ``run.json`` document: what was run, with what, and how long it took."""
    return {
        "frictionsim_results": 1,
        **fields,
        "versions": versions(),
        "platform": platform.platform(),
        "command": sys.argv,
    }
