"""Check DESIGN rule 1: the protocol core and control plane use no I/O, clock or global randomness."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FORBIDDEN = ("simpy", "asyncio", "socket", "ssl", "time", "random")
PURE_PACKAGES = ("sim/protocol", "sim/control")


def pure_modules() -> list[pathlib.Path]:
    return sorted(p for pkg in PURE_PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", pure_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_source_imports_nothing_forbidden(path: pathlib.Path) -> None:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in FORBIDDEN:
                found.append(node.module)
    assert found == []


# Runs in a fresh interpreter: every import statement executed by a sim.protocol or
# sim.control module is recorded, so a forbidden module loaded by our code (even
# lazily, via importlib, inside a function) is caught, while third-party libraries
# that load them for their own use are not blamed on us.
PROBE = r"""
import builtins, importlib, pkgutil, sys
FORBIDDEN = set(sys.argv[1].split(","))
seen = []
real_import = builtins.__import__
def spy(name, globals=None, locals=None, fromlist=(), level=0):
    importer = (globals or {}).get("__name__", "")
    if level == 0 and name.split(".")[0] in FORBIDDEN and importer.startswith(("sim.protocol", "sim.control")):
        seen.append(f"{importer} -> {name}")
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = spy
real_import_module = importlib.import_module
def spy_module(name, package=None):
    caller = sys._getframe(1).f_globals.get("__name__", "")
    if name.split(".")[0] in FORBIDDEN and caller.startswith(("sim.protocol", "sim.control")):
        seen.append(f"{caller} -> {name}")
    return real_import_module(name, package)
importlib.import_module = spy_module
import sim.protocol, sim.control
for pkg in (sim.protocol, sim.control):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        real_import_module(info.name)
print("\n".join(seen))
"""


def test_fresh_interpreter_loads_nothing_forbidden_from_our_code() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, ",".join(FORBIDDEN)], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_probe_detects_a_forbidden_import(tmp_path: pathlib.Path) -> None:
    """Show the probe can fail: a module that imports ``time`` is reported."""
    pkg = tmp_path / "sim" / "protocol"
    pkg.mkdir(parents=True)
    (tmp_path / "sim" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "clocky.py").write_text("import time\n")
    control = tmp_path / "sim" / "control"
    control.mkdir()
    (control / "__init__.py").write_text("")
    result = subprocess.run([sys.executable, "-c", PROBE, ",".join(FORBIDDEN)], cwd=tmp_path,
                            capture_output=True, text=True, check=True, env={"PYTHONPATH": str(tmp_path)})
    assert "sim.protocol.clocky -> time" in result.stdout
