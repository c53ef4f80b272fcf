"""Every example in a command's --help parses: the command exists, its options are known, its recipe is bundled."""

import re
import shlex

import typer

from xtremedistil_ner.cli import app
from xtremedistil_ner.recipe_files import resolve_recipe


def _commands(group, path: tuple[str, ...] = ()):
    yield path, group
    if hasattr(group, "commands"):  # a group (typer may carry its own click)
        for name, sub in group.commands.items():
            yield from _commands(sub, (*path, name))


def _examples() -> list[list[str]]:
    root = typer.main.get_command(app)
    found = []
    for _, command in _commands(root):
        for line in (command.help or "").splitlines():
            for part in line.split("&&"):
                match = re.search(r"(?:^|\|\s*)xdner (.+)$", part.strip())
                if match:
                    found.append(shlex.split(match.group(1).split("  #")[0].split(" # ")[0]))
    return found


def test_every_help_example_parses():
    root = typer.main.get_command(app)
    examples = _examples()
    assert len(examples) > 20
    for args in examples:
        command, rest = root, list(args)
        while hasattr(command, "commands"):
            name = rest.pop(0)
            assert name in command.commands, f"xdner {' '.join(args)}: no command {name!r}"
            command = command.commands[name]
        command.make_context("xdner", rest)  # raises on an unknown option or a bad value
        if "--recipe" in rest:
            resolve_recipe(rest[rest.index("--recipe") + 1])  # the recipe it names is bundled or a file here
