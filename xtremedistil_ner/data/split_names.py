"""Which file of a language folder holds which split, when the files keep the names they were published under.

``DIR/<lang>/train.iob2`` is the toolkit's own layout. Published datasets name their files otherwise, and a user
should not have to rename them: Universal NER ``en_ewt-ud-train.iob2`` / ``-dev`` / ``-test``, CoNLL-2002/2003
``ned.train`` / ``ned.testa`` (dev) / ``ned.testb`` (test), or ``de-train.tsv``. A file is taken for a split when
its name is ``<anything><-_.><split name>[.<ext>]`` with a split name of:

  * train: ``train``;
  * dev: ``dev``, ``validation``, ``valid``, ``testa`` (CoNLL's development set);
  * test: ``test``, ``testb`` (CoNLL's test set);

and an extension, if any, of ``.iob2 .bio .iob .conll .txt .tsv`` (other files, e.g. Universal NER's
``.stats``, are never data). Two candidates for one split are an error that names both (which one is meant is
not guessed).
"""

from __future__ import annotations

import re
from pathlib import Path

from xtremedistil_ner.errors import DataError

SPLIT_NAMES = {"train": ("train",), "dev": ("dev", "validation", "valid", "testa"), "test": ("test", "testb")}
PUBLISHED_EXTENSIONS = ("iob2", "bio", "iob", "conll", "txt", "tsv")


def _pattern(split: str) -> re.Pattern[str]:
    names = "|".join(SPLIT_NAMES[split])
    exts = "|".join(PUBLISHED_EXTENSIONS)
    return re.compile(rf"^.+[-_.](?:{names})(?:\.(?:{exts}))?$", re.IGNORECASE)


def published_split(base: Path, split: str) -> Path | None:
    """The one file of ``base`` (a language folder) named as a published ``split`` file, else ``None``.

    Raises:
        DataError: two or more files could be ``split``.
    """
    if split not in SPLIT_NAMES or not base.is_dir():
        return None
    pattern = _pattern(split)
    found = sorted(p for p in base.iterdir() if p.is_file() and not p.name.startswith(".") and pattern.match(p.name))
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        problem = f"{len(found)} files could be the {split} split ({names}): rename one {split}.<ext>"
        raise DataError(base, None, problem)
    return found[0] if found else None


def missing_hint(base: Path, split: str) -> str:
    """What ``base`` was expected to hold for ``split`` and what it holds: for a "no data" message."""
    want = f"{split}.<ext> or a published name such as en_ewt-ud-{split}.iob2 or eng.{split}"
    if not base.is_dir():
        return f"{base} is not a folder (expected {base}/{want})"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in base.iterdir() if not p.name.startswith("."))
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return f"no {split} split in {base} (expected {want}); it holds: {shown or 'nothing'}"
