"""Analytics funnel exports (GA4, PostHog, Mixpanel) read into the same counts as
frictionsim's CSV: the bundled examples, format detection, delimiters and decimal
commas, step mapping, open funnels, located messages, and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import frictionsim.funnel_data as funnel_data
from frictionsim.cli import cli
from frictionsim.csvtext import parse_count, parse_number, read_table, sniff_delimiter
from frictionsim.errors import ScenarioError
from frictionsim.funnel_data import load_funnel, parse_funnel
from frictionsim.funnel_exports import FORMATS, detect_format, normalized, parse_export
from frictionsim.scenario import load_scenario

from .conftest import make_scenario, scenario_dict

ROOT = Path(__file__).parent.parent
BASELINE = ROOT / "scenarios" / "checkout_baseline.yaml"
OBSERVED = ROOT / "scenarios" / "data" / "observed_funnel.csv"
EXPORTS = ROOT / "scenarios" / "data" / "exports"
EXAMPLES = {
    "ga4": "ga4_funnel.csv",
    "ga4-json": "ga4_funnel.json",
    "posthog": "posthog_funnel.csv",
    "amplitude": "amplitude_funnel.csv",
    "mixpanel": "mixpanel_funnel.json",
}


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(BASELINE)


def counts(funnel):
    return [(r.segment, r.step, r.entered, r.completed) for r in funnel.rows]


def shop(**changes):
    """cart -> shipping_address -> review, two segments."""
    steps = [{"name": n} for n in ("cart", "shipping_address", "review")]
    segments = [
        {"name": "mobile", "share": 0.5, "tolerance": 5, "order_value": 1},
        {"name": "desktop", "share": 0.5, "tolerance": 5, "order_value": 1},
    ]
    return make_scenario(**{"name": "shop", "steps": steps, "segments": segments, **changes})


def problems_of(text, file="f.csv", scenario=None, fmt="auto", step_map=()):
    with pytest.raises(ScenarioError) as info:
        parse_export(text, file, scenario or shop(), fmt, step_map)
    return [str(p) for p in info.value.problems]


SHOP_ROWS = [
    (None, "cart", 1000, 600),
    (None, "shipping_address", 600, 450),
    (None, "review", 450, 400),
]


# ---------------------------------------------------------------- the bundled examples


@pytest.mark.parametrize("fmt", list(EXAMPLES))
def test_each_example_export_reads_as_the_observed_funnel_csv(baseline, fmt):
    expected = counts(load_funnel(OBSERVED, baseline))
    funnel = load_funnel(EXPORTS / EXAMPLES[fmt], baseline)
    assert funnel.format == fmt
    assert counts(funnel) == expected
    assert funnel.warnings == ()
    # named explicitly, the same
    assert counts(load_funnel(EXPORTS / EXAMPLES[fmt], baseline, fmt)) == expected


def test_auto_detection_tells_every_format_apart():
    for fmt, name in EXAMPLES.items():
        assert detect_format((EXPORTS / name).read_text()) == fmt
    assert detect_format(OBSERVED.read_text()) == "frictionsim"
    assert detect_format("step;entered;completed\ncart;10;5\n") == "frictionsim"
    assert detect_format("when,who\n1,2\n") is None
    assert set(EXAMPLES) | {"auto", "frictionsim"} == set(FORMATS)


def test_the_cli_choices_are_the_formats():
    (option,) = [p for p in cli.commands["calibrate"].params if p.name == "funnel_format"]
    assert tuple(option.type.choices) == FORMATS


def test_every_example_is_short_and_has_no_real_data():
    for name in EXAMPLES.values():
        assert (EXPORTS / name).stat().st_size < 5000
    assert "SYNTHETIC" in (EXPORTS / "ga4_funnel.csv").read_text()


# ---------------------------------------------------------------- delimiters, decimal commas


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_frictionsim_csv_reads_with_any_delimiter(sep):
    text = "# export\n" + "\n".join(
        sep.join(cells)
        for cells in [
            ("step", "entered", "completed"),
            ("cart", "1000", ""),
            ("shipping_address", "600", "450"),
            ("review", "450", "400"),
        ]
    )
    assert counts(parse_funnel(text, "f.csv", shop())) == SHOP_ROWS


def test_a_semicolon_frictionsim_csv_with_decimal_commas_reads():
    text = "step;entered;completed\ncart;1.000;600\nshipping_address;600,0;450\nreview;450;400\n"
    assert counts(parse_export(text, "f.csv", shop())) == SHOP_ROWS


def test_ga4_csv_with_semicolons_and_decimal_comma_rates_reads_its_rates():
    # no Abandonments column: completions are the completion rate times the users, rounded
    text = (
        "# GA4\nStep;Active users;Completion rate\n"
        "1. Cart;1000;60 %\n2. Shipping address;600;75,00 %\n3. Review;450;88,89 %\n"
        "4. Purchase;400;\n"
    )
    assert counts(parse_export(text, "f.csv", shop())) == SHOP_ROWS
    assert counts(parse_export(text.replace(";", "\t"), "f.csv", shop())) == SHOP_ROWS


def test_sniffing_and_numbers():
    assert sniff_delimiter("step;entered;completed") == ";"
    assert sniff_delimiter("Step\tActive users\tCompletion rate") == "\t"
    assert sniff_delimiter('"a;b",c') == ","
    assert sniff_delimiter("step") == ","
    assert read_table("a;b\nx;12,5\n").decimal == ","
    assert read_table("a\tb\nx\t12.5\n").decimal == "."
    assert read_table('a,b\nx,"12,5"\n').decimal == ","
    assert read_table("a;b\nx;1.000\n").decimal == ","  # semicolons: a decimal comma by default
    assert parse_number("63,58 %", ",") == pytest.approx(0.6358)
    assert parse_number("1 234,5", ",") == 1234.5
    assert parse_number("12.5.1") is None
    assert parse_count("14,946") == (14946, None)
    assert parse_count("14.946", ",") == (14946, None)
    assert parse_count("14946.00") == (14946, None)
    assert parse_count("12.5")[1] == "must be a whole number of visitors (got 12.5)"
    assert parse_count("12,5", ",")[1] == "must be a whole number of visitors (got 12,5)"
    assert parse_count("-3")[1] == "must not be negative (got -3)"
    assert parse_count("40%")[1] == "expected a whole number of visitors, got '40%'"
    assert parse_count("9" * 30)[1] == "too large for a count of visitors (30 digits)"


# ---------------------------------------------------------------- step mapping


GA4 = "Step,Active users,Abandonments\n{}\n"


def ga4(*rows):
    return GA4.format("\n".join(rows))


def test_steps_match_by_normalized_name_in_any_order():
    assert normalized("2. Shipping-Address ") == normalized("shipping_address")
    text = ga4(
        "3. REVIEW,450,50", "1. cart,1000,400", "4. Purchase,400,", "2. Shipping  address,600,150"
    )
    assert counts(parse_export(text, "f.csv", shop())) == SHOP_ROWS


def test_steps_match_by_position_when_the_counts_agree():
    text = ga4("1. Basket,1000,400", "2. Address,600,150", "3. Check,450,50", "4. Paid,400,")
    assert counts(parse_export(text, "f.csv", shop())) == SHOP_ROWS
    # without the orders step, the last step's completions are missing
    (message,) = problems_of(ga4("Basket,1000,400", "Address,600,150", "Check,450,50"))
    assert message == (
        "f.csv:4:1: Step: 'review' is the scenario's last step, and the export counts no orders "
        "after it: add the order step (e.g. purchase) to the funnel after 'review'"
    )


def test_an_unknown_step_is_named_with_the_closest_scenario_step():
    text = ga4(
        "Cart,1000,400", "Shiping adress,600,150", "Reveiw,450,50", "Extra,420,20", "Paid,400,"
    )
    assert problems_of(text) == [
        "f.csv:3:1: Step: export step 'Shiping adress' matches no step of scenario 'shop' (did "
        "you mean 'shipping_address'?); map it with --step-map 'Shiping adress=STEP', or leave "
        "it out with --step-map 'Shiping adress='",
        "f.csv:4:1: Step: export step 'Reveiw' matches no step of scenario 'shop' (did you mean "
        "'review'?); map it with --step-map 'Reveiw=STEP', or leave it out with --step-map "
        "'Reveiw='",
        "f.csv:5:1: Step: export step 'Extra' matches no step of scenario 'shop'; map it with "
        "--step-map 'Extra=STEP', or leave it out with --step-map 'Extra='",
        "f.csv:6:1: Step: export step 'Paid' matches no step of scenario 'shop'; map it with "
        "--step-map 'Paid=STEP', or leave it out with --step-map 'Paid='",
    ]


def test_a_last_step_after_the_scenarios_last_counts_the_orders_whatever_else_fails():
    text = ga4("Cart,1000,400", "Gift wrap,700,100", "Shipping address,600,150", "Review,450,50")
    (message,) = problems_of(text + "Purchase,400,\n")
    assert message.startswith("f.csv:3:1: Step: export step 'Gift wrap' matches no step")
    rows = counts(parse_export(text + "Purchase,400,\n", "f.csv", shop(), step_map=["gift wrap="]))
    assert rows == SHOP_ROWS


def test_step_map_names_and_leaves_out_steps():
    text = ga4("Basket,1000,400", "Address,600,150", "Survey,500,50", "Check,450,50", "Paid,400,")
    step_map = ["Basket=cart", "address=Shipping Address", "Survey=", "Check=review"]
    # the left-out survey sits between address and check: the address's completions are
    # the check's entries (the flow), not its own "went on to the survey"
    rows = counts(parse_export(text, "f.csv", shop(), step_map=step_map))
    assert rows == SHOP_ROWS
    assert problems_of(text, step_map=["Baskt=cart", "Address=ship", "nothing"]) == [
        "--step-map:1:1: Baskt: the export has no step 'Baskt' (did you mean 'Basket'?); its "
        "steps: Basket, Address, Survey, Check, Paid",
        "--step-map:2:9: ship: scenario 'shop' has no step 'ship'",
        "--step-map:3:1: nothing: expected 'Tool step name=scenario_step' (or 'Tool step name=' "
        "to leave it out)",
    ]


def test_two_export_steps_on_one_scenario_step_are_refused():
    text = ga4("Cart,1000,400", "Shipping,600,150", "Address,550,100", "Review,450,50", "Paid,400,")
    (message,) = problems_of(
        text, step_map=["Shipping=shipping_address", "Address=shipping_address"]
    )
    assert message == (
        "f.csv:4:1: Step: export steps 'Shipping' and 'Address' both map to step "
        "'shipping_address' (--step-map 1 'Shipping=shipping_address'; --step-map 2 "
        "'Address=shipping_address'); leave one out with --step-map 'Address=' (or 'Shipping=')"
    )


def test_an_export_step_mapped_twice_names_both_entries():
    text = ga4("Cart,1000,400", "Shipping,600,150", "Review,450,50", "Paid,400,")
    assert problems_of(text, step_map=["Shipping=shipping_address", "shipping=review"]) == [
        "--step-map:2:1: shipping: maps export step 'Shipping' again (--step-map 1 "
        "'Shipping=shipping_address' maps it too); map each export step once"
    ]


def test_step_map_does_not_apply_to_frictionsim_csv():
    (message,) = problems_of("step,entered\ncart,10\n", step_map=["a=cart"])
    assert message.startswith("--step-map:1:1: a=cart: maps the steps of an analytics export")


# ---------------------------------------------------------------- open funnels


def test_an_open_ga4_funnel_uses_each_steps_own_completions_with_a_warning():
    # visitors join at the address step: 700 entered, though only 600 went on from the cart
    text = ga4("Cart,1000,400", "Shipping address,700,200", "Review,500,100", "Purchase,410,")
    funnel = parse_export(text, "f.csv", shop())
    assert counts(funnel) == [
        (None, "cart", 1000, 600),
        (None, "shipping_address", 700, 500),
        (None, "review", 500, 400),
    ]
    (warning,) = funnel.warnings
    assert warning.startswith(
        "f.csv:3:18: Active users: more visitors entered 'shipping_address' (700) than "
        "completed 'cart' (600), and only 'cart' leads there: read as an open funnel"
    )


def test_an_open_funnel_without_completions_per_step_is_refused():
    text = "name,breakdown_value,action_id,count\ncart,,c,1000\nshipping_address,,s,1200\nreview,,r,450\npurchase,,p,400\n"
    (message,) = problems_of(text)
    assert message == (
        "f.csv:3:21: count: more visitors reached 'shipping_address' (1200) than 'cart' (1000), "
        "the step before it: an open funnel (visitors joining mid-way)? this export gives no "
        "completions per step, so export a closed funnel"
    )
    # the same from a GA4 table without abandonments
    (message,) = problems_of(
        "Step,Active users\ncart,1000\nshipping_address,1200\nreview,450\nbuy,400\n"
    )
    assert "export a closed funnel" in message
    assert message.startswith("f.csv:3:18: Active users: more visitors reached 'shipping_address'")


def test_frictionsim_csv_refuses_a_rise_it_would_fill_from():
    (message,) = problems_of(
        "step,entered,completed\ncart,100,\nshipping_address,120,90\nreview,80,70\n"
    )
    assert message == (
        "f.csv:3:18: entered: more visitors entered 'shipping_address' (120) than entered "
        "'cart' (100), and only 'cart' leads there; an open funnel (visitors joining mid-way) "
        "needs each step's own completions: give them, or export a closed funnel"
    )


# ---------------------------------------------------------------- breakdowns, dates


def test_posthog_breakdown_values_that_name_segments_are_segments():
    lines = ["name,breakdown_value,action_id,count,median_conversion_time (seconds)"]
    for seg, n in (("Mobile", (600, 350, 250, 220)), ("desktop", (400, 250, 200, 180))):
        for name, c in zip(("cart", "shipping address", "review", "purchase"), n):
            lines.append(f"{name},{seg},{name},{c},")
    funnel = parse_export("\n".join(lines) + "\n", "f.csv", shop())
    assert counts(funnel) == [
        ("mobile", "cart", 600, 350),
        ("mobile", "shipping_address", 350, 250),
        ("mobile", "review", 250, 220),
        ("desktop", "cart", 400, 250),
        ("desktop", "shipping_address", 250, 200),
        ("desktop", "review", 200, 180),
    ]
    (message,) = problems_of("\n".join(lines).replace("Mobile", "Chrome") + "\n")
    assert message.startswith(
        "f.csv:2:6: breakdown_value: breakdown value 'Chrome' names no segment of scenario 'shop'"
    )


def ga4_response(rows, dims=("funnelStepName",)):
    metrics = ["activeUsers", "funnelStepCompletionRate", "funnelStepAbandonments"]
    return json.dumps(
        {
            "funnelTable": {
                "dimensionHeaders": [{"name": d} for d in dims],
                "metricHeaders": [{"name": m, "type": "TYPE_INTEGER"} for m in metrics],
                "rows": [
                    {
                        "dimensionValues": [{"value": v} for v in dv],
                        "metricValues": [{"value": v} for v in mv],
                    }
                    for dv, mv in rows
                ],
            },
            "kind": "analyticsData#runFunnelReport",
        },
        indent=1,
    )


def test_ga4_json_breakdown_reads_segments_or_else_its_totals():
    steps = ("1. cart", "2. shipping_address", "3. review", "4. purchase")
    by = {
        "RESERVED_TOTAL": (1000, 600, 450, 400),
        "mobile": (600, 350, 250, 220),
        "desktop": (400, 250, 200, 180),
    }
    rows = []
    for k, step in enumerate(steps):  # GA4 interleaves the breakdown values step by step
        for value, n in by.items():
            gone = n[k] - n[k + 1] if k + 1 < len(n) else 0
            rows.append(((step, value), (str(n[k]), "0.5", str(gone))))
    text = ga4_response(rows, ("funnelStepName", "deviceCategory"))
    assert [r[:2] for r in counts(parse_export(text, "r.json", shop()))] == [
        (s, t) for s in ("mobile", "desktop") for t in ("cart", "shipping_address", "review")
    ]
    other = text.replace('"mobile"', '"tablet"')
    assert counts(parse_export(other, "r.json", shop())) == SHOP_ROWS


def test_mixpanel_counts_of_every_date_are_added():
    funnel = load_funnel(EXPORTS / "mixpanel_funnel.json", load_scenario(BASELINE))
    data = json.loads((EXPORTS / "mixpanel_funnel.json").read_text())["data"]
    assert len(data) == 2
    assert funnel.rows[0].entered == sum(day["steps"][0]["count"] for day in data.values())


def test_a_segmented_mixpanel_response_is_refused():
    text = json.dumps({"data": {"2027-01-04": {"iOS": {"steps": []}}}}, indent=1)
    (message,) = problems_of(text, "m.json", fmt="mixpanel")
    assert message == (
        "m.json:3:17: data.2027-01-04: no 'steps': a funnel segmented by a property ('on') is "
        "not read; query it without segmentation"
    )


# ---------------------------------------------------------------- located problems


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        (
            "# GA4\nStep,Users,Abandonments\ncart,10,2\n",
            "ga4",
            "f.csv:2:1: active users: missing column 'active users' (GA4 funnel table: Step, "
            "Active users, Completion rate, Abandonments, …); the header has 'Step', 'Users', "
            "'Abandonments'",
        ),
        (
            ga4("cart,ten,2"),
            "auto",
            "f.csv:2:6: Active users: expected a whole number of visitors, got 'ten'",
        ),
        (ga4("cart,-10,2"), "auto", "f.csv:2:6: Active users: must not be negative (got -10)"),
        (
            ga4("cart,10.5,2"),
            "auto",
            "f.csv:2:6: Active users: must be a whole number of visitors (got 10.5)",
        ),
        (
            ga4("cart,10,12"),
            "auto",
            "f.csv:2:9: Abandonments: abandonments (12) exceed active users (10)",
        ),
        (
            "Step,Active users,Completion rate\ncart,10,150%\n",
            "ga4",
            "f.csv:2:9: Completion rate: a completion rate must be 0 to 100 % (got 1.5)",
        ),
        (
            ga4("cart,1000,400", "cart,600,100"),
            "auto",
            "f.csv:3:1: Step: step 'cart' repeats line 2 (a breakdown? export the funnel "
            "without one)",
        ),
        (
            "Step,Active users,Completion rate\ncart,1000,60,5%\n",
            "ga4",
            "f.csv:2:1: (row): has 4 fields; the header has 3 (a number with a comma in a "
            "comma-separated file, like 12,5 or 1,000? quote such numbers, or separate the "
            "columns with ';')",
        ),
        (
            "name,breakdown_value,action_id,count\n,,,10\n",
            "auto",
            "f.csv:2:3: action_id: empty step name",
        ),
        (
            "when;who\n1;2\n",
            "auto",
            "f.csv:1:1: (file): cannot tell which funnel export this is (it starts 'when;who'); "
            "expected frictionsim's CSV (step,entered[,completed][,segment]); a GA4 funnel "
            "exploration CSV (Step,Active users,…); a GA4 runFunnelReport JSON response "
            "(funnelTable); a PostHog funnel CSV (name,breakdown_value,action_id,count,…); an "
            "Amplitude funnel chart CSV (chart lines, then Step,Users,…); a Mixpanel funnels query JSON response (data … steps). Name it with --funnel-format",
        ),
        ("", "auto", "f.csv:1:1: (file): empty; expected a header: step,entered[,completed]"),
        (
            "# only a comment\n",
            "ga4",
            "f.csv:1:1: (file): empty; expected a GA4 funnel exploration CSV (Step,Active users,…)",
        ),
        (
            "step,entered\ncart,1\x00\n",
            "auto",
            "f.csv:2:7: (file): binary data (a NUL byte), not a funnel export",
        ),
        (
            '{"funnelTable": {\n  "rows": [1,]\n}}',
            "auto",
            "f.csv:2:14: (json): not valid JSON: Expecting value",
        ),
        (
            '{"funnelTable": {"dimensionHeaders": [{"name": "funnelStepName"}],\n'
            ' "metricHeaders": [{"name": "activeUsers"}],\n'
            ' "rows": [{"dimensionValues": [{"value": "1. cart"}],\n'
            '           "metricValues": [{"value": "12.5"}]}]}}',
            "auto",
            "f.csv:4:39: funnelTable.rows.0.metricValues.0.value: must be a whole number of "
            "visitors (got 12.5)",
        ),
        (
            '{"funnelTable": {"dimensionHeaders": [{"name": "funnelStepName"}],\n'
            ' "metricHeaders": [{"name": "sessions"}], "rows": []}}',
            "ga4-json",
            "f.csv:1:17: funnelTable: no metric 'activeUsers'",
        ),
        (
            '{"data": {"2027-01-04": {"steps": [{"event": "cart", "count": -4}]}}}',
            "mixpanel",
            "f.csv:1:63: data.2027-01-04.steps.0.count: must not be negative (got -4)",
        ),
        (
            "[" * 100 + "]" * 100,
            "ga4-json",
            "f.csv:1:66: (json): nested deeper than 64 levels",
        ),
    ],
)
def test_each_malformed_export_gives_one_located_line(text, fmt, expected):
    assert problems_of(text, fmt=fmt) == [expected]


def test_an_export_of_very_many_steps_is_refused_in_one_line():
    text = ga4(*(f"{k}. step {k},10,5" for k in range(1, 5001)))
    assert problems_of(text) == [
        "f.csv:102:1: Step: the export has 5,000 steps, more than 100: a funnel has a few; is "
        "this a funnel export?"
    ]


def test_file_problems_are_located_too(tmp_path, monkeypatch, baseline):
    big = tmp_path / "big.csv"
    big.write_text("Step,Active users\n" + "cart,1\n" * 100)
    monkeypatch.setattr(funnel_data, "MAX_FUNNEL_BYTES", 500)
    with pytest.raises(ScenarioError) as info:
        load_funnel(big, baseline)
    assert str(info.value) == f"{big}:1:1: (file): larger than 500 bytes; refused"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Step,Active users\nCafé,1\n".encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        load_funnel(latin, baseline)
    assert str(info.value) == (
        f"{latin}:1:1: (file): not UTF-8 text (is this a CSV or JSON export?); it looks like "
        "Latin-1 or Windows-1252 text: save it as UTF-8 (Save As with the encoding UTF-8; in a spreadsheet, CSV UTF-8)"
    )
    with pytest.raises(ScenarioError) as info:
        load_funnel(tmp_path, baseline)
    assert str(info.value) == f"{tmp_path}:1:1: (file): is a directory, not a funnel file"


# ---------------------------------------------------------------- command line


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_cli_calibrates_to_a_ga4_export(tmp_cwd):
    result = invoke(
        "calibrate",
        BASELINE,
        "--funnel",
        EXPORTS / "ga4_funnel.csv",
        "--fit",
        "exit:cart",
        "--sample",
        1,
        "--max-evaluations",
        10,
        "--out",
        "cal.yaml",
        "-q",
    )
    assert result.exit_code == 0, result.output
    assert load_scenario(tmp_cwd / "cal.yaml").name == "checkout-baseline-calibrated"
    rows = (tmp_cwd / "cal.fit.csv").read_text().splitlines()
    assert rows[1].startswith(",cart,14946,9503,")


@pytest.fixture
def tiny(tmp_cwd):
    steps = [{"name": n, "exit": 0.1} for n in ("cart", "shipping_address", "review")]
    path = tmp_cwd / "tiny.yaml"
    path.write_text(
        yaml.safe_dump(scenario_dict(name="tiny", horizon=300, arrivals={"rate": 2}, steps=steps))
    )
    return path


def test_cli_takes_the_format_and_step_map_and_prints_warnings(tiny, tmp_cwd):
    export = tmp_cwd / "open.csv"
    export.write_text(ga4("Basket,600,240", "Address,400,100", "Review,300,30", "Paid,270,"))
    args = ("calibrate", tiny, "--funnel", export, "--funnel-format", "ga4", "--sample", 1)
    args += ("--max-evaluations", 10, "--fit", "exit:cart", "--out", "c.yaml", "-q")
    result = invoke(*args, "--step-map", "Basket=cart", "--step-map", "Address=shipping_address")
    assert result.exit_code == 0, result.output
    assert f"warning: {export}:3:9: Active users: more visitors entered 'shipping_address'" in (
        result.output
    )
    result = invoke(*args, "--step-map", "Basket=carts")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "--step-map:1:8: carts: scenario 'tiny' has no step 'carts' (did you mean 'cart'?)"
    ]


def test_cli_gives_one_line_for_an_export_it_cannot_tell(tiny, tmp_cwd):
    export = tmp_cwd / "what.csv"
    export.write_text("when,who\n1,2\n")
    result = invoke("calibrate", tiny, "--funnel", export, "--out", "c.yaml")
    assert result.exit_code == 2
    (line,) = result.output.splitlines()
    assert line.startswith(f"{export}:1:1: (file): cannot tell which funnel export this is")
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- Amplitude's funnel CSV

AMPLITUDE = (
    '"Shop funnel"\n"Date range: 2026-03-02 to 2026-03-08"\n\n'
    "Step,Users,Conversion %\n"
    "Step 1: Cart,1000,100%\n"
    "Step 2: Shipping address,600,60%\n"
    "Step 3: Review,450,75%\n"
    "Step 4: Purchase,400,88.9%\n"
)


def test_amplitude_csv_skips_the_chart_lines_and_reads_the_counts():
    funnel = parse_export(AMPLITUDE, "a.csv", shop())
    assert funnel.format == "amplitude"
    # completions from the next step's users; the extra last step counts the orders
    assert counts(funnel) == SHOP_ROWS
    # header names in any case, Event for Step, Uniques for Users, ';' and decimal commas
    other = AMPLITUDE.replace("Step,Users,Conversion %", "EVENT;uniques;conversion %")
    other = other.replace(",", ";").replace("88.9%", "88,9%")
    assert counts(parse_export(other, "a.csv", shop(), "amplitude")) == SHOP_ROWS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '"Shop funnel"\nwhen,who\n1,2\n',
            "a.csv:1:1: (file): no table header with a step column (Step or Event) and a count "
            "column (Users, Uniques, Count, Number Of Users, User Count); expected an Amplitude "
            "funnel chart CSV (chart lines, then Step,Users,…)",
        ),
        (
            '"Shop funnel"\nStep,Users\n',
            "a.csv:2:1: (file): no rows of counts",
        ),
        (
            "\n \n",
            "a.csv:1:1: (file): empty; expected an Amplitude funnel chart CSV (chart lines, then "
            "Step,Users,…)",
        ),
        (
            '"Shop funnel"\nStep,Users\nCart,1000\nShipping address,-5\n',
            "a.csv:4:18: Users: must not be negative (got -5)",
        ),
        (
            '"Shop funnel"\nStep,Users\nCart,1e9\n',
            "a.csv:3:6: Users: expected a whole number of visitors, got '1e9'",
        ),
        (
            '"Shop funnel"\nStep,Users\n,1000\n',
            "a.csv:3:1: Step: empty step name",
        ),
        (
            '"Shop funnel"\nStep,Users\nCart,1,000,5\n',
            "a.csv:3:1: (row): has 4 fields; the header has 2 (a number with a comma in a "
            "comma-separated file, like 12,5 or 1,000? quote such numbers, or separate the "
            "columns with ';')",
        ),
    ],
)
def test_amplitude_csv_problems_are_one_located_line(text, message):
    assert problems_of(text, "a.csv", fmt="amplitude") == [message]


def test_cli_refuses_a_broken_amplitude_export_with_exit_2(tmp_cwd):
    export = Path("amp.csv")
    export.write_text('"Shop funnel"\nStep,Users\nCart,lots\n')
    result = invoke("calibrate", BASELINE, "--funnel", export, "--out", "c.yaml")
    assert result.exit_code == 2
    assert result.output.strip().endswith(
        "amp.csv:3:6: Users: expected a whole number of visitors, got 'lots'"
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)


# ---------------------------------------------------------------- hostile values, one line each


def test_a_json_integer_too_long_for_python_is_one_located_line():
    text = '{"data": {"d": {"steps": [{"event": "cart", "count": 1' + "0" * 5000 + "}]}}}"
    assert problems_of(text, fmt="mixpanel") == [
        "f.csv:1:54: (json): a number of 5,001 digits: too large for a count"
    ]
    text = '{"data": {"d": {"steps": [{"event": "cart", "count": -1e400}]}}}'
    assert problems_of(text, fmt="mixpanel") == [
        "f.csv:1:54: (json): -1e400 is beyond any number of visitors"
    ]


def test_a_bad_mixpanel_count_on_the_first_date_is_the_only_problem():
    day = '{"steps": [{"event": "cart", "count": N}, {"event": "review", "count": 5}]}'
    text = '{"data": {"d1": ' + day.replace("N", "-1") + ', "d2": ' + day.replace("N", "3") + "}}"
    assert problems_of(text, fmt="mixpanel") == [
        "f.csv:1:55: data.d1.steps.0.count: must not be negative (got -1)"
    ]


def test_a_ga4_json_step_named_by_a_number_is_that_name():
    rows = ",".join(
        '{"dimensionValues": [{"value": ' + n + '}], "metricValues": [{"value": "' + v + '"}]}'
        for n, v in (("1", "1000"), ("2", "600"), ("3", "450"), ("4", "400"))
    )
    text = (
        '{"funnelTable": {"dimensionHeaders": [{"name": "funnelStepName"}], '
        '"metricHeaders": [{"name": "activeUsers"}], "rows": [' + rows + "]}}"
    )
    step_map = ["1=cart", "2=shipping_address", "3=review"]
    assert counts(parse_export(text, "f.json", shop(), "ga4-json", step_map)) == SHOP_ROWS
    bad = text.replace('"value": 1}', '"value": [1]}')
    assert problems_of(bad, fmt="ga4-json") == [
        "f.csv:1:152: funnelTable.rows.0.dimensionValues.0.value: expected a step name "
        "(a text), got a list"
    ]


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("ga4", "Step,Active users\n1. cart,10,5\n", "g:2:1: (row): has 3 fields; the header has 2"),
        ("posthog", "name,count\ncart,10,5\n", "g:2:1: (row): has 3 fields; the header has 2"),
        ("posthog", "name,breakdown_value,count\ncart,10\n",
         "g:2:1: (row): has 2 fields; the header has 3"),
        ("amplitude", "Step,Users\ncart,10,5\n", "g:2:1: (row): has 3 fields; the header has 2"),
    ],
)  # fmt: skip
def test_a_row_of_the_wrong_width_is_located_in_every_csv_export(baseline, fmt, text, message):
    with pytest.raises(ScenarioError) as info:
        parse_export(text, "g", baseline, fmt)
    assert str(info.value).startswith(message), str(info.value)
