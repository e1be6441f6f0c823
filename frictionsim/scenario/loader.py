"""Loading: scenario files and text in; the resolved scenario and its JSON Schema out.

:func:`load_scenario` reads a file (a regular file of at most
:data:`MAX_FILE_BYTES` bytes of UTF-8, see :mod:`frictionsim.userfiles`) and
:func:`parse_scenario` takes its text through the three passes, each reporting
every problem it finds: :func:`~.yaml_doc.parse_yaml` (plain data and marks),
:func:`~.overrides.apply_overrides` (``--set``), :func:`~.problems.validate`
(types, ranges and flow), and raises one :class:`ScenarioError` with them all.
:func:`scenario_to_yaml` writes a scenario back with every default filled in
(``scenario.resolved.yaml`` in a results folder); :func:`scenario_json_schema`
describes scenario files for editors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ..errors import ScenarioError
from ..userfiles import read_user_file
from .model import Scenario
from .overrides import apply_overrides
from .problems import validate
from .yaml_doc import parse_yaml

#: Scenario files larger than this are refused before parsing.
MAX_FILE_BYTES = 1_000_000


def parse_scenario(text: str, file: str = "<string>", overrides: Sequence[str] = ()) -> Scenario:
    """Validate scenario YAML ``text``; raise :class:`ScenarioError` with every problem."""
    doc = parse_yaml(text, file)
    if not isinstance(doc.data, dict):
        raise ScenarioError(doc.problems)
    apply_overrides(doc, overrides)
    return validate(doc)


def read_scenario_text(path: str | Path) -> str:
    """The text of a scenario file, or a located :class:`ScenarioError`."""
    _, text = read_user_file(
        path,
        kind="a scenario file",
        max_bytes=MAX_FILE_BYTES,
        too_big="file is {size} bytes; scenario files are limited to {limit}",
        encoding="utf-8",
        not_text="not UTF-8 text (is this a scenario file?)",
        locate_bad_byte=True,
    )
    return text


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read, override and validate the scenario file at ``path``."""
    return parse_scenario(read_scenario_text(path), str(path), overrides)


def scenario_to_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario (every default filled in, times in minutes) as YAML."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    header = (
        f"# resolved scenario '{scenario.name}': every default filled in;\n"
        "# durations are minutes and rates are per minute.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files, for editor completion and checking."""
    schema = Scenario.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "frictionsim scenario"
    return schema


__all__ = [
    "MAX_FILE_BYTES",
    "load_scenario",
    "parse_scenario",
    "read_scenario_text",
    "scenario_json_schema",
    "scenario_to_yaml",
]
