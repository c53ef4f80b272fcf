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


def test_scores_round_trip_through_dicts_and_group_by_language():
    from xtremedistil_ner.data.records import Sentence
    from xtremedistil_ner.evaluate import LanguageScores, macro_f1, score_by_language

    sentences = [
        Sentence(("A", "B"), ("B-PER", "O"), "de"),
        Sentence(("C",), ("B-LOC",), "hi"),
        Sentence(("D", "E"), ("B-ORG", "I-ORG"), "de"),
    ]
    predicted = [["B-PER", "O"], ["O"], ["B-ORG", "O"]]
    scores = score_by_language(sentences, predicted)
    assert list(scores) == ["de", "hi"]
    assert scores["de"] == score([["B-PER", "O"], ["B-ORG", "I-ORG"]], [["B-PER", "O"], ["B-ORG", "O"]])
    assert scores["hi"].overall.f1 == 0.0
    assert macro_f1(scores) == pytest.approx(scores["de"].overall.f1 / 2)
    for value in scores.values():
        assert LanguageScores.from_dict(value.to_dict()) == value


def test_teacher_agreement_breaks_ties_of_dev_f1_and_needs_teacher_tags():
    import numpy as np

    from xtremedistil_ner.distill import DevSet, WordTargets, teacher_agreement

    dev = DevSet(features=None, gold=[["O", "O"], ["O"]], langs=["de", "de"], teacher=WordTargets(np.array([0, 1, 0])))
    assert teacher_agreement([[0, 1], [0]], dev) == 1.0
    assert teacher_agreement([[0, 0], [1]], dev) == pytest.approx(1 / 3)
    assert teacher_agreement([[0, 1], [0]], DevSet(None, dev.gold, dev.langs, None)) == -1.0  # gold-only: no teacher


def test_bench_spacy_without_a_working_spacy_python_is_a_clear_error(tmp_path, tiny_data):
    from typer.testing import CliRunner

    from xtremedistil_ner.cli import app

    args = ["bench", "spacy", "--spacy-python", str(tmp_path / "nope" / "python"), "--data", str(tiny_data)]
    result = CliRunner().invoke(app, [*args, "--langs", "de", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "cannot run it" in result.output and "Traceback" not in result.output
    assert (tmp_path / "out" / "de" / "train.jsonl").is_file()  # what spaCy would train on, written first
