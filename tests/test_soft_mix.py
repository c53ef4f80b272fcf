"""A gold stage with ``soft_mix``: each step adds the soft loss on a batch of the transfer set."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from accelerate import Accelerator

from xtremedistil_ner.config import DistillConfig, StageConfig, StudentConfig
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.distill import DevSet, Distiller, MixedBatches, TrainSet, WordTargets, predict_tags
from xtremedistil_ner.runtime.features import featurize
from xtremedistil_ner.schedule import build_schedule
from xtremedistil_ner.student.model import StudentTagger
from xtremedistil_ner.student.vocab import StudentVocab

TAGS = TagVocab.from_types(["PER", "ORG", "LOC"])
GOLD = [["Anna", "sah", "Berlin"], ["Paul", "lief"], ["Ok", "Berlin", "ja", "nein"]]
TRANSFER = [["Kim", "kam", "heute"], ["Rom", "ist", "alt"], ["ja"], ["Lea", "und", "Max", "gingen"], ["weit"]] * 3


def test_the_schedule_carries_the_weight_to_the_gold_stage():
    declared = (StageConfig("soft", unfreeze="gradual"), StageConfig("gold", 3.0, soft_mix=0.5))
    stages = build_schedule(declared, ("embedding", "lstm.0", "head"))
    assert [(s.name, s.soft_mix) for s in stages] == [
        ("soft/unfreeze:head", 0.0),
        ("soft/unfreeze:lstm.0", 0.0),
        ("soft/unfreeze:embedding", 0.0),
        ("gold/all", 0.5),
    ]


def _sets(tokenizer, logits: np.ndarray | None = None) -> tuple[TrainSet, TrainSet, DevSet, np.ndarray]:
    transfer_feats = featurize(tokenizer, TRANSFER)
    gold_feats = featurize(tokenizer, GOLD)
    n_words = int(transfer_feats.lengths().sum())
    if logits is None:  # a teacher that calls every word B-LOC, whatever the gold says
        logits = np.full((n_words, len(TAGS)), -4.0, np.float32)
        logits[:, TAGS.index["B-LOC"]] = 4.0
    transfer = TrainSet(transfer_feats, WordTargets(tags=np.zeros(n_words, np.int64), logits=logits))
    gold_tags = [["B-PER", "O", "B-LOC"], ["B-PER", "O"], ["O", "B-LOC", "O", "O"]]
    gold = TrainSet(gold_feats, WordTargets(tags=np.asarray([TAGS.index[t] for s in gold_tags for t in s])))
    dev = DevSet(gold_feats, gold_tags, ["de"] * len(GOLD))
    vocab = StudentVocab.build(tokenizer, [transfer_feats, gold_feats], max_vocab=200)
    return transfer, gold, dev, vocab.lookup(tokenizer)


def _loc_share(tokenizer, soft_mix: float) -> float:
    """Train a tiny student on the gold for 20 steps; the share of transfer words it then tags B-LOC."""
    transfer, gold, dev, lookup = _sets(tokenizer)
    torch.manual_seed(0)
    student = StudentTagger(StudentConfig(embedding_dim=8, hidden_size=8, num_layers=1), len(lookup), len(TAGS), TAGS)
    cfg = DistillConfig(batch_size=3, lr=1e-2, evals_per_stage=1)
    distiller = Distiller(student, 4, TAGS, cfg, Accelerator(cpu=True), seed=5)
    (stage,) = build_schedule((StageConfig("gold", 20.0, soft_mix=soft_mix),), student.layer_names)
    distiller.run_stage(stage, gold, dev, lookup, transfer=transfer)
    pred = predict_tags(student.eval(), transfer.features, lookup, 8, "cpu")
    return float(np.mean([t == TAGS.index["B-LOC"] for p in pred for t in p]))


def test_the_mixed_soft_loss_pulls_the_student_to_the_teacher_on_transfer_text(mbert_tokenizer):
    alone, mixed = _loc_share(mbert_tokenizer, 0.0), _loc_share(mbert_tokenizer, 2.0)
    assert alone < 0.5 < mixed, (alone, mixed)


def test_mixed_batches_walk_every_transfer_sentence_per_pass_the_same_way_each_time(mbert_tokenizer):
    transfer, *_ = _sets(mbert_tokenizer)
    acc = Accelerator(cpu=True)
    walk = MixedBatches(transfer, 4, 7, acc)
    assert walk.per_pass == 4  # 15 sentences in batches of 4
    first = [walk.global_batch(k) for k in range(walk.per_pass)]
    assert sorted(i for b in first for i in b) == list(range(len(TRANSFER)))
    second = [walk.global_batch(k) for k in range(walk.per_pass, 2 * walk.per_pass)]
    assert second != first  # reshuffled at each pass
    again = MixedBatches(transfer, 4, 7, acc)
    assert [again.global_batch(k) for k in (5, 0, 6)] == [second[1], first[0], second[2]]  # any order, same
    assert walk.words(0) == sum(len(TRANSFER[i]) for i in first[0])
    assert walk.share(0) == first[0]  # one process takes the whole batch


def test_mixed_batches_need_teacher_logits(mbert_tokenizer):
    transfer, *_ = _sets(mbert_tokenizer)
    bare = TrainSet(transfer.features, WordTargets(tags=transfer.targets.tags))
    with pytest.raises(ValueError, match="teacher logits"):
        MixedBatches(bare, 4, 7, Accelerator(cpu=True))


@pytest.mark.parametrize(("setting", "dtype"), [("bf16", torch.bfloat16), ("no", torch.float32)])
def test_distill_autocast_runs_the_training_steps_in_bf16_and_keeps_float32_weights(mbert_tokenizer, setting, dtype):
    """``distill.autocast``: the student's emissions in a training step are bf16, its weights stay float32, and
    the stage still learns (its mean training loss falls from the first half of the steps to the second)."""
    transfer, gold, dev, lookup = _sets(mbert_tokenizer)
    torch.manual_seed(0)
    student = StudentTagger(StudentConfig(embedding_dim=8, hidden_size=8, num_layers=1), len(lookup), len(TAGS), TAGS)
    seen: list[torch.dtype] = []
    student.head.emissions.register_forward_hook(lambda m, i, out: seen.append(out.dtype) if m.training else None)
    cfg = DistillConfig(batch_size=3, lr=1e-2, evals_per_stage=2, autocast=setting)
    distiller = Distiller(student, 4, TAGS, cfg, Accelerator(cpu=True), seed=5)
    (stage,) = build_schedule((StageConfig("gold", 30.0, soft_mix=1.0),), student.layer_names)
    result = distiller.run_stage(stage, gold, dev, lookup, transfer=transfer)
    assert seen and set(seen) == {dtype}
    assert {p.dtype for p in student.parameters()} == {torch.float32}
    (_, first), (_, second) = result.train_loss
    assert second < first, result.train_loss
