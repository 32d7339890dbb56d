"""Collect what is wrong with a scenario as one line per problem, each naming the field path.

A scenario is checked whole before anything runs, so its author sees every
mistake at once instead of fixing them one traceback at a time. A path is
the chain of keys and list indexes from the document's top
(``nodes[0].count``); a problem is that path and one sentence; ``line``
joins them with the file name (``mitm.yaml: nodes[0].count: must be a
positive integer (got -3)``). Unknown keys get a did-you-mean from
``difflib``, the same closeness rule ``git`` and ``kubectl`` users know.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Final, Iterable

__all__ = ["INVALID", "Path", "Problem", "ScenarioError", "did_you_mean", "format_path", "got"]

Path = tuple["str | int", ...]
"""Keys (``str``) and list indexes (``int``) from the top of the document."""


class _Invalid:
    """Stand for a value that failed validation (its problems are already recorded)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Final = _Invalid()


def format_path(path: Path) -> str:
    """Return ``nodes[0].join.token`` for ``("nodes", 0, "join", "token")``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """Say what is wrong at one place of a scenario."""

    path: Path
    message: str

    def line(self, source: str) -> str:
        """Return the one-line report: ``<source>: <path>: <message>`` (no path for the whole document)."""
        where = format_path(self.path)
        return f"{source}: {where}: {self.message}" if where else f"{source}: {self.message}"


class ScenarioError(Exception):
    """Carry every problem of one scenario source (a file, or ``--set``), to be printed one per line."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """Return one line per problem, naming the source and the field path."""
        return [problem.line(self.source) for problem in self.problems]


def got(value: object) -> str:
    """Return ``(got -3)``: what the author wrote, as YAML-ish text, for the end of a message."""
    if isinstance(value, bool):
        shown = "true" if value else "false"
    elif value is None:
        shown = "null"
    elif isinstance(value, str):
        shown = repr(value)
    elif isinstance(value, (dict, list)):
        shown = "a mapping" if isinstance(value, dict) else "a list"
    else:
        shown = str(value)
    return f"(got {shown})"


def did_you_mean(key: str, known: Iterable[str]) -> str:
    """Return the message for an unknown key, with the closest known key if one is close enough."""
    options = sorted(known)
    close = difflib.get_close_matches(key, options, n=1)
    if close:
        return f"unknown field (did you mean {close[0]!r}?)"
    return "unknown field (known: " + ", ".join(options) + ")"
