"""Reading a file a user named: scenario YAML, an observed funnel CSV.

A user's file may be missing, a folder, unreadable, far too large or not text.
Each of these is reported as a located :class:`~frictionsim.errors.ScenarioError`
(``FILE:LINE:COL: (file): message``) before anything is parsed, so the parsers
only ever see text of a bounded size.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import ScenarioError, ScenarioProblem

#: Opened without blocking: a FIFO put in place of the file after the check below
#: must not hang the command (reads of regular files are unaffected).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NOT_REGULAR = "is not a regular file (a device, FIFO or socket)"


def read_user_file(
    path: str | Path,
    *,
    kind: str,
    max_bytes: int,
    too_big: str,
    encoding: str,
    not_text: str,
    locate_bad_byte: bool,
) -> tuple[bytes, str]:
    """The bytes of the file at ``path`` and their text, or a located :class:`ScenarioError`.

    ``kind`` names what the file should be ("a scenario file"); ``too_big`` is the
    message for a file over ``max_bytes`` bytes, formatted with ``{size}`` and
    ``{limit}``; ``not_text`` is the message for bytes that ``encoding`` cannot
    decode, reported at the first bad byte with ``locate_bad_byte``, else at 1:1.

    Only regular files are read (symbolic links are followed): a device such as
    ``/dev/zero`` or a FIFO never ends, and its size says nothing. At most
    ``max_bytes + 1`` bytes are read whatever the size said, so a file that grows
    while it is read is still refused.
    """
    file = str(path)

    def fail(message: str, line: int = 1, col: int = 1) -> ScenarioError:
        return ScenarioError([ScenarioProblem(file, line, col, "(file)", message)])

    def check(mode: int) -> None:
        if stat.S_ISDIR(mode):
            raise fail(f"is a directory, not {kind}")
        if not stat.S_ISREG(mode):
            raise fail(_NOT_REGULAR)

    try:
        check(os.stat(path).st_mode)  # before opening: opening a FIFO could block
    except FileNotFoundError:
        raise fail("no such file") from None
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror}") from None
    try:
        fd = os.open(path, _OPEN_FLAGS)
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            check(info.st_mode)  # the file may have been swapped since
            if info.st_size > max_bytes:
                raise fail(too_big.format(size=info.st_size, limit=max_bytes))
            raw = f.read(max_bytes + 1)
            if len(raw) > max_bytes:
                size = max(os.fstat(f.fileno()).st_size, len(raw))
                raise fail(too_big.format(size=size, limit=max_bytes))
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror}") from None
    try:
        return raw, raw.decode(encoding)
    except UnicodeDecodeError as exc:
        not_text += legacy_hint(raw)
        if not locate_bad_byte:
            raise fail(not_text) from None
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise fail(not_text, line, col) from None


def legacy_hint(raw: bytes) -> str:
    """A hint for text saved in an 8-bit encoding (Latin-1, Windows-1252), as
    spreadsheets often save CSV: no NUL byte, and every byte a Windows-1252 character."""
    if not raw or b"\x00" in raw or raw.startswith(b"\xef\xbb\xbf"):  # a BOM says UTF-8
        return ""
    try:
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return ""
    return (
        "; it looks like Latin-1 or Windows-1252 text: save it as UTF-8 "
        "(Save As with the encoding UTF-8; in a spreadsheet, CSV UTF-8)"
    )


__all__ = ["legacy_hint", "read_user_file"]
