"""``xdner data check``: what a data folder holds per language and what is wrong with it, without training.

Per language and split: sentences, words, entities per type, and the first problem found (a line that would
stop a run, or an ``I-X`` after ``O`` that a run would repair).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from xtremedistil_ner.config import SPLITS
from xtremedistil_ner.data.readers import find_split, read_labeled
from xtremedistil_ner.data.tags import TagVocab, bio_spans
from xtremedistil_ner.errors import DataError


@dataclass
class SplitCheck:
    """One split of one language: its counts and problems (``path`` is None when the file is absent)."""

    path: Path | None
    sentences: int = 0
    words: int = 0
    entities: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


@dataclass
class LanguageCheck:
    """Every split of a language."""

    lang: str
    splits: dict[str, SplitCheck]

    @property
    def has_data(self) -> bool:
        """Whether the language has a train split."""
        return self.splits["train"].path is not None

    @property
    def types(self) -> tuple[str, ...]:
        """Entity types found in any split, in tag-set order (PER, ORG, LOC first, then sorted)."""
        found = {kind for s in self.splits.values() for kind in s.entities}
        return TagVocab.from_tags(f"B-{kind}" for kind in found).types

    def problems(self) -> list[str]:
        """All problems of the language, a missing dev/test split included."""
        out = [p for s in self.splits.values() for p in s.problems]
        if self.has_data:
            out += [f"missing split {name!r}" for name, s in self.splits.items() if s.path is None]
        return out


def check_split(path: Path, lang: str, fmt: str = "auto", encoding: str = "utf-8") -> SplitCheck:
    """Counts and problems of one labeled file (never raises on bad data: problems are returned)."""
    result = SplitCheck(path)
    try:  # strict first: a file without problems is read once
        sentences = read_labeled(path, lang, fmt, invalid_bio="error", encoding=encoding)
    except DataError as exc:
        result.problems.append(str(exc))
        try:  # what a run would read: invalid IOB2 repaired
            sentences = read_labeled(path, lang, fmt, invalid_bio="repair", encoding=encoding)
        except DataError as again:
            if str(again) not in result.problems:
                result.problems.append(str(again))
            return result
    result.sentences = len(sentences)
    for s in sentences:
        result.words += len(s.tokens)
        result.entities.update(kind for _, _, kind in bio_spans(s.tags or ()))
    return result


def check_language(data_dir: Path, lang: str, fmt: str = "auto", encoding: str = "utf-8") -> LanguageCheck:
    """Check the train, dev and test splits of ``lang`` under ``data_dir``."""
    splits = {}
    for name in SPLITS:
        path = find_split(data_dir, lang, name)
        splits[name] = check_split(path, lang, fmt, encoding) if path is not None else SplitCheck(None)
    return LanguageCheck(lang, splits)
