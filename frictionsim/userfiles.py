"""Reading a file a user named: scenario YAML, an observed funnel CSV.

A user's file may be missing, a folder, unreadable, far too large or not text.
Each of these is reported as a located :class:`~frictionsim.errors.ScenarioError`
(``FILE:LINE:COL: (file): message``) before anything is parsed, so the parsers
only ever see text of a bounded size.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ScenarioError, ScenarioProblem


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
    """
    file = str(path)
    p = Path(path)

    def fail(message: str, line: int = 1, col: int = 1) -> ScenarioError:
        return ScenarioError([ScenarioProblem(file, line, col, "(file)", message)])

    if not p.exists():
        raise fail("no such file")
    if p.is_dir():
        raise fail(f"is a directory, not {kind}")
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise fail(too_big.format(size=size, limit=max_bytes))
        raw = p.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror}") from None
    try:
        return raw, raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if not locate_bad_byte:
            raise fail(not_text) from None
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise fail(not_text, line, col) from None


__all__ = ["read_user_file"]
