"""The recipe reference (``docs/RECIPES.md``), generated from the config dataclasses and their docstrings.

Every key of every section with its type, default and meaning; ``tests/test_config.py`` checks that the
committed file matches, so the reference cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from fnmatch import fnmatch
from typing import Any

from xtremedistil_ner.config import (
    DataConfig,
    DistillConfig,
    EvalConfig,
    RunConfig,
    StageConfig,
    StudentConfig,
    TeacherConfig,
)

SECTIONS: tuple[tuple[str, type], ...] = (
    ("[run]", RunConfig),
    ("[data]", DataConfig),
    ("[teacher]", TeacherConfig),
    ("[student]", StudentConfig),
    ("[distill]", DistillConfig),
    ("[[distill.stages]]", StageConfig),
    ("[eval]", EvalConfig),
)
NESTED = {"data", "teacher", "student", "distill", "eval", "stages"}


def _meanings(cls: type) -> dict[str, str]:
    """``name: text`` entries of the docstring's ``Attributes:`` section (``a, b: text`` gives both)."""
    doc = cls.__doc__ or ""
    if "Attributes:" not in doc:
        return {}
    out: dict[str, str] = {}
    current: list[str] = []
    for line in doc.split("Attributes:", 1)[1].splitlines():
        # a key starts right at the section's indent; continuation lines are indented further
        match = re.match(r"^ {8}([a-z_*][a-z_*, ]*):\s*(.*)$", line)
        if match:
            current = [n.strip() for n in match.group(1).split(",")]
            for name in current:
                out[name] = match.group(2).strip()
        elif line.strip() and current:
            for name in current:
                out[name] += " " + line.strip()
    return out


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is typing.Literal:
        return " / ".join(f"`{a}`" for a in typing.get_args(hint))
    return getattr(hint, "__name__", str(hint))


def _default(f: dataclasses.Field) -> str:
    if f.default is dataclasses.MISSING:
        return "(required)"
    value = f.default
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f'`"{value}"`' if isinstance(value, str) else f"`{value}`"


def recipe_reference() -> str:
    """The Markdown reference of every recipe key."""
    lines = [
        "# Recipe reference",
        "",
        "A recipe is a TOML file; every section and key is optional (defaults below). Unknown keys and wrong",
        "types are errors naming the file. `xdner recipe show FILE` prints a recipe with every default filled in;",
        "`--set SECTION.KEY=VALUE` overrides one key from the command line. Generated from",
        "`xtremedistil_ner/config.py` by `python -m xtremedistil_ner.recipe_doc` (a test keeps it in sync).",
        "",
        'Default `[[distill.stages]]`: `hidden` (1 epoch), `soft` (1 epoch, `unfreeze = "gradual"`), `hard`',
        '(1 epoch, `unfreeze = "gradual"`).',
    ]
    for title, cls in SECTIONS:
        hints = typing.get_type_hints(cls)
        meanings = _meanings(cls)
        wildcard = {k: v for k, v in meanings.items() if "*" in k}
        lines += ["", f"## `{title}`", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            if (f.name in NESTED and f.name != "stages") or (cls is DistillConfig and f.name == "stages"):
                continue
            meaning = meanings.get(f.name) or next((v for k, v in wildcard.items() if fnmatch(f.name, k)), "")
            meaning = meaning.replace("``", "`").replace("|", "\\|")
            lines.append(f"| `{f.name}` | {_type_name(hints[f.name])} | {_default(f)} | {meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(recipe_reference(), end="")
