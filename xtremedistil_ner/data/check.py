"""``xdner data check``: what a data folder holds per language and what is wrong with it, without training.

Per language and split: sentences, words, entities per type; the first line that would stop a run (a run stops
there too), and every entity opened by ``I-`` without a ``B-``, counted, with what a run does with them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from xtremedistil_ner.config import SPLITS, DataConfig
from xtremedistil_ner.data.readers import find_split, read_labeled
from xtremedistil_ner.data.tags import TagVocab, bio_spans, repair_bio
from xtremedistil_ner.errors import DataError


@dataclass
class SplitCheck:
    """One split of one language: its counts and problems (``path`` is None when the file is absent)."""

    path: Path | None
    sentences: int = 0
    words: int = 0
    entities: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)


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
            out += [f"missing split {name!r}" for name, s in self.splits.items() if s.path is None and name != "dev"]
        return out

    def repairs(self) -> list[str]:
        """What a run reading the language repairs as it reads (it does not stop for these)."""
        out = [r for s in self.splits.values() for r in s.repairs]
        if self.has_data and self.splits["dev"].path is None:
            share = DataConfig().dev_from_train
            out.append(f"no dev split: a run holds out the last {share:.0%} of train as dev (data.dev_from_train)")
        return out


def opened_by_inside(tags: tuple[str, ...] | list[str]) -> int:
    """How many entities of ``tags`` start with ``I-X``: the tags :func:`repair_bio` turns into ``B-X``."""
    return sum(a != b for a, b in zip(tags, repair_bio(tags), strict=True))


def check_split(
    path: Path, lang: str, fmt: str = "auto", encoding: str = "utf-8", invalid_bio: str = "repair"
) -> SplitCheck:
    """Counts and problems of one labeled file (never raises on bad data: problems are returned).

    ``invalid_bio`` is what a run would do with an entity opened by ``I-``: ``repair`` (a note in ``repairs``)
    or ``error`` (a problem: the run would stop at its line).
    """
    result = SplitCheck(path)
    try:
        sentences = read_labeled(path, lang, fmt, invalid_bio="keep", encoding=encoding)
    except DataError as exc:  # a line no run can read: the first one is reported, as a run would
        result.problems.append(str(exc))
        return result
    result.sentences = len(sentences)
    opened = [opened_by_inside(s.tags or ()) for s in sentences]
    for s in sentences:
        result.words += len(s.tokens)
        result.entities.update(kind for _, _, kind in bio_spans(s.tags or ()))
    if sum(opened):
        result_list = result.problems if invalid_bio == "error" else result.repairs
        result_list.append(
            _inside_note(path, lang, fmt, encoding, sum(opened), sum(n > 0 for n in opened), invalid_bio)
        )
    return result


def _inside_note(path: Path, lang: str, fmt: str, encoding: str, spans: int, sentences: int, invalid_bio: str) -> str:
    """One line for every entity opened by ``I-`` in a file: how many, the first one's line, what a run does."""
    try:
        read_labeled(path, lang, fmt, invalid_bio="error", encoding=encoding)
        first = ""
    except DataError as exc:  # the strict reader names the first violation's line
        where = f"{exc.path}:{exc.line}" if exc.line is not None else exc.path
        first = f", the first at {where} ({exc.problem.split(': ', 1)[-1].split(' (')[0]})"
    does = (
        "a run stops at the first (data.invalid_bio = 'error')"
        if invalid_bio == "error"
        else "a run reads each as B- (data.invalid_bio = 'repair', the default; 'error' stops instead)"
    )
    entities = "entity" if spans == 1 else "entities"
    return f"{path}: {spans:,} {entities} opened by I- without B- in {sentences:,} sentence(s){first}: {does}"


def check_language(
    data_dir: Path, lang: str, fmt: str = "auto", encoding: str = "utf-8", invalid_bio: str = "repair"
) -> LanguageCheck:
    """Check the train, dev and test splits of ``lang`` under ``data_dir``."""
    splits = {}
    for name in SPLITS:
        try:
            path = find_split(data_dir, lang, name)
        except DataError as exc:  # two files could be the split: a run would stop here too
            splits[name] = SplitCheck(None, problems=[str(exc)])
            continue
        splits[name] = check_split(path, lang, fmt, encoding, invalid_bio) if path is not None else SplitCheck(None)
    return LanguageCheck(lang, splits)
