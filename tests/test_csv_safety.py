"""CSV cells from user text never run as spreadsheet formulas (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest
import yaml

from frictionsim.results import csv_text, spreadsheet_safe

from .conftest import scenario_dict
from .test_cli import invoke


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-5", "-5"),  # a number written as text stays a number
        ("+1.5e3", "+1.5e3"),
        ("120/h", "120/h"),
        ("pay", "pay"),
        (-5, -5),
        (-0.5, -0.5),
        (None, None),
    ],
)
def test_spreadsheet_safe(cell, written):
    assert spreadsheet_safe(cell) == written


def test_csv_text_escapes_text_cells_and_headers_but_not_numbers():
    text = csv_text(
        [{"=p": "=1+1", "metric": "m", "mean": -5.25, "n": -3}], ["=p", "metric", "mean", "n"]
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["'=p", "metric", "mean", "n"], ["'=1+1", "m", "-5.25", "-3"]]


def test_a_swept_text_value_is_written_safely(tmp_cwd):
    (tmp_cwd / "s.yaml").write_text(yaml.safe_dump(scenario_dict(replications=2)))
    evil = "=2+5+cmd|' /C calc'!A0"
    result = invoke(
        "sweep", "s.yaml", "--param", "description", "--values", evil, "--out", "o", "-q",
        "--no-charts",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((tmp_cwd / "o" / "sweep.csv").read_text())))
    assert {r["description"] for r in rows} == {"'" + evil}
