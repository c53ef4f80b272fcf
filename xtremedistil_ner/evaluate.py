"""Word-level entity scores with seqeval, per language; data only, no printing.

Mode ``conlleval`` (the field's default for WikiANN) is seqeval's default lenient matching; ``strict`` is
seqeval's strict IOB2 mode. Every report states which one was used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from xtremedistil_ner.data.records import Sentence

MICRO = "micro avg"


@dataclass(frozen=True)
class Scores:
    """Precision, recall, F1 (fractions in [0, 1]) and support (number of gold entities)."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class LanguageScores:
    """Overall (micro over entities) and per-type scores of one language."""

    overall: Scores
    per_type: dict[str, Scores] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: overall fields at the top, ``per_type`` beside them."""
        out: dict[str, Any] = asdict(self.overall)
        out["per_type"] = {k: asdict(v) for k, v in self.per_type.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LanguageScores:
        """The inverse of :meth:`to_dict`."""
        fields = ("precision", "recall", "f1", "support")
        per_type = {k: Scores(**{f: v[f] for f in fields}) for k, v in data.get("per_type", {}).items()}
        return cls(Scores(**{f: data[f] for f in fields}), per_type)


def score(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], mode: str = "conlleval") -> LanguageScores:
    """Score predicted tag sequences against gold ones.

    Args:
        gold: one BIO tag list per sentence.
        pred: same shape as ``gold``.
        mode: ``conlleval`` or ``strict`` (IOB2).

    Raises:
        ValueError: the lists differ in length, sentence by sentence.
    """
    if len(gold) != len(pred) or any(len(g) != len(p) for g, p in zip(gold, pred, strict=False)):
        raise ValueError("gold and predicted sequences differ in length")
    if all(t == "O" for seq in (*gold, *pred) for t in seq):
        return LanguageScores(Scores(0.0, 0.0, 0.0, 0))
    kwargs: dict[str, Any] = {"mode": "strict", "scheme": IOB2} if mode == "strict" else {}
    report = classification_report(
        [list(g) for g in gold], [list(p) for p in pred], output_dict=True, zero_division=0, **kwargs
    )
    types = {k: v for k, v in report.items() if not k.endswith(" avg")}

    def make(row: dict[str, float]) -> Scores:
        return Scores(float(row["precision"]), float(row["recall"]), float(row["f1-score"]), int(row["support"]))

    overall = make(report[MICRO]) if MICRO in report else Scores(0.0, 0.0, 0.0, 0)
    return LanguageScores(overall, {k: make(v) for k, v in sorted(types.items())})


def score_by_language(
    sentences: Sequence[Sentence], predicted: Sequence[Sequence[str]], mode: str = "conlleval"
) -> dict[str, LanguageScores]:
    """Per-language scores of predicted tags against the sentences' gold tags (languages in first-seen order)."""
    groups: dict[str, tuple[list, list]] = {}
    for s, p in zip(sentences, predicted, strict=True):
        gold, pred = groups.setdefault(s.lang, ([], []))
        gold.append(list(s.tags or ()))
        pred.append(list(p))
    return {lang: score(g, p, mode) for lang, (g, p) in groups.items()}


def macro_f1(scores: dict[str, LanguageScores]) -> float:
    """Unweighted mean of the languages' overall F1 (0 when there is none)."""
    return macro_scores(scores).f1


def macro_scores(scores: dict[str, LanguageScores]) -> Scores:
    """Unweighted means of the languages' overall precision, recall and F1; support summed (zeros if none)."""
    n = len(scores)
    if not n:
        return Scores(0.0, 0.0, 0.0, 0)
    overall = [s.overall for s in scores.values()]
    return Scores(
        sum(o.precision for o in overall) / n,
        sum(o.recall for o in overall) / n,
        sum(o.f1 for o in overall) / n,
        sum(o.support for o in overall),
    )
