"""User-facing errors: one line that names the file, the line and what is wrong."""

from __future__ import annotations

from pathlib import Path


class XdnerError(Exception):
    """An error caused by the user's input (data, recipe, paths); the CLI prints it on one line, no traceback."""


class DataError(XdnerError):
    """A problem in a data file, located by file and line number."""

    def __init__(self, path: str | Path, line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class RecipeError(XdnerError):
    """A problem in a recipe file: unknown key, wrong type or bad value."""
