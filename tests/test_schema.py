"""The JSON Schema of scenario files (``frictionsim schema``) against draft 2020-12 and
against frictionsim's own loader.

An editor checks a scenario with the schema as it is typed; ``frictionsim validate``
checks it with the models. The two must agree on what each key may hold: every
document below is refused by both (and each refusal names the key that was wrong) or
accepted by both. What spans the whole file (shares summing to 1, branch targets,
reachability) is only ``validate``'s, so the documents here keep it right.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from frictionsim.errors import ScenarioError
from frictionsim.scenario import MAX_HORIZON, parse_scenario, scenario_json_schema

SCHEMA = scenario_json_schema()
VALIDATOR = Draft202012Validator(SCHEMA)
BUNDLED = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))

#: Keywords whose value maps names (of properties, of definitions) to schemas.
_NAMED_SCHEMAS = {"properties", "patternProperties", "$defs", "dependentSchemas"}
#: Keywords whose value is one schema, and those whose value is a list of schemas.
_ONE_SCHEMA = {
    "items",
    "additionalProperties",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "unevaluatedItems",
    "unevaluatedProperties",
}
_SCHEMA_LISTS = {"anyOf", "oneOf", "allOf", "prefixItems"}
#: Draft 2020-12's annotation and core keywords that validate nothing.
_ANNOTATIONS = {
    "$schema",
    "$id",
    "$comment",
    "$defs",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
}


def keywords(schema: Any) -> list[str]:
    """Every keyword of ``schema`` and of its subschemas, as often as it is used; the
    names of properties and definitions are not keywords and are left out."""
    if not isinstance(schema, dict):
        return []  # a boolean schema
    found = list(schema)
    for key, value in schema.items():
        if key in _NAMED_SCHEMAS:
            for sub in value.values():
                found += keywords(sub)
        elif key in _ONE_SCHEMA:
            found += keywords(value)
        elif key in _SCHEMA_LISTS:
            for sub in value:
                found += keywords(sub)
    return found


def test_the_keyword_walk_skips_property_names():
    schema = {"properties": {"ge": {"type": "number", "le": 1}}, "$defs": {"lt": {}}}
    assert sorted(keywords(schema)) == ["$defs", "le", "properties", "type"]


def test_schema_is_valid_draft_2020_12():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


def test_ranges_use_json_schema_keywords():
    used = keywords(SCHEMA)
    assert not {"ge", "le", "gt", "lt"} & set(used)
    assert {"minimum", "maximum", "exclusiveMinimum", "pattern"} <= set(used)


def test_every_keyword_is_draft_2020_12():
    known = set(Draft202012Validator.VALIDATORS) | _ANNOTATIONS
    # pydantic's OpenAPI `discriminator` beside `oneOf`: an annotation validators ignore
    assert set(keywords(SCHEMA)) - known == {"discriminator"}


#: The first line of every bundled scenario: the YAML language server reads the schema
#: from scenarios/scenario.schema.json (generated, see scenarios/README.md).
MODELINE = "# yaml-language-server: $schema=scenario.schema.json\n"


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_scenarios_name_the_schema_on_their_first_line(path):
    assert path.read_text(encoding="utf-8").startswith(MODELINE)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_scenarios_validate(path):
    text = path.read_text(encoding="utf-8")
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(yaml.safe_load(text))
    ]
    assert errors == []
    parse_scenario(text, str(path))


#: A small scenario both accept; each case below changes one value of it.
BASE: dict[str, Any] = {
    "name": "schema-check",
    "horizon": "1d",
    "arrivals": {"rate": "90/h", "weekly": [1, 1, 1, 1, 1, 0.5, 0.5]},
    "segments": [
        {
            "name": "new",
            "share": 0.6,
            "tolerance": {"dist": "gamma", "mean": 8, "sd": 3},
            "order_value": 60,
        },
        {
            "name": "returning",
            "share": 0.4,
            "tolerance": 12,
            "order_value": {"dist": "lognormal", "mean": 80, "sd": 30},
        },
    ],
    "steps": [
        {"name": "cart", "duration": "45s", "exit": 0.1},
        {
            "name": "pay",
            "duration": {"dist": "exponential", "mean": "2min"},
            "fields": 6,
            "capacity": 4,
            "errors": {"p": 0.05, "irritation": 1.5, "max_attempts": 3},
            "by_segment": {"returning": {"exit": 0.02}},
        },
    ],
}


def changed(loc: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """:data:`BASE` with the value at ``loc`` set (added, in a new mapping) to ``value``."""
    doc = copy.deepcopy(BASE)
    node = doc
    for elem in loc[:-1]:
        node = node.setdefault(elem, {}) if isinstance(node, dict) else node[elem]
    node[loc[-1]] = value
    return doc


def loader_problems(doc: dict[str, Any]) -> list[str]:
    """The field paths of the problems frictionsim's loader finds in ``doc``."""
    try:
        parse_scenario(yaml.safe_dump(doc, sort_keys=False))
    except ScenarioError as exc:
        return [p.path for p in exc.problems]
    return []


def schema_paths(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Where the schema finds ``doc`` wrong (the object holding an unknown key)."""
    return [tuple(e.absolute_path) for e in VALIDATOR.iter_errors(doc)]


# (case, where it changes, the value, the path the loader names)
REFUSED = [
    ("exit above 1", ("steps", 0, "exit"), 1.5, "steps.cart.exit"),
    ("exit below 0", ("steps", 0, "exit"), -0.1, "steps.cart.exit"),
    ("share above 1", ("segments", 0, "share"), 1.5, "segments.new.share"),
    ("share 0", ("segments", 0, "share"), 0, "segments.new.share"),
    ("capacity 0", ("steps", 1, "capacity"), 0, "steps.pay.capacity"),
    ("capacity above the limit", ("steps", 1, "capacity"), 1_000_001, "steps.pay.capacity"),
    ("negative fields", ("steps", 1, "fields"), -1, "steps.pay.fields"),
    ("fields as a fraction", ("steps", 1, "fields"), 2.5, "steps.pay.fields"),
    ("max_attempts 0", ("steps", 1, "errors", "max_attempts"), 0, "steps.pay.errors.max_attempts"),
    (
        "max_attempts 101",
        ("steps", 1, "errors", "max_attempts"),
        101,
        "steps.pay.errors.max_attempts",
    ),
    ("errors.p above 1", ("steps", 1, "errors", "p"), 1.2, "steps.pay.errors.p"),
    (
        "negative error irritation",
        ("steps", 1, "errors", "irritation"),
        -1,
        "steps.pay.errors.irritation",
    ),
    (
        "a segment's exit above 1",
        ("steps", 1, "by_segment", "returning", "exit"),
        2,
        "steps.pay.by_segment.returning.exit",
    ),
    ("a duration in parsecs", ("steps", 0, "duration"), "5 parsecs", "steps.cart.duration"),
    ("a negative duration", ("steps", 0, "duration"), -5, "steps.cart.duration"),
    ("a negative duration string", ("steps", 0, "duration"), "-5s", "steps.cart.duration"),
    ("a negative mean", ("steps", 1, "duration", "mean"), "-2min", "steps.pay.duration.mean"),
    ("an sd of 0", ("segments", 0, "tolerance", "sd"), 0, "segments.new.tolerance.sd"),
    ("a negative bare tolerance", ("segments", 1, "tolerance"), -3, "segments.returning.tolerance"),
    ("a parameter above 1e12", ("segments", 1, "tolerance"), 1e13, "segments.returning.tolerance"),
    (
        "an unknown family",
        ("segments", 1, "tolerance"),
        {"dist": "weibull", "mean": 3},
        "segments.returning.tolerance.dist",
    ),
    ("sensitivity 0", ("segments", 0, "sensitivity"), 0, "segments.new.sensitivity"),
    ("horizon 0", ("horizon",), "0s", "horizon"),
    ("horizon beyond 100 years", ("horizon",), MAX_HORIZON + 1, "horizon"),
    ("a negative warm-up", ("warmup",), "-1h", "warmup"),
    ("rate 0", ("arrivals", "rate"), 0, "arrivals.rate"),
    ("a negative rate", ("arrivals", "rate"), "-120/h", "arrivals.rate"),
    ("a rate without a unit's slash", ("arrivals", "rate"), "120 per h", "arrivals.rate"),
    ("a negative multiplier", ("arrivals", "weekly", 5), -0.5, "arrivals.weekly[5]"),
    ("six days a week", ("arrivals", "weekly"), [1] * 6, "arrivals.weekly"),
    ("replications 0", ("replications",), 0, "replications"),
    ("a negative seed", ("seed",), -1, "seed"),
    ("a best score above 10", ("experience", "best"), 11, "experience.best"),
    ("a currency too long", ("economics", "currency"), "EURO-DOLLAR", "economics.currency"),
    ("a step name with a space", ("steps", 0, "name"), "the cart", "steps.the cart.name"),
    ("an unknown key", ("steps", 0, "colour"), "red", "steps.cart"),
    ("an unknown top-level key", ("horizont",), "1d", "horizont"),
    ("a word for a probability", ("steps", 0, "exit"), "high", "steps.cart.exit"),
    ("true for a probability", ("steps", 0, "exit"), True, "steps.cart.exit"),
    ("a number for a name", ("name",), 5, "name"),
    ("a mapping for the steps", ("steps",), {"name": "cart"}, "steps"),
]


@pytest.mark.parametrize(
    ("loc", "value", "where"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_both_refuse(loc, value, where):
    doc = changed(loc, value)
    at = schema_paths(doc)
    assert any(p == loc[: len(p)] and len(p) >= len(loc) - 1 for p in at), at
    problems = loader_problems(doc)
    assert any(p == where or p.startswith(f"{where}.") for p in problems), problems


ONE_SEGMENT = [{"name": "returning", "share": 1, "tolerance": 0, "order_value": 0}]

# (case, where it changes, the value)
ACCEPTED = [
    ("the base document", ("name",), "schema-check"),
    ("exit 0", ("steps", 0, "exit"), 0),
    ("exit 1", ("steps", 0, "exit"), 1),
    ("errors.p 0", ("steps", 1, "errors", "p"), 0),
    ("errors.p 1", ("steps", 1, "errors", "p"), 1),
    ("one segment of share 1, tolerance 0", ("segments",), ONE_SEGMENT),
    ("capacity 1", ("steps", 1, "capacity"), 1),
    ("capacity at the limit", ("steps", 1, "capacity"), 1_000_000),
    ("no capacity", ("steps", 1, "capacity"), None),
    ("fields 0", ("steps", 1, "fields"), 0),
    ("fields at the limit", ("steps", 1, "fields"), 10_000),
    ("max_attempts 1", ("steps", 1, "errors", "max_attempts"), 1),
    ("max_attempts 100", ("steps", 1, "errors", "max_attempts"), 100),
    ("duration 0", ("steps", 0, "duration"), 0),
    ("duration 0s", ("steps", 0, "duration"), "0s"),
    ("duration with a plus and spaces", ("steps", 0, "duration"), " +1.5e1 s "),
    ("a relief", ("steps", 0, "irritation"), -3),
    ("a parameter of 1e12", ("segments", 1, "tolerance"), 1e12),
    ("horizon of 100 years", ("horizon",), MAX_HORIZON),
    ("a tiny horizon", ("horizon",), "0.5s"),
    ("warm-up 0", ("warmup",), 0),
    ("rate per minute", ("arrivals", "rate"), "0.5/min"),
    ("rate as a number", ("arrivals", "rate"), 0.001),
    ("a multiplier 0", ("arrivals", "weekly", 5), 0),
    ("best score 10", ("experience", "best"), 10),
    ("a tiny scale", ("experience", "scale"), 1e-9),
    ("replications 1", ("replications",), 1),
    ("seed 0", ("seed",), 0),
    ("next as a name", ("steps", 0, "next"), "pay"),
    ("next as branches", ("steps", 0, "next"), [{"to": "pay", "p": 1}]),
]


@pytest.mark.parametrize(("loc", "value"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_both_accept(loc, value):
    doc = changed(loc, value)
    assert schema_paths(doc) == []
    assert loader_problems(doc) == []
