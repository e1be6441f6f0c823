"""YAML text → plain data, with the line and column of every key and value.

PyYAML only composes the text into nodes; the values are built here
(:func:`convert`), so no constructor, and no code in a scenario file, ever
runs, and the limits do not depend on PyYAML's release: standard tags only,
no duplicate keys, at most :data:`MAX_NODES` nodes built (aliases and merge
keys counted as expanded, which bounds alias bombs), :data:`MAX_DEPTH` levels
of nesting, no alias into the mapping or list that holds it, integers of at
most :data:`MAX_INTEGER_DIGITS` digits. YAML 1.1 forms that would silently
read as something their writer did not mean are refused with a located
problem: base-60 numbers (``1:30``), octal by a leading zero (``012``), UTF-16
surrogates; ``1e6`` is a number, as in YAML 1.2, and a date stays text.
Syntax errors and control characters get one located line each.

The result is a :class:`Document`: the plain data, the mark of every path (so
later passes report ``FILE:LINE:COL: field.path: message``), the problems found
so far, and the paths refused (their values replaced by ``None``, so no second
message is made about them). :func:`display` names a path as messages show it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import yaml

from ..errors import ScenarioProblem

#: Nodes visited while expanding a document; bounds YAML alias bombs.
MAX_NODES = 200_000
#: Nesting depth of mappings and lists; bounds the parser's recursion.
MAX_DEPTH = 100


Mark = tuple[str, int, int]  # (file, line, column), 1-based
Path_ = tuple[Any, ...]


class Document:
    """Plain data from a YAML file with the location of every key and value."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.key_marks: dict[Path_, Mark] = {}
        self.value_marks: dict[Path_, Mark] = {}
        self.problems: list[ScenarioProblem] = []
        self.refused: set[Path_] = set()  # values replaced by None after a located problem
        self.pending: list[tuple[Mark, Path_, str]] = []  # located before the data is complete
        self.data: Any = None
        self._nodes = 0
        self._seen: set[int] = set()  # nodes already converted (reached again by an alias)

    def problem(self, mark: Mark, path: str, message: str) -> None:
        self.problems.append(ScenarioProblem(mark[0], mark[1], mark[2], path, message))

    def mark_of(self, path: Path_, key: bool = False) -> Mark:
        """Location of ``path`` or of its nearest located ancestor."""
        marks = self.key_marks if key else self.value_marks
        if key and path in marks:
            return marks[path]
        for n in range(len(path), -1, -1):
            if path[:n] in self.value_marks:
                return self.value_marks[path[:n]]
        return (self.file, 1, 1)


_TAG = "tag:yaml.org,2002:"
_STANDARD_TAGS = {
    _TAG + t for t in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp", "merge")
}
#: YAML 1.2 numbers that YAML 1.1 (PyYAML) reads as text: ``1e6``, ``2.5E-3``.
_EXPONENT_NUMBER = re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+$")
#: Digits with a leading zero that YAML 1.1 leaves as text (``089``: not octal).
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+$")
#: Digits of the longest integer a scenario may hold (far above any count or seed).
MAX_INTEGER_DIGITS = 100
_TRUE = {"yes", "true", "on", "y"}
#: A lone surrogate, which only an escape in a double-quoted scalar can make.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def _yaml_mark(doc: Document, node: yaml.Node) -> Mark:
    return (doc.file, node.start_mark.line + 1, node.start_mark.column + 1)


class _BadScalar(Exception):
    """A scalar that YAML 1.1 reads differently from what its writer most likely meant."""


def _scalar(node: yaml.ScalarNode) -> Any:
    """The value of a scalar node from its resolved tag, built here rather than by PyYAML's
    constructors, so the limits and YAML 1.1 pitfalls below do not depend on its release."""
    text, tag = node.value, node.tag
    surrogate = _SURROGATE.search(text)
    if surrogate:  # only a "\ud800" escape makes one; no file could hold the text
        pair = _SURROGATE_PAIR.search(text)
        if pair:  # JSON's way to write a character beyond U+FFFF; YAML has its own
            high, low = (ord(c) for c in pair.group())
            code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            raise _BadScalar(
                f"'{pair.group()}' is a UTF-16 surrogate pair, which YAML does not combine; "
                f"write '\\U{code:08X}' or the character itself"
            )
        raise _BadScalar(
            f"'{surrogate.group()}' is half of a UTF-16 surrogate pair, not a character; "
            "write the character itself"
        )
    if tag == _TAG + "null":
        return None
    if tag == _TAG + "bool":
        return text.lower() in _TRUE
    if tag == _TAG + "timestamp":
        return text  # a date is text here (a description, a name), never a datetime
    if tag == _TAG + "str":
        if node.style is None and _EXPONENT_NUMBER.match(text):
            return float(text)  # 1e6 is a number, as in YAML 1.2 (inf is refused later)
        if node.style is None and _LEADING_ZERO.match(text):
            raise _BadScalar(
                f"'{text}' is read as an octal number by YAML 1.1; write "
                f"{int(text)} without the leading zero, or quote it for text"
            )
        return text
    plain = text.replace("_", "")
    digits = plain.lstrip("+-")
    if ":" in plain:
        try:
            value = sum(float(p) * 60**i for i, p in enumerate(reversed(digits.split(":"))))
            read = f" {value:g}"
        except ValueError:
            read = ""
        raise _BadScalar(
            f"'{text}' is read as the base-60 number{read} by YAML 1.1; write a number, "
            "a duration with its unit (90s, 1.5min), or quote it for text"
        )
    if tag == _TAG + "int":
        if len(digits) > MAX_INTEGER_DIGITS:
            raise _BadScalar(
                f"an integer of {len(digits)} digits is too large (at most {MAX_INTEGER_DIGITS})"
            )
        sign = -1 if plain.startswith("-") else 1
        if digits.startswith(("0x", "0X")):
            return sign * int(digits[2:], 16)
        if digits.startswith(("0b", "0B")):
            return sign * int(digits[2:], 2)
        if len(digits) > 1 and digits.startswith("0"):
            octal = (
                f"the octal number {sign * int(digits, 8)}"
                if "8" not in digits and "9" not in digits
                else "an octal number"
            )
            raise _BadScalar(
                f"'{text}' is read as {octal} by YAML 1.1; write {sign * int(digits)} "
                "without the leading zero, or quote it for text"
            )
        return sign * int(digits)
    if tag == _TAG + "float":
        low = plain.lower()
        if low.endswith(".inf"):
            return -math.inf if low.startswith("-") else math.inf
        if low.endswith(".nan"):
            return math.nan  # the schema refuses it with the field's name
        return float(plain)
    return text


def convert(
    doc: Document, node: yaml.Node, path: Path_, within: frozenset[int] = frozenset()
) -> Any:
    """Plain data from ``node``, counting every node built (aliases and merges included)."""
    doc._nodes += 1
    if doc._nodes > MAX_NODES:
        raise TooLarge
    if id(node) in within:
        raise SelfReference(_yaml_mark(doc, node))
    if len(path) > MAX_DEPTH:
        raise TooDeep
    # A node reached again through an alias (*name) is located at its key, not its anchor.
    again = id(node) in doc._seen and path in doc.key_marks
    doc._seen.add(id(node))
    mark = doc.key_marks[path] if again else _yaml_mark(doc, node)
    doc.value_marks[path] = mark
    if node.tag not in _STANDARD_TAGS or node.tag == _TAG + "merge":
        doc.pending.append(
            (
                _yaml_mark(doc, node),
                path,
                f"YAML tag '{node.tag}' is not allowed; scenario files hold plain data only",
            )
        )
        doc.refused.add(path)
        return None
    if isinstance(node, yaml.MappingNode):
        inner = within | {id(node)}
        result: dict[Any, Any] = {}
        merges = [v for k, v in node.value if _is_merge_key(k)]
        # Merged entries first, the last source first, so that earlier sources and then
        # the mapping's own keys win (the YAML merge-key rule).
        sources = [
            s for m in merges for s in (m.value if isinstance(m, yaml.SequenceNode) else [m])
        ]
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                doc.pending.append(
                    (_yaml_mark(doc, source), path, "'<<' merges a mapping or a list of mappings")
                )
                continue
            merged = convert(doc, source, path, inner)
            if isinstance(merged, dict):
                result.update(merged)
        doc.value_marks[path] = mark
        seen_own: set[Any] = set()
        for key_node, value_node in node.value:
            if _is_merge_key(key_node):
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _STANDARD_TAGS:
                doc.pending.append((_yaml_mark(doc, key_node), path, "keys must be plain names"))
                continue
            try:
                key = _scalar(key_node)
            except _BadScalar:
                key = key_node.value
            if not isinstance(key, str):
                doc.pending.append(
                    (_yaml_mark(doc, key_node), path, f"keys must be names (text), got {key!r}")
                )
                continue
            if key in seen_own:
                doc.pending.append(
                    (
                        _yaml_mark(doc, key_node),
                        (*path, key),
                        f"duplicate key '{key}' (first at line {doc.key_marks[(*path, key)][1]})",
                    )
                )
                continue
            seen_own.add(key)
            doc.key_marks[(*path, key)] = _yaml_mark(doc, key_node)
            result[key] = convert(doc, value_node, (*path, key), inner)
        return result
    if isinstance(node, yaml.SequenceNode):
        inner = within | {id(node)}
        return [convert(doc, item, (*path, i), inner) for i, item in enumerate(node.value)]
    try:
        return _scalar(node)
    except _BadScalar as exc:
        doc.pending.append((_yaml_mark(doc, node), path, str(exc)))
        doc.refused.add(path)
        return None


def _is_merge_key(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and (
        node.tag == _TAG + "merge" or (node.value == "<<" and node.style is None)
    )


class TooLarge(Exception):
    """The document expands to more than :data:`MAX_NODES` nodes."""


class TooDeep(Exception):
    """Mappings and lists are nested more than :data:`MAX_DEPTH` levels deep."""


class SelfReference(Exception):
    """An alias refers to a mapping or list that contains it (located at ``mark``)."""

    def __init__(self, mark: Mark) -> None:
        self.mark = mark


def parse_yaml(text: str, file: str) -> Document:
    """The plain data and marks of YAML ``text``; every problem found is in ``problems``."""
    doc = Document(file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            doc.problem(
                (file, 1, 1),
                "(file)",
                "the file is empty; a scenario needs at least "
                "name, horizon, arrivals, segments and steps",
            )
            return doc
        doc.data = convert(doc, node, ())
        for mark, path, message in doc.pending:
            doc.problem(mark, display(doc.data, path), message)
    except TooLarge:
        doc.problems.clear()
        doc.problem(
            (file, 1, 1),
            "(yaml)",
            f"the document expands to more than {MAX_NODES} nodes (aliases?); refused",
        )
    except (TooDeep, RecursionError):
        doc.problems.clear()
        doc.problem(
            (file, 1, 1),
            "(yaml)",
            f"lists and mappings are nested more than {MAX_DEPTH} levels deep; refused",
        )
    except SelfReference as exc:
        doc.problems.clear()
        doc.problem(
            exc.mark, "(yaml)", "an alias refers to a mapping or list that contains it; refused"
        )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = str(exc.problem or exc.context)
        where = exc.context_mark
        if exc.context and exc.problem and str(exc.context).startswith("expected"):
            message = f"{exc.context}, {exc.problem}"
        elif exc.context and "duplicate anchor" in str(exc.context) and where:
            anchor = str(exc.context).split(";")[0]
            message = f"{anchor} (first at line {where.line + 1}, column {where.column + 1})"
        elif exc.context and exc.problem:
            message += f" ({exc.context}"
            if where and (where.line, where.column) != (line - 1, col - 1):
                message += f" that starts at line {where.line + 1}, column {where.column + 1}"
            message += ")"
        if "\\t" in message or "\t" in message:
            message = "tab characters cannot indent YAML; use spaces"
        elif "<block end>" in message:
            message += "; check the indentation of this line"
        doc.problem((file, line, col), "(yaml)", f"YAML syntax error: {message}")
    except yaml.reader.ReaderError as exc:  # control characters, NUL bytes
        before = text[: exc.position]
        line = before.count("\n") + 1
        col = exc.position - (before.rfind("\n") + 1) + 1
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        doc.problem(
            (file, line, col),
            "(yaml)",
            f"control character {char} is not allowed in a scenario file (is this a text file?)",
        )
    if not doc.problems and not isinstance(doc.data, dict):
        kind = "null" if doc.data is None else f"a {type(doc.data).__name__}"
        doc.problem(
            (file, 1, 1),
            "(file)",
            f"the top level must be a mapping of keys (name, steps, ...), not {kind}",
        )
    return doc


def display(data: Any, path: Sequence[Any]) -> str:
    """``steps.payment.duration.sd``: list items with a name are shown by name."""
    parts: list[str] = []
    node = data
    for elem in path:
        if isinstance(node, list) and isinstance(elem, int):
            item = node[elem] if 0 <= elem < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name:
                parts.append(f".{name}")
            else:
                parts.append(f"[{elem}]")
            node = item
        else:
            parts.append(f".{elem}")
            node = node.get(elem) if isinstance(node, dict) else None
    text = "".join(parts).lstrip(".")
    return text or "(top)"


__all__ = [
    "MAX_DEPTH",
    "MAX_INTEGER_DIGITS",
    "MAX_NODES",
    "Document",
    "Mark",
    "Path_",
    "SelfReference",
    "TooDeep",
    "TooLarge",
    "convert",
    "display",
    "parse_yaml",
]
