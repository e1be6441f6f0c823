"""Scenario loading: every problem located as FILE:LINE:COL: path: message, all at once."""

from __future__ import annotations

import json

import pytest
import yaml

from frictionsim.errors import ScenarioError
from frictionsim.scenario import (
    load_scenario,
    parse_scenario,
    scenario_json_schema,
    scenario_to_yaml,
)
from frictionsim.units import parse_duration, parse_rate

from .conftest import scenario_dict

GOOD = """\
name: shop
horizon: 2h
arrivals:
  rate: 120/h
segments:
  - name: mobile
    share: 0.6
    tolerance: {dist: lognormal, mean: 12, sd: 6}
    order_value: 85
  - name: desktop
    share: 0.4
    tolerance: {dist: gamma, mean: 15, sd: 5}
    order_value: {dist: uniform, low: 20, high: 200}
steps:
  - name: cart
    duration: {dist: lognormal, mean: 40s, sd: 20s}
    exit: 0.2
  - name: account
    fields: 6
    next:
      - {to: guest, p: 0.7}
      - {to: register, p: 0.3}
  - name: guest
    fields: 9
    next: payment
  - name: register
    fields: 14
  - name: payment
    errors: {p: 0.08, irritation: 3}
    capacity: 5
    wait_irritation: 1/min
"""


def problems(text, overrides=()):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.yaml", overrides)
    return [str(p) for p in info.value.problems]


def test_good_scenario_resolves_units_and_defaults():
    s = parse_scenario(GOOD)
    assert s.horizon == 120.0
    assert s.arrivals.rate == 2.0
    assert s.steps[0].duration.expectation == pytest.approx(40 / 60)
    assert s.steps[4].errors.max_attempts == 3  # default
    assert s.friction.per_field == 0.4  # default
    assert s.entry_irritation(s.steps[3]) == pytest.approx(14 * 0.4)
    assert s.steps[2].next[0].to == "payment"
    assert s.successors(1) == [(2, 0.7), (3, 0.3)]
    assert s.successors(2) == [(4, 1.0)]
    assert s.successors(4) == [(-1, 1.0)]
    assert s.expected_visitors == pytest.approx(240.0)


def test_resolved_yaml_round_trips():
    s = parse_scenario(GOOD)
    assert parse_scenario(scenario_to_yaml(s)) == s


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", 0.75),
        ("3min", 3.0),
        ("2h", 120.0),
        ("7d", 10080.0),
        (90, 90.0),
        ("1.5 h", 90.0),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "expected"), [("120/h", 2.0), ("2/min", 2.0), ("1.5/d", 1.5 / 1440), (3, 3.0)]
)
def test_rates(text, expected):
    assert parse_rate(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("bad", "hint"),
    [
        ("5mins", "did you mean 'min'"),
        ("3hrs", "did you mean 'h'"),
        ("soon", "not a duration"),
        (True, "expected a duration"),
    ],
)
def test_bad_durations(bad, hint):
    with pytest.raises(ValueError, match=hint):
        parse_duration(bad)


def test_all_problems_reported_at_once_with_locations():
    text = (
        GOOD.replace("rate: 120/h", "rate: 120/hr")
        .replace("fields: 6\n", "feilds: 6\n")
        .replace("exit: 0.2", "exit: 1.2")
        .replace("{to: register, p: 0.3}", "{to: registr, p: 0.2}")
    )
    found = problems(text)
    assert found == [
        "s.yaml:4:9: arrivals.rate: unknown unit 'hr' in '120/hr' (did you mean 'h'?); "
        "use one of s, min, h, d",
        "s.yaml:17:11: steps.cart.exit: must be at most 1 (got 1.2)",
        "s.yaml:19:5: steps.account.feilds: unknown key 'feilds' (did you mean 'fields'?); "
        "allowed: name, description, duration, irritation, fields, per_field, exit, errors, "
        "capacity, schedule, wait_irritation, balk_at, time_irritation, exit_irritation, next, defect, recovery, by_segment, "
        "cost",
        "s.yaml:21:7: steps.account.next: branch probabilities sum to 0.9; they must sum to 1",
        "s.yaml:22:14: steps.account.next[1].to: no step named 'registr' (did you mean 'register'?)",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("share: 0.4", "share: 0.3"),
            "s.yaml:6:3: segments: shares sum to 0.9; they must sum to 1",
        ),
        (
            ("dist: gamma, mean: 15, sd: 5", "dist: gamma, mean: 15, sd: 0"),
            "s.yaml:12:44: segments.desktop.tolerance.sd: must be greater than 0 (got 0)",
        ),
        (
            ("dist: gamma", "dist: gama"),
            "s.yaml:12:23: segments.desktop.tolerance.dist: unknown distribution 'gama' (did you mean 'gamma'?)",
        ),
        (
            ("low: 20, high: 200", "low: 200, high: 20"),
            "s.yaml:13:18: segments.desktop.order_value: low (200.0) must not exceed high (20.0)",
        ),
        (
            ("capacity: 5", "capacity: 0"),
            "s.yaml:30:15: steps.payment.capacity: must be at least 1 (got 0)",
        ),
        (
            ("capacity: 5", "capacity: 5\n    capacity: 6"),
            "s.yaml:31:5: steps.payment.capacity: duplicate key 'capacity' (first at line 30)",
        ),
        (
            ("name: guest", "name: cart"),
            "s.yaml:23:11: steps.cart.name: duplicate name 'cart' (also steps[0])",
        ),
        (("horizon: 2h", "horizon: .nan"), "s.yaml:2:10: horizon: 'nan' is not a finite number"),
        (
            ("fields: 9", "fields: 9.5"),
            "s.yaml:24:13: steps.guest.fields: expected a whole number, got 9.5",
        ),
        (
            ("name: shop", "name: my shop"),
            "s.yaml:1:7: name: must be letters, digits, '_', '.' or '-', starting with a letter or digit "
            "(got 'my shop')",
        ),
    ],
)
def test_located_messages(change, expected):
    assert expected in problems(GOOD.replace(*change))


def test_missing_required_keys():
    found = problems("name: x\n")
    assert found == [
        "s.yaml:1:1: arrivals: missing required key 'arrivals'",
        "s.yaml:1:1: horizon: missing required key 'horizon'",
        "s.yaml:1:1: segments: missing required key 'segments'",
        "s.yaml:1:1: steps: missing required key 'steps'",
    ]


def test_flow_checks_unreachable_and_endless_loop():
    steps = [
        {"name": "a", "next": "b"},
        {"name": "b", "next": "a"},
        {"name": "c"},
    ]
    data = scenario_dict(steps=steps)
    found = problems(yaml.safe_dump(data, sort_keys=False))
    assert any("steps.c: step 'c' is never reached from the first step 'a'" in p for p in found)
    assert any(
        "steps.a: from step 'a' no path leads to the end of the checkout" in p for p in found
    )
    assert any("steps.b: from step 'b' no path leads to the end" in p for p in found)


def test_loop_with_a_way_out_is_accepted():
    steps = [
        {"name": "a"},
        {"name": "b", "next": [{"to": "a", "p": 0.5}, {"to": "c", "p": 0.5}]},
        {"name": "c"},
    ]
    parse_scenario(yaml.safe_dump(scenario_dict(steps=steps)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "s.yaml:1:1: (file): the file is empty"),
        ("- 1\n- 2\n", "s.yaml:1:1: (file): the top level must be a mapping"),
        ("name: [1,\n", "s.yaml:2:1: (yaml): YAML syntax error"),
        (
            "name: x\n\tsteps: 1\n",
            "s.yaml:2:1: (yaml): YAML syntax error: tab characters cannot indent",
        ),
        (
            "name: !!python/object/apply:os.system [echo hi]\n",
            "s.yaml:1:7: name: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed",
        ),
    ],
)
def test_yaml_level_problems(text, expected):
    assert any(p.startswith(expected) for p in problems(text)), problems(text)


def test_alias_bomb_is_refused_quickly():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for k in range(1, 9):
        prev = chr(ord("a") + k - 1)
        cur = chr(ord("a") + k)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    found = problems("\n".join(lines) + "\n")
    assert found == [
        "s.yaml:1:1: (yaml): the document expands to more than 200000 nodes (aliases?); refused"
    ]


def test_overrides_are_applied_and_validated_again():
    s = parse_scenario(
        GOOD,
        "s.yaml",
        [
            "steps.payment.capacity=8",
            "arrivals.rate=60/h",
            "segments.0.share=0.5",
            "segments.desktop.share=0.5",
        ],
    )
    assert s.steps[4].capacity == 8
    assert s.arrivals.rate == 1.0
    assert [g.share for g in s.segments] == [0.5, 0.5]


def test_bad_overrides_are_located_on_the_command_line():
    found = problems(
        GOOD,
        [
            "steps.paymnt.capacity=8",
            "steps.payment.capcity=8",
            "steps.payment.capacity=0",
            "horizon.x=1",
            "noequals",
        ],
    )
    assert found == [
        "--set:1:7: steps.paymnt: no step named 'paymnt' (did you mean 'payment'?)",
        "--set:2:1: steps.payment.capcity: unknown key 'capcity' (did you mean 'capacity'?); "
        "allowed: name, description, duration, irritation, fields, per_field, exit, errors, "
        "capacity, schedule, wait_irritation, balk_at, time_irritation, exit_irritation, next, defect, recovery, by_segment, "
        "cost",
        "--set:3:24: steps.payment.capacity: must be at least 1 (got 0)",
        "--set:4:9: horizon: 'horizon' is a value, it has no 'x'",
        "--set:5:1: noequals: expected path=value, e.g. steps.payment.capacity=8",
    ]


def test_overrides_that_create_mappings_are_located_on_the_command_line():
    # a missing mapping on the way is created (errors.p on a step without errors) ...
    s = parse_scenario(GOOD, "s.yaml", ["steps.cart.errors.p=0.1"])
    assert s.steps[0].errors.p == 0.1
    # ... and any problem with it points at the override, not at the file
    assert problems(GOOD, ["friction.foo.bar=1", "steps.payment.errorz.p=0.1"]) == [
        "--set:1:10: friction.foo: unknown key 'foo'; allowed: per_field, wait_irritation, time_irritation",
        "--set:2:15: steps.payment.errorz: unknown key 'errorz' (did you mean 'errors'?); "
        "allowed: name, description, duration, irritation, fields, per_field, exit, errors, "
        "capacity, schedule, wait_irritation, balk_at, time_irritation, exit_irritation, next, defect, recovery, by_segment, "
        "cost",
    ]


def test_poisson_is_refused_where_a_count_is_not_expected():
    found = problems(GOOD.replace("dist: gamma, mean: 15, sd: 5", "dist: poisson, mean: 15"))
    assert found == [
        "s.yaml:12:23: segments.desktop.tolerance.dist: "
        "'poisson' is only for counts (e.g. how many people a customer tells)"
    ]


def test_file_level_problems(tmp_path):
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)
    binary = tmp_path / "junk.yaml"
    binary.write_bytes(b"name: x\n\xff\xfe\x00junk")
    with pytest.raises(ScenarioError, match=r"junk.yaml:2:1: \(file\): not UTF-8"):
        load_scenario(binary)


def test_json_schema_describes_every_key():
    schema = scenario_json_schema()
    json.dumps(schema)
    assert set(schema["properties"]) == {
        "name",
        "description",
        "seed",
        "replications",
        "horizon",
        "warmup",
        "start",
        "arrivals",
        "segments",
        "steps",
        "friction",
        "experience",
        "word_of_mouth",
        "repeat",
        "reminders",
        "base",
        "service",
        "economics",
        "uncertainty",
    }
    step = schema["$defs"]["Step"]
    assert step["additionalProperties"] is False
    assert "capacity" in step["properties"]
    assert all("description" in v for v in step["properties"].values())
