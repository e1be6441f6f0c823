"""Shared helpers: scenarios built in code, so each test shows every number it relies on."""

from __future__ import annotations

import base64
import contextlib
import copy
import re
import struct
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pytest
import yaml

from frictionsim.scenario import Scenario, parse_scenario
from frictionsim.sim.result import RunResult
from frictionsim.sim.simpy_engine import simulate

BASE: dict[str, Any] = {
    "name": "micro",
    "seed": 7,
    "replications": 3,
    "horizon": 60,
    "arrivals": {"rate": 1},
    "segments": [
        {"name": "all", "share": 1, "tolerance": 10, "order_value": 50},
    ],
    "steps": [{"name": "only"}],
    "friction": {"per_field": 1},
}


def scenario_dict(**changes: Any) -> dict[str, Any]:
    """A copy of the base scenario mapping with top-level keys replaced."""
    data = copy.deepcopy(BASE)
    data.update(copy.deepcopy(changes))
    return data


def one_segment(tolerance: Any, order_value: Any = 50) -> list[dict[str, Any]]:
    """``segments`` of a scenario with one segment of every customer."""
    return [{"name": "all", "share": 1, "tolerance": tolerance, "order_value": order_value}]


def make_scenario(**changes: Any) -> Scenario:
    return parse_scenario(yaml.safe_dump(scenario_dict(**changes), sort_keys=False), "test.yaml")


def run_once(scenario: Scenario, seed: int = 1, **kwargs: Any) -> RunResult:
    return simulate(scenario, np.random.SeedSequence(seed), **kwargs)


@pytest.fixture(autouse=True)
def _debug(monkeypatch):
    """Genuine bugs show their traceback in tests: the command's last safety net (one
    line for any unexpected error) is off unless a test turns it on."""
    monkeypatch.setenv("FRICTIONSIM_DEBUG", "1")


@pytest.fixture(autouse=True)
def _no_worker_left_behind():
    """Every test ends with its worker processes: a pool left open is a leak of the code
    under test (and would keep pytest from exiting). Blamed on the test that left it, and
    ended, so that the next tests do not inherit it."""
    import multiprocessing
    import time

    def pool_workers() -> list:  # (not daemons, such as a module's Dask cluster)
        return [p for p in multiprocessing.active_children() if not p.daemon]

    yield
    deadline = time.monotonic() + 10  # a pool shut down without waiting ends soon after
    while (left := pool_workers()) and time.monotonic() < deadline:
        time.sleep(0.05)
    for process in left:
        process.kill()
        process.join(5)
    assert not left, f"worker processes left running: {left}"


@pytest.fixture
def tmp_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of PNG bytes (checks the signature and header first)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _mount(*args: str) -> bool:
    import subprocess

    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(path) -> None:
    import subprocess

    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def read_only(path):
    """``path`` (a folder) read-only for this process: a read-only bind mount as root
    (permissions do not stop root), else ``chmod``; skips where neither works."""
    import os

    path = str(path)
    if os.geteuid() == 0:
        if not (_mount("--bind", path, path) and _mount("-o", "remount,ro,bind", path)):
            _umount(path)
            pytest.skip("cannot make a read-only bind mount here")
        try:
            yield
        finally:
            _umount(path)
        return
    mode = os.stat(path).st_mode
    os.chmod(path, 0o555)
    try:
        if os.access(path, os.W_OK):
            pytest.skip("file permissions are not enforced for this user")
        yield
    finally:
        os.chmod(path, mode)


@contextlib.contextmanager
def small_disk(path, size: str = "2m"):
    """A tmpfs of ``size`` mounted on ``path`` (root only; skips otherwise)."""
    import os

    os.makedirs(path, exist_ok=True)
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield path
    finally:
        _umount(path)


class _PageParser(HTMLParser):
    """The images and the references of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []
        self.references: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        found = dict(attrs)
        if tag == "img":
            self.images.append(found)
        for name in ("src", "href", "srcset", "poster", "data", "action", "background"):
            if found.get(name) is not None:
                self.references.append((tag, name, found[name]))


def parse_page(page: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(page)
    parser.close()
    return parser


def page_images(page: str) -> list[tuple[str, bytes, tuple[int, int]]]:
    """(alt, PNG bytes, width and height attributes) of every ``<img>`` of a self-contained
    page: each ``src`` must be a base64 PNG ``data:`` URI (asserted), decoded here."""
    found = []
    for img in parse_page(page).images:
        src = img.get("src") or ""
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix), src[:80]
        data = base64.b64decode(src[len(prefix) :], validate=True)
        assert png_size(data) == (int(img["width"]), int(img["height"])), img.get("alt")
        found.append((img.get("alt") or "", data, png_size(data)))
    return found


def external_references(page: str) -> list[str]:
    """Every ``src``/``href`` (and the like) of a page that is not inside it: not a
    ``data:`` URI or a ``#fragment``; and anything a page could fetch by itself (a
    script, a style sheet link, CSS ``url(...)`` or ``@import`` that is not data)."""
    parser = parse_page(page)
    outside = [
        f"{tag} {name}={value[:60]}"
        for tag, name, value in parser.references
        if not value.startswith(("data:", "#"))
    ]
    outside += [f"<{tag}>" for tag in parser.tags if tag in ("script", "link", "iframe", "object")]
    for m in re.finditer(r"url\(\s*['\"]?([^)'\"]*)|@import", page):
        if m[0] == "@import" or not m[1].startswith("data:"):
            outside.append(m[0][:60])
    return outside
