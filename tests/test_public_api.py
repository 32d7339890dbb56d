"""Check each package's ``__all__`` is exactly the API the README documents."""

from __future__ import annotations

import importlib
import pathlib
import re

import pytest

README = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()


def documented(package: str) -> set[str]:
    section = README.split("## Public API", 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"- `{re.escape(package)}`:(.*?)(?=\n- `|\Z)", section, re.S)
    assert match, f"README documents no API for {package}"
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", match.group(1)))


@pytest.mark.parametrize("package", ["sim.protocol", "sim.control", "sim.engine", "sim.scenario", "sim.sweep"])
def test_all_matches_readme(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == documented(package)
    for name in module.__all__:
        assert getattr(module, name) is not None
