import random

import pytest
from seqeval.metrics import classification_report, f1_score

from xtremedistil_ner.evaluate import score

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]


@pytest.mark.parametrize("seed", range(5))
def test_equals_a_direct_seqeval_call_on_random_sequences(seed):
    rng = random.Random(seed)
    gold = [[rng.choice(TAGS) for _ in range(rng.randint(1, 9))] for _ in range(40)]
    pred = [[rng.choice(TAGS) if rng.random() < 0.4 else t for t in g] for g in gold]
    got = score(gold, pred)
    ref = classification_report(gold, pred, output_dict=True, zero_division=0)
    assert got.overall.f1 == pytest.approx(f1_score(gold, pred))
    assert got.overall.support == ref["micro avg"]["support"]
    for entity in ("PER", "LOC", "ORG"):
        assert got.per_type[entity].f1 == pytest.approx(ref[entity]["f1-score"])


@pytest.mark.parametrize(
    ("gold", "pred", "f1"),
    [
        ([["O"]], [["O"]], 0.0),
        ([["B-PER"]], [["B-PER"]], 1.0),
        ([["B-PER", "I-PER"]], [["B-PER", "I-LOC"]], 0.0),
        ([["O", "I-PER"]], [["O", "B-PER"]], 1.0),  # conlleval mode: I- after O starts an entity
    ],
)
def test_edge_cases(gold, pred, f1):
    assert score(gold, pred).overall.f1 == pytest.approx(f1)


def test_strict_mode_differs_on_invalid_iob():
    assert score([["O", "B-PER"]], [["O", "I-PER"]], mode="strict").overall.f1 == 0.0


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        score([["O", "O"]], [["O"]])
