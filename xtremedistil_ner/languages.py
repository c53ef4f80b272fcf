"""The 41 XtremeDistil languages, read from ``languages.tsv``: what ``"all"`` means and the names of codes.

Any other well-formed language code (``zh``, ``sr``, ``pt-BR``, ``yue``) is accepted too: a user's own folder may
hold any language the teacher knows. It has no name here; reports show its code.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from xtremedistil_ner.errors import XdnerError

_HERE = Path(__file__).resolve().parent
_CANDIDATES = (_HERE / "languages.tsv", _HERE.parent / "languages.tsv")
# ISO 639-1/-3 with optional BCP 47 subtags (script, region): the codes a data folder's language directories carry
_CODE = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


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
    """Turn ``"all"``, ``"de,fr"`` or a list of codes into codes, in ``languages.tsv`` order for "all".

    ``"all"`` is the 41 languages of ``languages.tsv``; other codes may be any well-formed language code
    (lower-case ISO 639 letters, optional ``-`` subtags), so a folder in a language outside the 41 can be used.

    Raises:
        XdnerError: a code is not well formed, or nothing was selected.
    """
    known = [lang.code for lang in load_languages()]
    if isinstance(spec, str):
        if spec.strip() == "all":
            return tuple(known)
        spec = [s for s in spec.replace(" ", ",").split(",") if s]
    codes = tuple(dict.fromkeys(spec))
    bad = [c for c in codes if c not in known and not _CODE.fullmatch(c)]
    if bad:
        raise XdnerError(
            f"not a language code: {', '.join(map(repr, bad))}; expected codes such as 'de', 'zh' or 'pt-BR' "
            f"(the folder names under the data folder), or 'all' for the 41 of languages.tsv"
        )
    if not codes:
        raise XdnerError("no languages selected: pass --langs CODE (e.g. --langs de), or set data.langs")
    return codes


def language_name(code: str) -> str:
    """The name of ``code`` in ``languages.tsv``, else the code itself (a language outside the 41)."""
    return next((lang.name for lang in load_languages() if lang.code == code), code)
