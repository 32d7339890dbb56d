"""Execute every teaching notebook top to bottom, and keep the stored notebooks clean.

Each notebook in notebooks/ runs in a fresh kernel of this interpreter (the
project's .venv): a temporary kernelspec named ``python3`` that points at
``sys.executable`` comes first on ``JUPYTER_PATH``, so a ``python3`` kernel
installed elsewhere on the machine cannot stand in. Any cell error fails the
test, and so does a notebook that needs more than ``TIME_LIMIT`` seconds.
Stored notebooks carry no outputs and no execution counts, and each ends
with "Try it" exercises whose answers sit in collapsed cells.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TIME_LIMIT = 60.0
"""Seconds one notebook may take from kernel start to its last cell."""


def notebook_id(path: pathlib.Path) -> str:
    return f"valid: {path.stem}"


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Write a ``python3`` kernelspec that runs this interpreter; return the directory to put on JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (joinsim .venv)", "language": "python",
    }))
    return root


def test_the_notebooks_are_there() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {"01-anatomy-of-a-join.ipynb", "02-tokens-and-expiry.ipynb", "03-mitm-and-ca-pinning.ipynb",
            "04-firewalls-and-timeouts.ipynb", "05-csr-throughput-at-scale.ipynb", "06-control-plane-join.ipynb",
            "07-hardening.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_runs_top_to_bottom_in_time(path: pathlib.Path, kernels: pathlib.Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_PATH", str(kernels))
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    client = NotebookClient(nb, timeout=TIME_LIMIT, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError at the first failing cell
    elapsed = time.perf_counter() - start
    assert elapsed < TIME_LIMIT, f"{path.name} took {elapsed:.1f} s"
    assert nb.cells[-1].outputs[0]["text"].strip() == sys.executable


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_stored_notebook_has_no_outputs(path: pathlib.Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "a notebook without code teaches nothing here"
    assert [i for i, cell in enumerate(code) if cell.outputs or cell.execution_count is not None] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook_ends_with_exercises_and_hidden_answers(path: pathlib.Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    headings = [i for i, cell in enumerate(cells)
                if cell.cell_type == "markdown" and cell.source.lstrip("# ").startswith("Try it")]
    assert headings, "no 'Try it' section"
    answers = [i for i in range(headings[-1], len(cells))
               if cells[i].cell_type == "markdown" and cells[i].source.lstrip("# ").startswith("Show answer")]
    assert answers, "no 'Show answer' heading after 'Try it'"
    for i in answers:
        assert i + 1 < len(cells) and cells[i + 1].metadata.get("jupyter", {}).get("source_hidden") is True, (
            f"cell {i + 1} after a 'Show answer' heading is not collapsed")
