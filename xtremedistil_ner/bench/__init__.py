"""Benchmarks: commands that print and write figures (never timed tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from xtremedistil_ner.atomic_files import write_json, write_text


def write_figures(out: Path, stem: str, results: dict[str, Any], markdown: Callable[[dict[str, Any]], str]) -> None:
    """Write a benchmark's figures as ``out/<stem>.json`` and its table as ``out/<STEM>.md`` (atomically)."""
    write_json(out / f"{stem}.json", results)
    write_text(out / f"{stem.upper()}.md", markdown(results))
