"""Located problems: pydantic's errors and the checks across a file, as ScenarioError lines.

:func:`validate` is the last pass of loading: it validates the plain data of a
:class:`~.yaml_doc.Document` as a :class:`~.model.Scenario` and raises a
:class:`ScenarioError` with every problem found, each at the line and column of
the value (or key) it concerns and named by its path, list items by their name
(``steps.payment.duration.sd``).

Pydantic's errors are rewritten for people: a missing or unknown key (with a
"did you mean" and the keys allowed there), an unknown distribution family, a
wrong type described by kind, a bound with the value as the file wrote it
(``-120/h``, ``1e+13``). Errors inside a value already refused while reading
are dropped, and repeats too, so one mistake gets one line. The flow checks
run on the plain data, beside type errors: names unique, shares summing to 1,
branch targets that exist with probabilities summing to 1, every step reached
from the first one and able to reach the end of the checkout. The size checks
bound the validated scenario as a whole (steps × segments, random numbers
drawn per customer).
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Sequence
from typing import Annotated, Any, Union

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..distributions import FAMILIES, Distribution, DurationDist
from ..errors import ScenarioError, did_you_mean
from ..flow import END, Flow
from .model import MAX_DRAWS, MAX_STEP_SEGMENTS, Scenario, fitted_target
from .yaml_doc import Document, Path_, display


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
            else:
                return tp
        else:
            return tp


def _is_distribution(loc: Sequence[Any]) -> bool:
    """Whether the field at pydantic location ``loc`` holds a distribution."""
    tp = _type_at(loc)
    members = typing.get_args(tp) if typing.get_origin(tp) in (Union, types.UnionType) else ()
    return bool(members) and all(
        isinstance(m, type) and issubclass(m, Distribution) for m in members
    )


def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model class validating the mapping at pydantic location ``loc``."""
    tp = _type_at(loc)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _type_at(loc: Sequence[Any]) -> Any:
    """The type (annotations and optional ``None`` removed) at pydantic location ``loc``."""
    tp: Any = Scenario
    for elem in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if elem not in tp.model_fields:
                return None
            tp = tp.model_fields[elem].annotation
        elif origin in (tuple, list):
            if not isinstance(elem, int):
                return None
            tp = typing.get_args(tp)[0]
        elif origin is dict:  # a mapping by name (`by_segment`): any key, one value type
            tp = typing.get_args(tp)[1]
        elif origin in (Union, types.UnionType):
            members = [
                m
                for m in typing.get_args(tp)
                if isinstance(m, type)
                and issubclass(m, BaseModel)
                and "dist" in m.model_fields
                and typing.get_args(m.model_fields["dist"].annotation) == (elem,)
            ]
            if not members:
                return None
            tp = members[0]
        else:
            return None
    return _unwrap(tp)


def _raw_value(data: Any, path: Path_) -> Any:
    for elem in path:
        try:
            data = data[elem]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _raw_path(data: Any, loc: Sequence[Any]) -> Path_:
    """The part of a pydantic location that exists in the data (union tags dropped)."""
    path: Path_ = ()
    node = data
    for elem in loc:
        in_dict = isinstance(node, dict) and elem in node
        in_list = isinstance(node, list) and isinstance(elem, int) and 0 <= elem < len(node)
        if in_dict or in_list:
            node = node[elem]
        else:
            continue
        path = (*path, elem)
    return path


_BOUNDS = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "string_pattern_mismatch": "must be letters, digits, '_', '.' or '-', starting with a "
    "letter or digit",
    "string_too_long": "must be at most {max_length} characters",
    "finite_number": "must be a finite number",
}


def _value_at(data: Any, path: Path_, default: Any) -> Any:
    """The value at ``path`` of the document's data (before any validator), or ``default``."""
    for elem in path:
        try:
            data = data[elem]
        except (KeyError, IndexError, TypeError):
            return default
    return data if isinstance(data, (str, int, float)) else default


def _number_text(value: Any) -> Any:
    """A bound as written by a person: 1e+12 rather than 1000000000000.0."""
    if isinstance(value, float) and abs(value) >= 1e7:
        return f"{value:g}"
    if isinstance(value, float) and value.is_integer():
        return int(value)  # pydantic releases differ in whether a bound of 0 is 0 or 0.0
    return value


def _got(value: Any) -> str:
    """A value as the file wrote it: 1e+13 rather than 10000000000000.0."""
    big = isinstance(value, float) and math.isfinite(value) and abs(value) >= 1e7
    if big and float(f"{value:g}") == value:
        return f"{value:g}"
    return repr(value)


def _pydantic_problems(doc: Document, exc: ValidationError) -> None:
    errors = exc.errors()
    seen: set[tuple[Path_, str]] = set()
    for err in errors:
        loc, kind = err["loc"], err["type"]
        if kind == "too_short" and any(
            e is not err and e["loc"][: len(loc)] == loc and len(e["loc"]) > len(loc)
            for e in errors
        ):
            continue  # "too few items after validation" only echoes the items' own errors
        path = _raw_path(doc.data, loc)
        if any(path[: len(r)] == r for r in doc.refused):
            continue
        message = err["msg"].removeprefix("Value error, ")
        mark = doc.mark_of(path)
        shown = display(doc.data, path)
        if kind == "missing":
            key = loc[-1]
            shown = f"{shown}.{key}" if path else str(key)
            message = f"missing required key '{key}'"
        elif kind == "extra_forbidden":
            mark = doc.mark_of(path, key=True)
            model = _model_at(loc[:-1])
            allowed = list(model.model_fields) if model else []
            key = str(loc[-1])
            message = f"unknown key '{key}'{did_you_mean(key, allowed)}{non_ascii(key)}"
            if allowed:
                message += f"; allowed: {', '.join(allowed)}"
        elif kind == "union_tag_invalid":
            tag = err.get("ctx", {}).get("tag")
            written = _raw_value(doc.data, (*path, "dist"))
            if not isinstance(written, str):
                message = (
                    f"'dist' is the name of a family (one of {', '.join(FAMILIES[:-1])}), "
                    f"got {_describe(written)}"
                )
            elif tag in FAMILIES:
                message = f"'{tag}' is only for counts (e.g. how many people a customer tells)"
            else:
                message = f"unknown distribution '{tag}'{did_you_mean(tag, FAMILIES)}"
            mark = doc.mark_of((*path, "dist"))
            shown = f"{shown}.dist"
        elif kind == "union_tag_not_found":
            message = (
                f"a distribution needs 'dist:' (one of {', '.join(FAMILIES[:-1])}), "
                "or write a plain number"
            )
        elif kind in ("model_attributes_type", "model_type") and _is_distribution(loc):
            message = (
                "expected a number or a distribution such as {dist: lognormal, mean: 12, "
                f"sd: 6}}, got {_describe(err['input'])}"
            )
        elif kind in ("model_attributes_type", "model_type"):
            message = f"expected a mapping of keys, got {_describe(err['input'])}"
        elif kind == "string_type":
            message = f"expected text, got {_describe(err['input'])}"
            if isinstance(err["input"], (bool, int, float)):
                message += " (put it in quotes to make it text)"
        elif kind in ("float_type", "int_type", "float_parsing"):
            message = f"expected a number, got {_describe(err['input'])}"
        elif kind in ("tuple_type", "list_type") and loc and loc[-1] == "next":
            got = _describe(err["input"])
            message = f"expected a step name or a list of {{to, p}} branches, got {got}"
        elif kind in ("tuple_type", "list_type"):
            message = f"expected a list, got {_describe(err['input'])}"
        elif kind in ("too_short", "too_long"):
            ctx = err.get("ctx", {})
            lo, hi = ctx.get("min_length"), ctx.get("max_length")
            count = len(err["input"]) if isinstance(err["input"], (list, tuple)) else "?"
            want = f"exactly {lo}" if lo == hi else f"at least {lo}" if lo else f"at most {hi}"
            message = f"needs {want} item{'' if want.endswith(' 1') else 's'}, got {count}"
        elif kind in _BOUNDS:
            ctx = {k: _number_text(v) for k, v in err.get("ctx", {}).items()}
            written = _value_at(doc.data, path, err["input"])  # as in the file, '-120/h'
            message = f"{_BOUNDS[kind].format(**ctx)} (got {_got(written)})"
            if kind == "string_pattern_mismatch" and path[:1] == ("uncertainty",):
                message = (
                    "a fitted parameter is steps.<step>.exit, steps.<step>.irritation, "
                    "steps.<step>.errors.p, steps.<step>.duration, arrivals.rate or tolerance "
                    f"(got {_got(written)})"
                )
            elif kind == "string_pattern_mismatch":
                message += non_ascii(err["input"])
        elif kind != "value_error" and not isinstance(err.get("input"), (dict, list)):
            message = f"{message} (got {err['input']!r})"
        if (path, message) in seen:
            continue
        seen.add((path, message))
        doc.problem(mark, shown, message)


def non_ascii(text: Any) -> str:
    """``; 'а' (U+0430) is not ASCII`` for the first such visible character of a key or a
    name: keys and names are ASCII, and a look-alike letter would pass unseen (invisible
    characters are shown escaped anyway)."""
    for char in str(text):
        if ord(char) > 127 and char.isprintable():
            return f"; '{char}' (U+{ord(char):04X}) is not ASCII"
    return ""


def _describe(value: Any) -> str:
    """A value as a message shows it: short, and lists and mappings by kind."""
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _taken_by_a_segment(step: dict[str, Any], to: str) -> bool:
    """Whether some segment takes the branch to ``to`` with its own probability > 0."""
    own = step.get("by_segment")
    if not isinstance(own, dict):
        return False
    for spec in own.values():
        branches = spec.get("next") if isinstance(spec, dict) else None
        if isinstance(branches, list):
            for b in branches:
                if (
                    isinstance(b, dict)
                    and b.get("to") == to
                    and (not _number(b.get("p")) or b.get("p") > 0)
                ):
                    return True
    return False


def _flow_problems(doc: Document) -> None:
    """Checks across the whole file, on the plain data (they run even beside type errors)."""
    data = doc.data

    def items(key: str) -> list[tuple[int, dict[str, Any]]]:
        value = data.get(key)
        if not isinstance(value, list):
            return []
        return [(i, it) for i, it in enumerate(value) if isinstance(it, dict)]

    def problem(path: Path_, message: str, key: bool = False) -> None:
        doc.problem(doc.mark_of(path, key=key), display(data, path), message)

    for key in ("segments", "steps"):
        first: dict[str, int] = {}
        for i, item in items(key):
            name = item.get("name")
            if isinstance(name, str):
                if name in first:
                    problem(
                        (key, i, "name"), f"duplicate name '{name}' (also {key}[{first[name]}])"
                    )
                else:
                    first[name] = i

    shares = [it.get("share") for _, it in items("segments")]
    if shares and all(_number(s) for s in shares) and abs(sum(shares) - 1) > 1e-6:
        problem(("segments",), f"shares sum to {sum(shares):g}; they must sum to 1")

    steps = items("steps")
    if not steps or len(steps) != len(data.get("steps", [])):
        return
    names = [it.get("name") for _, it in steps]
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        return
    index = {n: i for i, n in enumerate(names)}
    edges: dict[int, set[int]] = {}
    graph_ok = True
    for i, step in steps:
        nxt = step.get("next")
        out: set[int] = set()
        if nxt is None:
            out.add(i + 1 if i + 1 < len(steps) else END)
        else:
            branches = (
                [(nxt, 1.0, ("steps", i, "next"))]
                if isinstance(nxt, str)
                else [
                    (b.get("to"), b.get("p"), ("steps", i, "next", j, "to"))
                    for j, b in enumerate(nxt)
                    if isinstance(b, dict)
                ]
                if isinstance(nxt, list)
                else []
            )
            listed = isinstance(nxt, list) and len(branches) == len(nxt)
            if not (isinstance(nxt, str) or listed):
                graph_ok = False  # a malformed next is reported with its type: no flow guesses
            for to, p, path in branches:
                if not isinstance(to, str):
                    graph_ok = False
                elif to not in index:
                    hint = did_you_mean(to, names) + non_ascii(to)
                    problem(path, f"no step named '{to}'{hint}")
                    graph_ok = False
                elif not _number(p) or p > 0 or _taken_by_a_segment(step, to):
                    out.add(index[to])
            ps = [p for _, p, _ in branches]
            numeric = isinstance(nxt, list) and ps and all(_number(p) for p in ps)
            if numeric and abs(sum(ps) - 1) > 1e-6:
                problem(
                    ("steps", i, "next"),
                    f"branch probabilities sum to {sum(ps):g}; they must sum to 1",
                )
        errors = step.get("errors")
        fallback = errors.get("fallback") if isinstance(errors, dict) else None
        if isinstance(fallback, str):
            path = ("steps", i, "errors", "fallback")
            if fallback not in index:
                problem(path, f"no step named '{fallback}'{did_you_mean(fallback, names)}")
                graph_ok = False
            elif index[fallback] == i:
                problem(path, "a step cannot fall back to itself; give it more max_attempts")
                graph_ok = False
            else:
                if _always_fails(step):  # nobody gets past: the fallback is the only way on
                    out = set()
                out.add(index[fallback])  # those who failed every attempt go on there
        recovery = step.get("recovery")
        rescue = recovery.get("to") if isinstance(recovery, dict) else None
        if isinstance(rescue, str):
            path = ("steps", i, "recovery", "to")
            if rescue not in index:
                problem(path, f"no step named '{rescue}'{did_you_mean(rescue, names)}")
                graph_ok = False
            elif not _number(recovery.get("p")) or recovery.get("p") > 0:
                out.add(index[rescue])  # friction abandoners who take the offer go on there
        edges[i] = out
    if not graph_ok:
        return
    flow = Flow(tuple(tuple((j, 1.0) for j in sorted(edges[i])) for i in range(len(steps))))
    reached, can_end = flow.reachable, flow.can_end
    for i in range(len(steps)):
        if i not in reached:
            problem(
                ("steps", i),
                f"step '{names[i]}' is never reached from the first step '{names[0]}'",
                key=False,
            )
    for i in sorted(reached - {END}):
        if i not in can_end:
            problem(
                ("steps", i),
                f"from step '{names[i]}' no path leads to the end of the "
                "checkout (a loop with no way out)",
            )


def _always_fails(step: dict) -> bool:
    """Every attempt at ``step`` fails, for every segment (``errors.p`` 1, and no
    ``by_segment`` chance below 1)."""
    errors = step.get("errors")
    if not isinstance(errors, dict) or errors.get("p") != 1:
        return False
    own = step.get("by_segment")
    for spec in own.values() if isinstance(own, dict) else ():
        p = spec.get("errors", {}).get("p") if isinstance(spec, dict) else None
        if isinstance(spec, dict) and isinstance(spec.get("errors"), dict) and p != 1:
            return False
    return True


def _balking_problems(doc: Document) -> None:
    """``steps[].balk_at`` only where the step has ``capacity`` (a queue to see)."""
    steps = doc.data.get("steps")
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if isinstance(step, dict) and step.get("balk_at") is not None and not step.get("capacity"):
            where = ("steps", i, "balk_at")
            doc.problem(doc.mark_of(where, key=True), display(doc.data, where),
                        "the step has no `capacity`, so no queue to balk at")  # fmt: skip


def _schedule_problems(doc: Document, scenario: Scenario | None) -> None:
    """``steps[].schedule``: only with ``capacity``, never more units than it, and some
    unit on duty in some hour of the week (else whoever waits there waits for ever)."""
    steps = doc.data.get("steps")
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        schedule = step.get("schedule") if isinstance(step, dict) else None
        if not isinstance(schedule, dict):
            continue
        capacity = step.get("capacity")

        def problem(path: Path_, message: str, key: bool = False, i: int = i) -> None:
            where = ("steps", i, "schedule", *path)
            doc.problem(doc.mark_of(where, key=key), display(doc.data, where), message)

        if capacity is None:
            problem((), "the step has no `capacity`: give the most units on duty", key=True)
            continue
        tables: list[tuple[Path_, Any]] = [(("hours",), schedule.get("hours"))]
        by_day = schedule.get("by_day")
        if isinstance(by_day, dict):
            tables += [(("by_day", day), hours) for day, hours in by_day.items()]
        for path, hours in tables:
            for h, units in enumerate(hours if isinstance(hours, list) else ()):
                whole = isinstance(units, int) and isinstance(capacity, int)  # else: a field
                if whole and not isinstance(units, bool) and units > capacity:  # error
                    problem((*path, h), f"{units:g} units on duty at hour {h}, more than "
                            f"capacity {capacity:g}")  # fmt: skip
        if scenario is not None and not any(scenario.duty_week(scenario.steps[i])):
            problem((), "no unit is ever on duty (all `hours` 0, or no `days`), so nobody "
                    "is ever served here", key=True)  # fmt: skip


def _takes_time(duration: Any) -> bool:
    """Whether a step's ``duration`` as written has a mean above 0 (one that is not a
    duration at all gets its own problem, so it counts as taking time here)."""
    if duration is None:
        return False
    try:
        return TypeAdapter(DurationDist).validate_python(duration).expectation > 0
    except (ValueError, TypeError, ArithmeticError):
        return True


def _uncertainty_problems(doc: Document) -> None:
    """``uncertainty.parameters[].path``: a step the scenario has (``tolerance`` needs none),
    and a scale that fits the parameter (``logit`` for an exit, ``log`` otherwise)."""
    data = doc.data
    unc = data.get("uncertainty")
    steps = data.get("steps")
    if not isinstance(unc, dict) or not isinstance(steps, list):
        return
    names = [s.get("name") for s in steps if isinstance(s, dict)]
    params = unc.get("parameters")
    for k, p in enumerate(params if isinstance(params, list) else []):
        if not isinstance(p, dict) or not isinstance(p.get("path"), str):
            continue
        path = p["path"]
        where = ("uncertainty", "parameters", k, "path")
        target = fitted_target(path)
        if target is None:
            continue  # the path's own problem says what a fitted parameter is
        kind, step = target
        if step is not None and step not in names:
            hint = did_you_mean(step, [n for n in names if isinstance(n, str)])
            doc.problem(doc.mark_of(where), display(data, where),
                        f"no step named '{step}'{hint}")  # fmt: skip
        elif kind == "errors" and not steps[names.index(step)].get("errors"):
            doc.problem(doc.mark_of(where), display(data, where),
                        f"step '{step}' has no `errors`")  # fmt: skip
        elif kind == "duration" and not _takes_time(steps[names.index(step)].get("duration")):
            message = f"step '{step}' takes no time (duration 0): no duration to draw"
            doc.problem(doc.mark_of(where), display(data, where), message)
        wanted = "logit" if kind in ("exit", "errors") else "log"
        if p.get("scale") in ("logit", "log") and p["scale"] != wanted:
            at = ("uncertainty", "parameters", k, "scale")
            doc.problem(doc.mark_of(at), display(data, at),
                        f"the scale of '{path}' is '{wanted}'")  # fmt: skip


def _segment_step_problems(doc: Document) -> None:
    """``steps[].by_segment``: known segments, errors only where the step has them, and
    branch probabilities for the step's own branches, summing to 1."""
    data = doc.data
    segments = data.get("segments")
    steps = data.get("steps")
    if not isinstance(segments, list) or not isinstance(steps, list):
        return
    names = [g.get("name") for g in segments if isinstance(g, dict)]
    for i, step in enumerate(steps):
        own = step.get("by_segment") if isinstance(step, dict) else None
        if not isinstance(own, dict):
            continue
        for segment, spec in own.items():
            where = ("steps", i, "by_segment", segment)
            if segment not in names:
                hint = did_you_mean(segment, [n for n in names if isinstance(n, str)])
                doc.problem(
                    doc.mark_of(where, key=True),
                    display(data, where),
                    f"no segment named '{segment}'{hint}{non_ascii(segment)}",
                )
            if not isinstance(spec, dict):
                continue
            if "errors" in spec and not step.get("errors"):
                path = (*where, "errors")
                doc.problem(
                    doc.mark_of(path, key=True),
                    display(data, path),
                    "the step has no `errors`; give them there first (this sets only their p)",
                )
            branches = spec.get("next")
            if branches is None:
                continue
            path = (*where, "next")
            base = step.get("next")
            targets = (
                [b.get("to") for b in base if isinstance(b, dict)]
                if isinstance(base, list)
                else None
            )
            if not isinstance(branches, list) or not all(isinstance(b, dict) for b in branches):
                continue  # its type is reported by the model
            mine = [b.get("to") for b in branches]
            if targets is None:
                message = "the step has no branches (`next` as a list); give them there first"
            elif sorted(map(str, mine)) != sorted(map(str, targets)) or len(set(mine)) != len(mine):
                message = (
                    "a segment's branches are the step's branches with other probabilities: "
                    f"expected each of {', '.join(map(str, targets))} once"
                )
            else:
                ps = [b.get("p") for b in branches]
                if not (all(_number(x) for x in ps) and abs(sum(ps) - 1) > 1e-6):
                    continue
                message = f"branch probabilities sum to {sum(ps):g}; they must sum to 1"
            doc.problem(doc.mark_of(path), display(data, path), message)


def _size_problems(doc: Document, scenario: Scenario) -> None:
    """Bounds on the scenario as a whole, on top of each field's own."""
    mark = doc.mark_of(("steps",))
    n_steps, n_segments = len(scenario.steps), len(scenario.segments)
    if n_steps * n_segments > MAX_STEP_SEGMENTS:
        doc.problem(
            mark,
            "steps",
            f"{n_steps:,} steps × {n_segments:,} segments = {n_steps * n_segments:,}; at most "
            f"{MAX_STEP_SEGMENTS:,} (results keep an irritation histogram per step and segment)",
        )
    draws = scenario.draws_per_customer()
    if draws > MAX_DRAWS:
        doc.problem(
            mark,
            "steps",
            f"the steps draw {draws:,} random numbers per customer (exits, branches, defects, "
            f"and a duration and an error draw per attempt); at most {MAX_DRAWS:,}: use fewer "
            "errors.max_attempts, or fixed durations",
        )


class _ServiceSteps:
    """The service's steps as a scenario's ``steps``: the checks written for the
    checkout's steps run on them, and say ``service.steps``."""

    def __init__(self, doc: Document, steps: list) -> None:
        self.doc = doc
        self.data = {**doc.data, "steps": steps}
        self.problems = doc.problems

    def mark_of(self, path: Path_, key: bool = False) -> Any:
        return self.doc.mark_of(("service", *path) if path[:1] == ("steps",) else path, key)

    def problem(self, mark: Any, path: str, message: str) -> None:
        self.doc.problem(mark, f"service.{path}" if path.startswith("steps") else path, message)


def _base_problems(doc: Document) -> None:
    """``base`` brings its customers back itself: not also ``repeat`` or ``reminders``
    (a member brought back twice would lead two lives in the base)."""
    data = doc.data
    if not isinstance(data.get("base"), dict):
        return
    for key in ("repeat", "reminders"):
        if data.get(key) is not None:
            doc.problem(doc.mark_of(("base",), key=True), "base",
                        f"a customer base brings its customers back itself: remove `{key}`, "
                        "or this section")  # fmt: skip


def _service_problems(doc: Document, scenario: Scenario | None) -> None:
    """``service``: its steps checked as the checkout's are (a flow that can end, every
    step reached), names apart from the checkout's, no defects of its own; and a defect
    with a ``contact`` chance only where there is a service to contact."""
    data = doc.data
    steps = data.get("steps") if isinstance(data.get("steps"), list) else []
    service = data.get("service")
    own = service.get("steps") if isinstance(service, dict) else None
    if not isinstance(own, list):
        for i, step in enumerate(steps):
            defect = step.get("defect") if isinstance(step, dict) else None
            if isinstance(defect, dict) and _number(defect.get("contact")) and defect["contact"]:
                where = ("steps", i, "defect", "contact")
                doc.problem(doc.mark_of(where), display(data, where),
                            "there is no `service` section to contact")  # fmt: skip
        return
    view = _ServiceSteps(doc, own)
    _flow_problems(view)  # type: ignore[arg-type]
    _segment_step_problems(view)  # type: ignore[arg-type]
    _balking_problems(view)  # type: ignore[arg-type]
    _schedule_problems(view, scenario.service_scenario if scenario is not None else None)  # type: ignore[arg-type]
    checkout = {s.get("name") for s in steps if isinstance(s, dict)}
    for i, step in enumerate(own):
        if not isinstance(step, dict):
            continue
        if isinstance(step.get("name"), str) and step["name"] in checkout:
            where = ("service", "steps", i, "name")
            doc.problem(doc.mark_of(where), display(data, where),
                        f"'{step['name']}' is a checkout step's name too; give the service "
                        "step its own")  # fmt: skip
        for key in ("defect", "recovery"):
            if step.get(key) is not None:
                where = ("service", "steps", i, key)
                doc.problem(
                    doc.mark_of(where, key=True),
                    display(data, where),
                    f"a service step has no `{key}` (a contact is not an order)",
                )


def validate(doc: Document) -> Scenario:
    """``doc.data`` as a :class:`Scenario`, or a :class:`ScenarioError` with every problem
    (those ``doc`` already holds first)."""
    scenario = None
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        _pydantic_problems(doc, exc)
    if scenario is not None:
        _size_problems(doc, scenario)
    _flow_problems(doc)
    _segment_step_problems(doc)
    _uncertainty_problems(doc)
    _balking_problems(doc)
    _schedule_problems(doc, scenario)
    _service_problems(doc, scenario)
    _base_problems(doc)
    if doc.problems or scenario is None:
        raise ScenarioError(doc.problems)
    return scenario


__all__ = ["non_ascii", "validate"]
