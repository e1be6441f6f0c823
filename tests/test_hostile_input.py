"""Hostile scenario files: every one gets its exact located message, none runs code.

The corpus lives in ``tests/data/bad/``: one file per case, and
``expected.yaml`` with every problem each must produce. To add a case, add a
file, run ``frictionsim validate tests/data/bad/NEW.yaml``, check that each
line names the right line, column and field, and paste the lines (without the
file name) into ``expected.yaml``.
"""

from __future__ import annotations

import ast
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from frictionsim.cli import cli
from frictionsim.errors import ScenarioError
from frictionsim.scenario import MAX_FILE_BYTES, MAX_NODES, load_scenario, parse_scenario

BAD = Path(__file__).parent / "data" / "bad"
EXPECTED: dict = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))
FILES = {k: v for k, v in EXPECTED.items() if isinstance(v, list)}
OVERRIDES = {k: v for k, v in EXPECTED.items() if isinstance(v, dict)}


def located(path: Path, lines: list[str]) -> list[str]:
    return [line.replace("{file}", str(path)) for line in lines]


def test_the_corpus_is_large_and_complete():
    assert len(EXPECTED) >= 40
    on_disk = {p.name for p in BAD.iterdir()} - {"expected.yaml", "good.yaml"}
    assert on_disk == set(FILES) - {"missing.yaml"}, "every file has its expectations"
    assert not (BAD / "missing.yaml").exists()
    load_scenario(BAD / "good.yaml")  # the cases are small edits of a valid file


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_hostile_file_gets_its_exact_located_problems(name):
    path = BAD / name
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [str(p) for p in info.value.problems] == [f"{path}:{line}" for line in FILES[name]]


@pytest.mark.parametrize("name", sorted(OVERRIDES))
def test_each_hostile_override_gets_its_exact_located_problems(name):
    case = OVERRIDES[name]
    path = BAD / case["file"]
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, case["set"])
    assert [str(p) for p in info.value.problems] == located(path, case["expect"])


@pytest.mark.parametrize("name", sorted(FILES))
def test_validate_prints_the_same_lines_and_exits_2(name):
    path = BAD / name
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"{path}:{line}" for line in FILES[name]]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["set_python_tag", "set_unit_typo", "set_into_a_value"])
def test_run_with_a_bad_override_exits_2_and_writes_nothing(name, tmp_path):
    case = OVERRIDES[name]
    path = BAD / case["file"]
    args = ["run", str(path), "--out", str(tmp_path / "o")]
    for override in case["set"]:
        args += ["--set", override]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.output.splitlines() == located(path, case["expect"])
    assert list(tmp_path.iterdir()) == []


def test_files_over_the_size_limit_are_refused_before_parsing(tmp_path):
    big = tmp_path / "big.yaml"
    good = (BAD / "good.yaml").read_text()
    padding = "# " + "x" * 98 + "\n"
    big.write_text(good + padding * (MAX_FILE_BYTES // len(padding) + 1))
    size = big.stat().st_size
    with pytest.raises(ScenarioError) as info:
        load_scenario(big)
    assert [str(p) for p in info.value.problems] == [
        f"{big}:1:1: (file): file is {size} bytes; scenario files are limited to {MAX_FILE_BYTES}"
    ]
    # just under the limit is fine
    big.write_text(good + padding * ((MAX_FILE_BYTES - len(good)) // len(padding)))
    load_scenario(big)


def test_unreadable_file_is_located(tmp_path):
    path = tmp_path / "secret.yaml"
    path.write_text((BAD / "good.yaml").read_text())
    path.chmod(0)
    try:
        path.read_bytes()
    except PermissionError:
        pass
    else:  # running as root: permissions do not apply
        path.chmod(0o644)
        pytest.skip("file permissions are not enforced for this user")
    try:
        with pytest.raises(ScenarioError, match=r"secret.yaml:1:1: \(file\): cannot read"):
            load_scenario(path)
    finally:
        path.chmod(0o644)


# --------------------------------------------------------------- no code ever runs


@pytest.mark.parametrize(
    "tagged",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:os.system ['touch {marker}']",
        "!!python/object/apply:subprocess.call [[touch, '{marker}']]",
        "!!python/name:os.system",
        "!!python/module:os",
        "!ruby/object:Gem::Installer {{}}",
        "!include other.yaml",
    ],
)
def test_code_tags_are_refused_and_never_run(tagged, tmp_path):
    marker = tmp_path / "pwned"
    text = (BAD / "good.yaml").read_text().replace("name: shop", "name: shop\ndescription: x")
    text = text.replace("description: x", "description: " + tagged.format(marker=marker))
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.yaml")
    [problem] = info.value.problems
    assert (problem.line, problem.col, problem.path) == (2, 14, "description")
    assert problem.message.endswith("is not allowed; scenario files hold plain data only")
    assert not marker.exists()


UNSAFE_YAML = {
    "load",
    "load_all",
    "unsafe_load",
    "full_load",
    "Loader",
    "FullLoader",
    "UnsafeLoader",
}


def test_the_package_only_ever_uses_the_safe_yaml_loader():
    """No unsafe loader, eval or exec anywhere in the package (read the source, not trust)."""
    package = Path(__file__).parent.parent / "frictionsim"
    for source in package.rglob("*.py"):
        tree = ast.parse(source.read_text(), str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                assert node.id not in {"eval", "exec", "compile", "__import__"}, source
            on_yaml = isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "yaml"
            if on_yaml:
                assert node.attr not in UNSAFE_YAML, (
                    f"{source.relative_to(package)}:{node.lineno}: yaml.{node.attr}"
                )


def _bomb(levels: int) -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for k in range(1, levels):
        lines.append(f"{chr(97 + k)}: &{chr(97 + k)} [" + ", ".join([f"*{chr(96 + k)}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _merge_bomb(levels: int) -> str:
    lines = ["a: &a {x: 1, y: 2}"]
    for k in range(1, levels):
        lines.append(f"{chr(97 + k)}: &{chr(97 + k)} {{<<: [*{chr(96 + k)}, *{chr(96 + k)}]}}")
    return "\n".join(lines) + "\n"


def _nested_merge_bomb(levels: int) -> str:
    """Merges inside merges: PyYAML would copy 2**levels entries before visiting any."""
    expr = "&a0 {x: 1, y: 2}"
    for k in range(1, levels):
        expr = f"&a{k} {{<<: [{expr}, *a{k - 1}]}}"
    return f"top: {expr}\n"


@pytest.mark.parametrize(
    ("text", "nominal"),
    [(_bomb(10), 9**10), (_merge_bomb(26), 2**26), (_nested_merge_bomb(40), 2**40)],
    ids=["billion-laughs", "merge-keys", "nested-merge-keys"],
)
def test_alias_bombs_are_refused_quickly_with_bounded_memory(text, nominal):
    """Fully expanded these are 3.5e9 and 6.7e7 nodes (tens of GB); refused after MAX_NODES.

    Measured on the project's machines: about 0.4 s and 46 MB of Python
    allocations (billion laughs) and 0.2 s and 3 MB (merge keys). The bounds
    leave a wide margin for a slow shared runner but fail long before an
    expansion could finish.
    """
    assert nominal > 100 * MAX_NODES
    expected = [
        f"s.yaml:1:1: (yaml): the document expands to more than {MAX_NODES} nodes "
        "(aliases?); refused"
    ]
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.yaml")
    assert time.perf_counter() - start < 5.0
    assert [str(p) for p in info.value.problems] == expected

    tracemalloc.start()
    try:
        with pytest.raises(ScenarioError):
            parse_scenario(text, "s.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100e6


# ------------------------------------------------------------- what the loader accepts


def test_dates_are_text_and_exponents_are_numbers():
    text = (BAD / "good.yaml").read_text()
    text = text.replace("name: shop", "name: 2024-01-01\ndescription: 2024-01-01 12:00:00")
    text = text.replace("rate: 120/h", "rate: 1.2e2")
    scenario = parse_scenario(text)
    assert scenario.name == "2024-01-01"
    assert scenario.description == "2024-01-01 12:00:00"
    assert scenario.arrivals.rate == 120.0
    # quoted, an exponent stays text (and is refused where a number is due)
    with pytest.raises(ScenarioError, match="expected a number"):
        parse_scenario(
            text.replace("rate: 1.2e2", "rate: 120/h").replace("share: 1", "share: '1e0'")
        )


def test_an_alias_is_located_where_it_is_used():
    text = (BAD / "good.yaml").read_text().replace("exit: 0.2", "exit: &p 0.2")
    text = text.replace("fields: 6", "fields: *p")
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.yaml")
    assert [str(p) for p in info.value.problems] == [
        "s.yaml:15:5: steps.pay.fields: expected a whole number, got 0.2"
    ]


def test_merge_keys_follow_the_yaml_rule_own_keys_then_earlier_sources_win():
    """The loader expands ``<<`` itself, so the result does not depend on the PyYAML release."""
    text = (
        (BAD / "good.yaml")
        .read_text()
        .replace(
            "    tolerance: {dist: lognormal, mean: 12, sd: 6}",
            "    tolerance:\n"
            "      <<: [{dist: lognormal, mean: 1, sd: 1}, &t {dist: gamma, mean: 2, sd: 3}]\n"
            "      mean: 12\n"
            "    order_value: {<<: *t, mean: 85}\n"
            "    sensitivity: 1",
        )
        .replace("    order_value: 85\n", "")
    )
    segment = parse_scenario(text).segments[0]
    assert segment.tolerance.dist == "lognormal"  # the first source wins over the second
    assert (segment.tolerance.mean, segment.tolerance.sd) == (12, 1)  # own keys win
    assert (segment.order_value.dist, segment.order_value.mean) == ("gamma", 85)
    assert segment.order_value.sd == 3  # merged from the anchor
    with pytest.raises(ScenarioError, match=r"order_value\.mean: unknown key 'mean'"):
        parse_scenario(text.replace("mean: 85}", "dist: fixed, value: 85}"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("'010'", "expected a whole number"),  # quoted: text, as its writer asked
        ("0x10", None),  # unambiguous: 16
        ("1_0", None),  # digits grouped: 10
        ("-07", "is read as the octal number -7 by YAML 1.1; write -7"),
        ("089", "is read as an octal number by YAML 1.1; write 89"),
        ("1:00:00", "is read as the base-60 number 3600 by YAML 1.1"),
    ],
)
def test_yaml_1_1_integer_forms_are_read_or_refused_with_a_located_message(value, message):
    text = (BAD / "good.yaml").read_text().replace("fields: 6", f"fields: {value}")
    if message is None:
        assert parse_scenario(text).steps[1].fields in (16, 10)
        return
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.yaml")
    (problem,) = info.value.problems
    assert str(problem).startswith("s.yaml:15:13: steps.pay.fields: ")
    assert message in str(problem)
