"""BIO tag vocabulary: tags <-> ids, validation and repair of IOB2 sequences."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from xtremedistil_ner.errors import XdnerError

DEFAULT_TYPES = ("PER", "ORG", "LOC")
TAG_PATTERN = re.compile(r"^(O|[BI]-\w+)$")


def bio_problem(tags: Sequence[str]) -> str | None:
    """Return a description of the first IOB2 violation (``I-X`` not after ``B-X``/``I-X``), or ``None``."""
    prev = "O"
    for i, tag in enumerate(tags):
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            return f"{tag} after {prev} at word {i + 1}"
        if not TAG_PATTERN.match(tag):
            return f"tag {tag!r} is not O, B-X or I-X"
        prev = tag
    return None


def bio_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Entities of an IOB2 sequence as ``(first_word, last_word_exclusive, type)``; a stray ``I-X`` opens one."""
    spans: list[tuple[int, int, str]] = []
    start, kind = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        inside = tag.startswith("I-") and tag[2:] == kind and start >= 0
        if not inside and start >= 0:
            spans.append((start, i, kind))
            start, kind = -1, ""
        if tag != "O" and not inside:
            start, kind = i, tag[2:]
    return spans


def repair_bio(tags: Sequence[str]) -> tuple[str, ...]:
    """Turn each ``I-X`` that does not continue an ``X`` entity into ``B-X`` (conlleval's reading)."""
    out: list[str] = []
    prev = "O"
    for tag in tags:
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            tag = "B-" + tag[2:]
        out.append(tag)
        prev = tag
    return tuple(out)


@dataclass(frozen=True)
class TagVocab:
    """An ordered BIO tag set; ``O`` is always id 0."""

    tags: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.tags or self.tags[0] != "O":
            raise XdnerError(f"tag set must start with 'O', got {self.tags}")
        if len(set(self.tags)) != len(self.tags):
            raise XdnerError(f"duplicate tags in {self.tags}")

    @classmethod
    def from_types(cls, types: Iterable[str]) -> TagVocab:
        """``O`` then ``B-X, I-X`` for each entity type in the given order."""
        return cls(("O", *[f"{p}-{t}" for t in types for p in ("B", "I")]))

    @classmethod
    def from_tags(cls, tags: Iterable[str]) -> TagVocab:
        """Collect entity types from observed tags (default PER/ORG/LOC order first, then sorted)."""
        types = {t[2:] for t in tags if t != "O"}
        ordered = [t for t in DEFAULT_TYPES if t in types] + sorted(types - set(DEFAULT_TYPES))
        return cls.from_types(ordered)

    def __len__(self) -> int:
        return len(self.tags)

    @property
    def index(self) -> dict[str, int]:
        """Tag -> id."""
        return {t: i for i, t in enumerate(self.tags)}

    @property
    def types(self) -> tuple[str, ...]:
        """Entity types in tag order."""
        return tuple(dict.fromkeys(t[2:] for t in self.tags if t != "O"))

    def encode(self, tags: Sequence[str]) -> list[int]:
        """Tags -> ids.

        Raises:
            XdnerError: a tag is not in the set.
        """
        index = self.index
        try:
            return [index[t] for t in tags]
        except KeyError as exc:
            raise XdnerError(f"tag {exc.args[0]!r} is not in the tag set {' '.join(self.tags)}") from None

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids -> tags."""
        return [self.tags[i] for i in ids]

    def forbidden_transitions(self) -> list[tuple[int, int]]:
        """(from, to) pairs forbidden by IOB2: ``I-X`` may only follow ``B-X`` or ``I-X``."""
        bad = []
        for j, to in enumerate(self.tags):
            if not to.startswith("I-"):
                continue
            for i, frm in enumerate(self.tags):
                if frm[2:] != to[2:] or frm == "O":
                    bad.append((i, j))
        return bad

    def forbidden_starts(self) -> list[int]:
        """Ids that may not start a sentence (every ``I-X``)."""
        return [i for i, t in enumerate(self.tags) if t.startswith("I-")]

    def save(self, path: Path) -> None:
        """Write ``{"tags": [...]}`` as JSON."""
        path.write_text(json.dumps({"tags": list(self.tags)}, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TagVocab:
        """Read what :meth:`save` wrote."""
        return cls(tuple(json.loads(path.read_text(encoding="utf-8"))["tags"]))
