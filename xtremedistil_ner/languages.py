"""The 41 XtremeDistil languages, read from ``languages.tsv``: the only source of language codes."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from xtremedistil_ner.errors import XdnerError

_HERE = Path(__file__).resolve().parent
_CANDIDATES = (_HERE / "languages.tsv", _HERE.parent / "languages.tsv")


@dataclass(frozen=True)
class Language:
    """One language row of ``languages.tsv``."""

    code: str
    name: str
    script: str
    family: str
    wikiann_train_k: int


def languages_path() -> Path:
    """Return the ``languages.tsv`` shipped with the package (wheel) or beside it (source checkout)."""
    for path in _CANDIDATES:
        if path.is_file():
            return path
    raise XdnerError(f"languages.tsv not found (looked in {', '.join(str(p) for p in _CANDIDATES)})")


@cache
def load_languages(path: Path | None = None) -> tuple[Language, ...]:
    """Read the language table.

    Args:
        path: a TSV with columns ``code name script family wikiann_train_k``; default: the packaged one.

    Returns:
        The languages in file order.
    """
    path = path or languages_path()
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return tuple(
        Language(r["code"], r["name"], r["script"], r["family"], int(r["wikiann_train_k"] or 0)) for r in rows
    )


def resolve_langs(spec: str | Sequence[str]) -> tuple[str, ...]:
    """Turn ``"all"``, ``"de,fr"`` or a list of codes into validated codes, in ``languages.tsv`` order for "all".

    Raises:
        XdnerError: a code is not one of the 41 languages.
    """
    known = [lang.code for lang in load_languages()]
    if isinstance(spec, str):
        if spec.strip() == "all":
            return tuple(known)
        spec = [s for s in spec.replace(" ", ",").split(",") if s]
    codes = tuple(dict.fromkeys(spec))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise XdnerError(f"unknown language code(s) {', '.join(unknown)}; known: {' '.join(known)} (or 'all')")
    if not codes:
        raise XdnerError("no languages selected")
    return codes
