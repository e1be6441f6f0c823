"""``--set path=value`` overrides, applied to a document's plain data before validation.

A path names keys by dots and list items by name or by index
(``steps.payment.capacity``, ``segments.0.share``); a name wins over an index,
and a step or segment whose name has dots in it is reached by that name (the
longest that matches). A mapping missing on the way is created
(``steps.pay.errors.p=0.1``). The value is read as YAML with the limits of a
file (standard tags only, bounded size and nesting); what is not YAML at all
is taken as text, as a shell user would expect. A problem with an override is
located in it as ``--set:N:COL``, and so is any problem that validation later
finds in the value it set.

:func:`vary` applies overrides to a loaded scenario, without its file: a
study's variant (a sweep point, an optimisation candidate), validated again
as a file would be.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml

from ..errors import did_you_mean
from .model import Scenario
from .problems import non_ascii, validate
from .yaml_doc import Document, Mark, Path_, SelfReference, TooDeep, TooLarge, convert, display


class _Refused:
    """An override value refused with a located problem."""


#: A list index in an override path: ASCII digits only ('²' and '٣' are names), or a
#: negative number, which is refused with the range of indexes.
_INDEX = re.compile(r"-?[0-9]+")


def _parse_override_value(doc: Document, text: str, at: Mark, path_text: str) -> Any:
    """The value of an override, read with the same limits as a file (tags, aliases, depth)."""
    if not text.strip():
        return ""
    sub = Document("--set")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return None
        value = convert(sub, node, ())
    except (TooLarge, TooDeep, SelfReference, RecursionError):
        doc.problem(at, path_text, "the value is too large or too deeply nested; refused")
        return _Refused
    except yaml.reader.ReaderError as exc:  # control characters, bytes that are not UTF-8
        code = exc.character if isinstance(exc.character, int) else -1
        message = (
            f"the byte 0x{code - 0xDC00:02X} is not UTF-8 text"  # undecodable, from the shell
            if 0xDC80 <= code <= 0xDCFF
            else f"control character U+{code:04X} is not allowed in a --set value"
        )
        doc.problem(at, path_text, message)
        return _Refused
    except yaml.YAMLError:
        return text  # not YAML (e.g. 'a: b: c'): taken as text, as a shell user would expect
    if sub.pending:
        doc.problem(at, path_text, sub.pending[0][2])
        return _Refused
    return value


def apply_overrides(doc: Document, overrides: Sequence[str]) -> None:
    """Apply ``path=value`` overrides to ``doc.data``; locate their problems as ``--set:N``."""
    for n, override in enumerate(overrides, start=1):
        where = ("--set", n, 1)
        if "=" not in override:
            doc.problem(where, override, "expected path=value, e.g. steps.payment.capacity=8")
            continue
        path_text, value_text = override.split("=", 1)
        segments = path_text.strip().split(".")
        if not path_text.strip():
            doc.problem(where, "(path)", "the path before '=' is empty")
            continue
        if not all(segments):
            doc.problem(where, path_text, "empty part in the path")
            continue
        node: Any = doc.data
        path: Path_ = ()
        col = 1
        ok = True
        depth = 0
        while depth < len(segments):
            segment = segments[depth]
            at = ("--set", n, col)
            if isinstance(node, list):
                # a name with dots in it (a step "a.b"): the longest name that matches
                dotted = [it.get("name") for it in node if isinstance(it, dict)]
                dotted = {x for x in dotted if isinstance(x, str) and "." in x}
                for end in range(len(segments), depth + 1, -1):
                    if ".".join(segments[depth:end]) in dotted:
                        segment = ".".join(segments[depth:end])
                        depth = end - 1
                        break
            depth += 1
            last = depth == len(segments)
            col += len(segment) + 1
            if isinstance(node, dict):
                if segment not in node:
                    if last:
                        path = (*path, segment)
                        break
                    # a missing mapping is created (e.g. ``steps.pay.errors.p``);
                    # problems with it are located on this override
                    node[segment] = {}
                    doc.key_marks[(*path, segment)] = at
                    doc.value_marks[(*path, segment)] = at
                path = (*path, segment)
                if not last:
                    node = node[segment]
            elif isinstance(node, list):
                # a name wins over an index: steps named "1", "2" are addressed by name
                names = [it.get("name") if isinstance(it, dict) else None for it in node]
                is_index = _INDEX.fullmatch(segment) is not None
                if segment in names:
                    index = names.index(segment)
                elif is_index and len(segment) <= 18 and 0 <= int(segment) < len(node):
                    index = int(segment)
                else:
                    hint = did_you_mean(segment, [x for x in names if isinstance(x, str)])
                    kind = path[-1].rstrip("s") if path and isinstance(path[-1], str) else "item"
                    message = f"no {kind} named '{segment}'{hint}{non_ascii(segment)}"
                    if is_index:
                        message = (
                            f"no {kind} at index {segment} (indexes run from 0 to {len(node) - 1})"
                            if node
                            else f"no {kind} at index {segment} (the list is empty)"
                        )
                    doc.problem(at, display(doc.data, path) + "." + segment, message)
                    ok = False
                    break
                path = (*path, index)
                if not last:
                    node = node[index]
            else:
                doc.problem(
                    at,
                    display(doc.data, path),
                    f"'{display(doc.data, path)}' is a value, it has no '{segment}'",
                )
                ok = False
                break
        if not ok:
            continue
        if not isinstance(doc.data, dict):
            continue
        value = _parse_override_value(doc, value_text, ("--set", n, len(path_text) + 2), path_text)
        if value is _Refused:
            continue
        _set_path(doc.data, path, value)
        for table in (doc.value_marks, doc.key_marks):
            for key in [k for k in table if k[: len(path)] == path]:
                del table[key]
        doc.value_marks[path] = ("--set", n, len(path_text) + 2)
        doc.key_marks[path] = ("--set", n, 1)


def _set_path(data: Any, path: Path_, value: Any) -> None:
    node = data
    for elem in path[:-1]:
        node = node[elem]
    node[path[-1]] = value


def vary(scenario: Scenario, overrides: Sequence[str], where: str | None = None) -> Scenario:
    """``scenario`` with ``path=value`` overrides applied and validated again, without a
    file: a study's variant of a scenario (problems are located as ``--set:N:COL``)."""
    if not overrides:
        return scenario
    doc = Document(where or f"{scenario.name} (resolved)")
    doc.data = scenario.model_dump(mode="json", exclude_none=True)
    apply_overrides(doc, overrides)
    return validate(doc)


__all__ = ["apply_overrides", "vary"]
