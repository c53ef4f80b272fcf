"""``student.init``: a student started from a trained one (rows by piece, tags by name, BiLSTM layers)."""

import os
import shutil

import numpy as np
import pytest
import torch

from xtremedistil_ner.checkpoint import LoadedStudent, load_student
from xtremedistil_ner.config import StudentConfig, load_recipe
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.pipeline import run_distill
from xtremedistil_ner.progress import Progress
from xtremedistil_ner.student.model import StudentTagger
from xtremedistil_ner.student.vocab import StudentVocab
from xtremedistil_ner.student.warm_start import warm_start

from .conftest import ROOT, XLMR

H = 12  # teacher width of the synthetic vectors


def _trained(pieces, tags, shape_dim=0, seed=0):
    torch.manual_seed(seed)
    config = StudentConfig(embedding_dim=4, hidden_size=6, num_layers=2, shape_dim=shape_dim)
    vocab = StudentVocab(tuple(pieces))
    tag_vocab = TagVocab.from_tags(tags)
    model = StudentTagger(config, len(vocab), len(tag_vocab), tag_vocab)
    for p in model.parameters():
        torch.nn.init.normal_(p)
    return LoadedStudent(model, tag_vocab, vocab, None, np.zeros(0, np.int64))


def test_rows_layers_and_tags_carry_over_and_new_rows_are_mapped_into_the_trained_space():
    generator = torch.Generator().manual_seed(1)
    old_pieces = ["<unk>", *(f"p{i}" for i in range(40))]
    init = _trained(old_pieces, ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
    # the trained rows are an exact affine image of teacher vectors: the map must recover it for new pieces
    a, b = torch.randn(H, 4, generator=generator), torch.randn(4, generator=generator)
    teacher = {p: torch.randn(H, generator=generator) for p in [*old_pieces, "q0", "q1", "q2"]}
    with torch.no_grad():
        for i, piece in enumerate(old_pieces):
            init.model.embedding.weight[i] = teacher[piece] @ a + b
    new_pieces = ["<unk>", "p3", "q0", "p7", "q1", *(f"p{i}" for i in range(10, 40)), "q2"]
    new_tags = TagVocab.from_tags(["O", "B-PER", "I-PER", "B-MISC", "I-MISC", "B-LOC", "I-LOC"])
    student = _trained(new_pieces, new_tags.tags, shape_dim=3, seed=5).model
    shape_columns = student.lstm[0].weight_ih_l0[:, 4:].clone()
    misc = student.head.emissions.weight[new_tags.index["B-MISC"]].clone()
    vectors = torch.stack([teacher[p] for p in new_pieces])
    have = np.ones(len(new_pieces), bool)
    have[0] = False
    carried = warm_start(student, StudentVocab(tuple(new_pieces)), new_tags, init, vectors, have, "init")
    assert (carried.shared_pieces, carried.mapped_pieces, carried.shared_tags, carried.layers) == (32, 3, 5, 2)
    weight = student.embedding.weight.detach()
    for i, piece in enumerate(new_pieces):
        if piece in old_pieces:  # as trained, <unk> included
            assert torch.equal(weight[i], init.model.embedding.weight[old_pieces.index(piece)])
        else:
            torch.testing.assert_close(weight[i], teacher[piece] @ a + b, atol=1e-4, rtol=1e-4)
    assert torch.equal(student.lstm[1].weight_hh_l0, init.model.lstm[1].weight_hh_l0)
    assert torch.equal(student.lstm[0].weight_ih_l0_reverse[:, :4], init.model.lstm[0].weight_ih_l0_reverse)
    assert torch.equal(student.lstm[0].weight_ih_l0[:, 4:], shape_columns)  # shapes: the old student had none
    old_tags = init.tags.index
    for tag in ("O", "B-PER", "I-LOC"):
        assert torch.equal(
            student.head.emissions.weight[new_tags.index[tag]], init.model.head.emissions.weight[old_tags[tag]]
        )
    assert torch.equal(student.head.emissions.weight[new_tags.index["B-MISC"]], misc)
    old_t, new_t = init.model.head.crf.transitions, student.head.crf.transitions
    assert new_t[new_tags.index["B-PER"], new_tags.index["I-PER"]] == old_t[old_tags["B-PER"], old_tags["I-PER"]]
    assert new_t[new_tags.index["B-LOC"], new_tags.index["O"]] == old_t[old_tags["B-LOC"], old_tags["O"]]


def test_a_student_of_another_size_or_tokenizer_is_refused_with_what_to_set():
    init = _trained(["<unk>", *(f"p{i}" for i in range(40))], ["O", "B-PER", "I-PER"])
    wide = StudentTagger(StudentConfig(embedding_dim=4, hidden_size=8, num_layers=2), 41, 3)
    with pytest.raises(XdnerError, match=r"its hidden_size is 6, the recipe's 8; set student\.hidden_size = 6"):
        warm_start(wide, init.vocab, init.tags, init, torch.zeros(41, H), np.ones(41, bool), "init")
    other = StudentVocab(("<unk>", *(f"x{i}" for i in range(40))))  # another tokenizer's pieces
    student = _trained(other.pieces, ["O", "B-PER", "I-PER"]).model
    with pytest.raises(XdnerError, match=r"only \d+ of its pieces .* too few to map"):
        warm_start(student, other, init.tags, init, torch.randn(41, H), np.ones(41, bool), "init")


class _Notes(Progress):
    def __init__(self):
        self.lines = []

    def note(self, text):
        self.lines.append(text)


def test_a_run_starts_from_the_smoke_student_and_refuses_a_missing_one_before_any_work(smoke_run, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    for name in ("teacher", "cache"):  # the same teacher and cache: only the student trains
        shutil.copytree(smoke_run / name, out / name)
    init = smoke_run / "student"
    cfg = load_recipe(ROOT / "recipes" / "smoke.toml", **{"student.init": str(init), "eval.gold_baseline_epochs": 0})
    notes = _Notes()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        run_distill(cfg, out, notes)
        missing = load_recipe(ROOT / "recipes" / "smoke.toml", **{"student.init": str(tmp_path)})
        with pytest.raises(XdnerError, match="not a student directory"):
            run_distill(missing, tmp_path / "x")
        other = tmp_path / "xlmr-student"  # the same weights, another tokenizer: refused, not mixed up
        shutil.copytree(init, other)
        shutil.rmtree(other / "tokenizer")
        shutil.copytree(XLMR, other / "tokenizer")
        again = tmp_path / "again"
        again.mkdir()
        for name in ("teacher", "cache"):
            shutil.copytree(smoke_run / name, again / name)
        mixed = load_recipe(ROOT / "recipes" / "smoke.toml", **{"student.init": str(other)})
        with pytest.raises(XdnerError, match="its tokenizer is not this run's student tokenizer"):
            run_distill(mixed, again)
    finally:
        os.chdir(cwd)
    line = next(n for n in notes.lines if n.startswith("student: starts from"))
    assert f"starts from {init}: 1 BiLSTM layer(s), 7 tag(s) by name" in line
    assert load_student(out / "student").model.config.init == str(init)
    assert not (tmp_path / "x").exists()  # refused before the run directory was made
