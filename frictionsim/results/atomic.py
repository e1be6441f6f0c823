"""Folders and files replaced at once: never half-written, never lost.

A results folder is assembled in a hidden sibling folder (``.NAME.tmp-PID``) and
renamed into place only when complete (:func:`write_folder`), so an interrupted or
failed run leaves either the previous folder or the new one, never a half-written
one. The folder is checked as by :func:`~frictionsim.results.folders.check_writable`
before writing and again just before the swap. Ctrl-C and SIGTERM are held back for
the moment the previous folder (moved aside as ``.NAME.old-PID``) is swapped for the
new one, and two runs writing the same folder take turns for it. Hidden folders left
by a process that was killed outright (SIGKILL, power loss) are cleaned up, or put
back, by the next write (:func:`recover_stale`); a run's event-log parts are kept in
such a sibling too (:func:`event_folder`).

Single files are replaced the same way: :func:`write_atomic` writes one under a
temporary name and renames it; :func:`replace_files` writes several and renames
them all only when every one is written, so a full disk leaves the previous files.
A failed write is one line naming the file (:func:`write_error`).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ..errors import ResultsError, visible
from .folders import (
    _TEMP,
    MARKER,
    NAME_MAX,
    SIBLING_KINDS,
    _check_writable,
    _is_temporary,
    _short,
    _turn,
    check_writable,
    hidden_name,
    is_results_folder,
    target_of,
)
from .texts import json_text


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


def _remove_stale_temporaries(folder: Path, owned: set[str]) -> None:
    """Temporary files of a report that was killed outright (``.NAME.tmp-PID``)."""
    for entry in os.scandir(folder):
        m = _TEMP.match(entry.name)
        if m and _is_temporary(entry.name, owned) and not _alive(int(m[2])):
            with suppress(OSError):
                os.unlink(entry.path)


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


def check_replaceable(path: Path) -> None:
    """Refuse to write a file over ``path`` where something other than a regular file is
    there: a device (``/dev/null``), a pipe, a socket or a link would be replaced by a
    file (not written through), whatever ``--force`` says. Also a name too long for a
    file name, so that a command can refuse it before any work."""
    path = Path(path)
    if os.path.lexists(path) and (path.is_symlink() or not path.is_file()):
        if path.is_dir():
            what = "a folder"
        elif path.is_symlink():
            what = "a link"
        else:
            what = "a device, a pipe or a socket"
        raise ResultsError(
            f"{visible(str(path))}: is {what}, not a file frictionsim may replace; "
            "choose another file name"
        )
    if len(os.fsencode(path.name)) > NAME_MAX:
        raise ResultsError(f"{visible(str(path))}: the file name is too long for a file")


def write_atomic(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content`` at once: write a temporary sibling, then rename.
    Refused where ``path`` is not a regular file (:func:`check_replaceable`)."""
    path = Path(path)
    check_replaceable(path)
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
    written are they renamed into place (signals held back meanwhile). Refused where one
    of them is not a regular file (:func:`check_replaceable`)."""
    folder = Path(folder)
    for name in files:
        check_replaceable(folder / name)
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
