"""The recipes that ship with the package: find one by name or path, list them with their first comment line.

In a wheel they sit in ``xtremedistil_ner/recipes/``; in a source checkout in ``recipes/`` beside the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xtremedistil_ner.errors import RecipeError

_HERE = Path(__file__).resolve().parent
_CANDIDATES = (_HERE / "recipes", _HERE.parent / "recipes")
DEFAULT = "cpu"


def recipe_dir() -> Path:
    """The folder of bundled recipes (the wheel's, else the source checkout's).

    Raises:
        RecipeError: neither exists (a broken install).
    """
    for candidate in _CANDIDATES:
        if (candidate / f"{DEFAULT}.toml").is_file():
            return candidate
    raise RecipeError(f"bundled recipes not found (looked in {', '.join(str(p) for p in _CANDIDATES)})")


@dataclass(frozen=True)
class RecipeInfo:
    """A bundled recipe: its name (file stem), path and the first line of its header comment."""

    name: str
    path: Path
    summary: str


def _summary(path: Path) -> str:
    """The first sentence of the header comment (the ``#`` lines before the first key)."""
    words: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        words += line.lstrip("#").split()
    text = " ".join(words)
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def list_recipes() -> list[RecipeInfo]:
    """Every bundled recipe, by name."""
    return [RecipeInfo(p.stem, p, _summary(p)) for p in sorted(recipe_dir().glob("*.toml"))]


def resolve_recipe(recipe: str | Path | None) -> Path:
    """Find a recipe file.

    ``recipe`` itself when it is a file; else the bundled recipe of that name (``cpu``, ``cpu.toml`` or
    ``recipes/cpu.toml``, so the paths the docs show work from any directory); ``None`` is the default recipe.

    Raises:
        RecipeError: neither a file nor a bundled name; the message lists the names.
    """
    if recipe is None:
        return recipe_dir() / f"{DEFAULT}.toml"
    path = Path(recipe)
    if path.is_file():
        return path
    name = path.name.removesuffix(".toml")
    bundled = recipe_dir() / f"{name}.toml"
    if len(path.parts) <= 2 and bundled.is_file() and path.parent.name in ("", "recipes"):
        return bundled
    names = ", ".join(info.name for info in list_recipes())
    raise RecipeError(f"{recipe}: recipe file not found, and no bundled recipe of that name ({names})")
