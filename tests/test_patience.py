"""A stage's ``patience``: it ends after that many dev evaluations without a better checkpoint."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from accelerate import Accelerator

from xtremedistil_ner import distill
from xtremedistil_ner.config import DistillConfig, EvalConfig, RunConfig, StageConfig, StudentConfig
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.distill import DevSet, Distiller, TrainSet, WordTargets, macro_dev_f1, predict_tags
from xtremedistil_ner.optim import make_adam
from xtremedistil_ner.pipeline import gold_baseline_config
from xtremedistil_ner.results import StageResult
from xtremedistil_ner.resume import ResumeStore
from xtremedistil_ner.runtime.features import featurize
from xtremedistil_ner.schedule import build_schedule
from xtremedistil_ner.student.model import StudentTagger
from xtremedistil_ner.student.vocab import StudentVocab

TAGS = TagVocab.from_types(["PER", "LOC"])
GOLD = [["Anna", "sah", "Berlin"], ["Paul", "lief"], ["Ok", "Berlin", "ja", "nein"]]
GOLD_TAGS = [["B-PER", "O", "B-LOC"], ["B-PER", "O"], ["O", "B-LOC", "O", "O"]]
DEV = [["Rom", "sah", "Anna"], ["Lea", "lief", "weit"]]
DEV_TAGS = [["B-LOC", "O", "B-PER"], ["B-PER", "O", "O"]]


def _sets(tokenizer) -> tuple[TrainSet, DevSet, np.ndarray]:
    gold_feats, dev_feats = featurize(tokenizer, GOLD), featurize(tokenizer, DEV)
    gold = TrainSet(gold_feats, WordTargets(tags=np.asarray([TAGS.index[t] for s in GOLD_TAGS for t in s])))
    dev = DevSet(dev_feats, DEV_TAGS, ["de"] * len(DEV))
    return gold, dev, StudentVocab.build(tokenizer, [gold_feats, dev_feats], max_vocab=200).lookup(tokenizer)


def _student(lookup: np.ndarray) -> StudentTagger:
    torch.manual_seed(0)
    return StudentTagger(StudentConfig(embedding_dim=8, hidden_size=8, num_layers=1), len(lookup), len(TAGS), TAGS)


def _dev_f1(tokenizer, weights: dict) -> float:
    _, dev, lookup = _sets(tokenizer)
    student = _student(lookup)
    student.load_state_dict(weights)
    return macro_dev_f1(predict_tags(student.eval(), dev.features, lookup, 8, "cpu"), dev, TAGS, "conlleval")


def _run(
    tokenizer,
    patience: int,
    lr: float,
    store: ResumeStore | None = None,
    ema: float = 0.0,
    evals_per_stage: int = 30,
    evals: int = 0,
    lr_decay: str = "constant",
) -> tuple[StageResult, dict]:
    """A tiny student's gold stage of 30 epochs of one step; one dev evaluation each unless told otherwise."""
    gold, dev, lookup = _sets(tokenizer)
    student = _student(lookup)
    cfg = DistillConfig(batch_size=3, lr=lr, evals_per_stage=evals_per_stage, ema=ema)
    distiller = Distiller(student, 4, TAGS, cfg, Accelerator(cpu=True), seed=5)
    declared = StageConfig("gold", 30.0, patience=patience, evals=evals, lr_decay=lr_decay)  # type: ignore[arg-type]
    (stage,) = build_schedule((declared,), student.layer_names)
    result = distiller.run_stage(stage, gold, dev, lookup, store=store)
    return result, {k: v.clone() for k, v in student.state_dict().items()}


def test_a_stage_that_stops_improving_ends_after_its_patience(mbert_tokenizer):
    # a learning rate too small to move dev F1: the first evaluation stays the best
    result, _ = _run(mbert_tokenizer, patience=3, lr=1e-12)
    assert [step for step, _ in result.dev_curve] == [1, 2, 3, 4]
    assert (result.best_step, result.steps, result.stopped_early) == (1, 4, True)
    full, _ = _run(mbert_tokenizer, patience=0, lr=1e-12)
    assert (full.steps, full.stopped_early, len(full.dev_curve)) == (30, False, 30)


def test_patience_keeps_the_best_checkpoint_and_the_same_curve_up_to_the_end(mbert_tokenizer):
    full, _ = _run(mbert_tokenizer, patience=0, lr=3e-2)
    early, weights = _run(mbert_tokenizer, patience=2, lr=3e-2)
    assert early.dev_curve == full.dev_curve[: len(early.dev_curve)]  # the same training until it ends
    values = [value for _, value in early.dev_curve]
    best_at = values.index(max(values))
    assert early.stopped_early and len(values) == best_at + 1 + 2  # two evaluations after the best, no more
    assert early.best_step == early.dev_curve[best_at][0] and early.best_metric == max(values)
    assert _dev_f1(mbert_tokenizer, weights) == early.best_metric  # the student left is the best checkpoint


def test_a_stage_s_own_evals_replace_evals_per_stage_and_leave_training_alone(mbert_tokenizer):
    every, _ = _run(mbert_tokenizer, patience=0, lr=3e-2)
    own, _ = _run(mbert_tokenizer, patience=0, lr=3e-2, evals_per_stage=2, evals=6)
    assert [step for step, _ in own.dev_curve] == [5, 10, 15, 20, 25, 30]
    # evaluating never changes training: the same dev F1 at the steps both evaluated
    assert own.dev_curve == [point for point in every.dev_curve if point[0] % 5 == 0]
    default, _ = _run(mbert_tokenizer, patience=0, lr=3e-2, evals_per_stage=2)
    assert [step for step, _ in default.dev_curve] == [15, 30]
    with pytest.raises(ValueError, match="evals"):
        StageConfig("gold", evals=-1)


class _KeepingStore(ResumeStore):
    """A resume store that also keeps a copy of each in-progress checkpoint it writes (as a crash would leave)."""

    def save_checkpoint(self, progress, model, best, optimizer, average=None) -> None:  # type: ignore[override]
        super().save_checkpoint(progress, model, best, optimizer, average)
        shutil.rmtree(self.root.parent / "last-ckpt", ignore_errors=True)
        shutil.copytree(self.root / "ckpt", self.root.parent / "last-ckpt")


@pytest.mark.parametrize("ema", [0.0, 0.8])
def test_a_stage_resumed_before_its_end_ends_at_the_same_step_with_the_same_weights(mbert_tokenizer, tmp_path, ema):
    first, weights = _run(mbert_tokenizer, patience=2, lr=3e-2, store=_KeepingStore(tmp_path / "a", "f"), ema=ema)
    assert first.stopped_early
    # the stage saved no checkpoint where it ended: the last one is the evaluation before
    kept = tmp_path / "last-ckpt" / "progress.json"
    assert json.loads(kept.read_text())["step"] == first.steps - 1
    assert (tmp_path / "last-ckpt" / "average.safetensors").is_file() == bool(ema)
    resumed_root = tmp_path / "b"
    ResumeStore(resumed_root, "f")
    shutil.copytree(tmp_path / "last-ckpt", resumed_root / "ckpt")
    again, weights_again = _run(mbert_tokenizer, patience=2, lr=3e-2, store=ResumeStore(resumed_root, "f"), ema=ema)
    assert (again.steps, again.best_step, again.dev_curve) == (first.steps, first.best_step, first.dev_curve)
    assert all(torch.equal(weights[k], weights_again[k]) for k in weights)


def test_a_linear_lr_decay_falls_to_zero_at_the_stage_s_last_step(mbert_tokenizer, monkeypatch):
    seen: list[float] = []

    def recording_adam(params, lr, **kwargs):
        optimizer = make_adam(params, lr, **kwargs)
        step = optimizer.step

        def recorded(*args, **kw):
            seen.append(optimizer.param_groups[0]["lr"])
            return step(*args, **kw)

        optimizer.step = recorded  # type: ignore[method-assign]
        return optimizer

    monkeypatch.setattr(distill, "make_adam", recording_adam)
    _run(mbert_tokenizer, patience=0, lr=3e-2, lr_decay="linear")
    assert seen == pytest.approx([3e-2 * (1 - k / 30) for k in range(30)])
    seen.clear()
    _run(mbert_tokenizer, patience=0, lr=3e-2)
    assert seen == [3e-2] * 30
    with pytest.raises(ValueError, match="lr_decay"):
        StageConfig("gold", lr_decay="cosine")  # type: ignore[arg-type]


def test_a_resumed_stage_continues_the_same_lr_decay(mbert_tokenizer, tmp_path):
    first, weights = _run(
        mbert_tokenizer, patience=0, lr=3e-2, store=_KeepingStore(tmp_path / "a", "f"), evals=3, lr_decay="linear"
    )
    kept = tmp_path / "last-ckpt" / "progress.json"
    assert json.loads(kept.read_text())["step"] == 20  # a crash after the second of three evaluations
    resumed_root = tmp_path / "b"
    ResumeStore(resumed_root, "f")
    shutil.copytree(tmp_path / "last-ckpt", resumed_root / "ckpt")
    again, weights_again = _run(
        mbert_tokenizer, patience=0, lr=3e-2, store=ResumeStore(resumed_root, "f"), evals=3, lr_decay="linear"
    )
    assert again.dev_curve == first.dev_curve
    assert all(torch.equal(weights[k], weights_again[k]) for k in weights)
    _, constant = _run(mbert_tokenizer, patience=0, lr=3e-2, evals=3)
    assert any(not torch.equal(weights[k], constant[k]) for k in weights)


def test_with_ema_the_stage_scores_and_keeps_the_averaged_weights(mbert_tokenizer):
    plain, plain_weights = _run(mbert_tokenizer, patience=0, lr=3e-2)
    averaged, weights = _run(mbert_tokenizer, patience=0, lr=3e-2, ema=0.8)
    assert averaged.dev_curve != plain.dev_curve  # the average is what dev scores
    assert _dev_f1(mbert_tokenizer, weights) == averaged.best_metric
    assert any(not torch.equal(weights[k], plain_weights[k]) for k in weights)


def test_the_gold_only_baseline_takes_its_patience_from_the_eval_section():
    cfg = RunConfig(eval=EvalConfig(gold_baseline_epochs=10, gold_baseline_patience=3))
    (stage,) = gold_baseline_config(cfg).distill.stages
    assert (stage.objective, stage.epochs, stage.patience) == ("gold", 10, 3)


def test_the_gold_only_baseline_takes_its_own_batch_and_rate_when_set():
    base = RunConfig(eval=EvalConfig(gold_baseline_epochs=8))
    assert (gold_baseline_config(base).distill.batch_size, gold_baseline_config(base).distill.lr) == (
        base.distill.batch_size,
        base.distill.lr,
    )
    own = RunConfig(eval=EvalConfig(gold_baseline_epochs=8, gold_baseline_batch_size=7, gold_baseline_lr=0.5))
    assert (gold_baseline_config(own).distill.batch_size, gold_baseline_config(own).distill.lr) == (7, 0.5)
    assert own.distill.batch_size == base.distill.batch_size  # the distilled student's own stay as they were
