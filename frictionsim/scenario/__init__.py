"""Scenario files: YAML text → validated, frozen :class:`Scenario`.

A scenario describes one checkout design: who arrives, who they are and the
steps they walk through. :mod:`.model` declares its keys, their defaults and
ranges (the keys are a contract with users, see ``scenarios/README.md``).

Loading goes in three passes, each reporting every problem it finds:

1. YAML is composed into nodes and converted to plain Python while the line
   and column of every key and value is recorded, so any later problem can be
   reported as ``FILE:LINE:COL: field.path: message``. Duplicate keys,
   non-standard tags (``!!python/...``) and alias bombs are refused here: only
   plain data comes out, no code in a scenario file ever runs
   (:mod:`.yaml_doc`).
2. ``--set path=value`` overrides are applied to that plain mapping (their
   problems are located as ``--set:N:COL``), then everything is validated
   again (:mod:`.overrides`, which also makes a study's variants: :func:`vary`).
3. The pydantic models check types and ranges (unknown keys get a "did you
   mean"); flow checks look at the whole file: shares sum to 1, branch targets
   exist and their probabilities sum to 1, every step is reachable, and every
   step can reach the end of the checkout (a loop with no way out is refused)
   (:mod:`.problems`).

:mod:`.loader` chains them (:func:`load_scenario`, :func:`parse_scenario`) and
writes a scenario back as resolved YAML and scenario files' JSON Schema. Only
this package imports ``yaml``; the rest of frictionsim imports from here.
"""

from __future__ import annotations

from ..flow import END
from . import model
from .loader import (
    MAX_FILE_BYTES,
    load_scenario,
    parse_scenario,
    read_scenario_text,
    scenario_json_schema,
    scenario_to_yaml,
)
from .model import *  # noqa: F403 - the models and their bounds, as listed there
from .overrides import vary
from .yaml_doc import MAX_DEPTH, MAX_INTEGER_DIGITS, MAX_NODES

__all__ = [
    "END",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_INTEGER_DIGITS",
    "MAX_NODES",
    *model.__all__,
    "load_scenario",
    "parse_scenario",
    "read_scenario_text",
    "scenario_json_schema",
    "scenario_to_yaml",
    "vary",
]
