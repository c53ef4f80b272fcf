"""The distiller: walks the stage list, owns the hidden-state projection, selects each stage's best on dev.

Per stage (the Accelerate pattern for changing optimizers): unwrap, ``free_memory()``, set ``requires_grad``,
build the optimizer over trainable parameters only, ``prepare`` again. The best state of a stage is the one
with the best dev score (dev F1 for label objectives, dev hidden MSE against the teacher for ``hidden``); the
next stage starts from it. Test data is never seen here.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.logging import get_logger
from torch import nn

from xtremedistil_ner.autocast import autocast, use_bf16
from xtremedistil_ner.config import DistillConfig
from xtremedistil_ner.data.batching import bucket_batches
from xtremedistil_ner.data.records import TeacherTargets
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.distributed import batch_share, map_gathered, share
from xtremedistil_ner.errors import XdnerError
from xtremedistil_ner.evaluate import score
from xtremedistil_ner.events import emit
from xtremedistil_ner.losses import SOFT_LOSSES, SoftInputs, hidden_mse
from xtremedistil_ner.malloc_tuning import trim_heap
from xtremedistil_ner.optim import clip_gradients, make_adam
from xtremedistil_ner.results import StageResult
from xtremedistil_ner.resume import ResumeStore, set_rng
from xtremedistil_ner.runtime.features import Featurized
from xtremedistil_ner.schedule import Stage, set_trainable
from xtremedistil_ner.shard_rows import ShardRows
from xtremedistil_ner.student.model import StudentBatch, StudentOutput, StudentTagger
from xtremedistil_ner.student.vocab import make_batch, word_rows
from xtremedistil_ner.train_loop import (
    LoopHooks,
    LoopPosition,
    StepDone,
    epoch_batches,
    run_loop,
    steps_per_epoch,
)
from xtremedistil_ner.weight_average import WeightAverage

logger = get_logger(__name__)
TRIM_EVERY = 50  # steps between handing freed heap pages back to the OS (batch shapes vary: glibc fragments)


Rows = np.ndarray | ShardRows  # an in-memory array, or the transfer cache read on demand


@dataclass
class WordTargets:
    """Per-word training targets aligned with a :class:`Featurized` set (``n_words`` rows).

    Each is an array or a :class:`~xtremedistil_ner.shard_rows.ShardRows` (indexed by word-row arrays only).

    Attributes:
        logits: ``(n_words, num_tags)`` teacher logits, or ``None``.
        hidden: ``(n_words, teacher_hidden)`` teacher layer (float16), or ``None``.
        tags: ``(n_words,)`` teacher hard tags (transfer) or gold tags (labeled).
    """

    tags: Rows
    logits: Rows | None = None
    hidden: Rows | None = None

    @classmethod
    def stack(cls, targets: Sequence[TeacherTargets]) -> WordTargets:
        """Concatenate per-sentence teacher targets into word rows (logits and hidden as float16)."""
        return cls(
            tags=np.concatenate([t.tags for t in targets]),
            logits=np.concatenate([t.logits for t in targets]).astype(np.float16),
            hidden=np.concatenate([t.hidden for t in targets]).astype(np.float16),
        )


@dataclass
class TrainSet:
    """Featurized sentences and their word targets."""

    features: Featurized
    targets: WordTargets


@dataclass
class DevSet:
    """Dev sentences per language: features, gold tags per sentence, optional teacher targets for ``hidden``."""

    features: Featurized
    gold: list[list[str]]
    langs: list[str]
    teacher: WordTargets | None = None


class DistillModel(nn.Module):
    """The student plus the projection to the teacher's width (trained with it, not saved with it)."""

    def __init__(self, student: StudentTagger, teacher_hidden: int) -> None:
        super().__init__()
        self.student = student
        self.projection = nn.Linear(student.output_size, max(teacher_hidden, 1))


def predict_tags(
    student: StudentTagger,
    features: Featurized,
    lookup: np.ndarray,
    batch_size: int,
    device: torch.device | str,
    indices: Sequence[int] | None = None,
) -> list[list[int]]:
    """Viterbi tag ids for sentences ``indices`` of ``features`` (default: all), in that order."""
    student.eval()
    wanted = list(range(len(features))) if indices is None else list(indices)
    all_lengths = features.lengths()
    lengths = [int(all_lengths[i]) for i in wanted]
    out: list[list[int]] = [[] for _ in wanted]
    with torch.inference_mode():
        for positions in bucket_batches(lengths, batch_size=batch_size):
            paths = student.decode(make_batch(features, lookup, [wanted[p] for p in positions]).to(device))
            for p, path in zip(positions, paths, strict=True):
                out[p] = path
    return out


def predict_tags_gathered(
    accelerator: Accelerator, student: StudentTagger, features: Featurized, lookup: np.ndarray, batch_size: int
) -> list[list[int]]:
    """:func:`predict_tags` over all sentences, each process decoding its share; every process gets all paths."""
    device = accelerator.device
    return map_gathered(
        accelerator, len(features), lambda ids: predict_tags(student, features, lookup, batch_size, device, ids)
    )


def macro_dev_f1(pred: Sequence[Sequence[int]], dev: DevSet, tags: TagVocab, mode: str) -> float:
    """Mean over languages of dev entity F1."""
    by_lang: dict[str, tuple[list, list]] = {}
    for p, g, lang in zip(pred, dev.gold, dev.langs, strict=True):
        gold, guess = by_lang.setdefault(lang, ([], []))
        gold.append(g)
        guess.append(tags.decode(p))
    return float(np.mean([score(g, p, mode).overall.f1 for g, p in by_lang.values()]))


def teacher_agreement(pred: Sequence[Sequence[int]], dev: DevSet) -> float:
    """Share of dev words whose predicted tag id equals the teacher's (-1.0 without teacher dev tags)."""
    if dev.teacher is None or dev.teacher.tags is None or not len(dev.teacher.tags):
        return -1.0
    flat = np.fromiter((t for p in pred for t in p), dtype=np.int64, count=sum(len(p) for p in pred))
    if len(flat) != len(dev.teacher.tags):
        return -1.0
    return float(np.mean(flat == np.asarray(dev.teacher.tags)))


def _dev_hidden_mse(model: DistillModel, dev: DevSet, lookup: np.ndarray, accelerator: Accelerator) -> float:
    """Mean over dev words of the projected-hidden MSE; each process scores its share of the sentences."""
    assert dev.teacher is not None and dev.teacher.hidden is not None
    device = accelerator.device
    model.eval()

    def sums(ids: list[int]) -> tuple[float, int]:
        out = []
        all_lengths = dev.features.lengths()
        lengths = [int(all_lengths[i]) for i in ids]
        with torch.inference_mode():
            for positions in bucket_batches(lengths, batch_size=256):
                batch_ids = [ids[p] for p in positions]
                batch = make_batch(dev.features, lookup, batch_ids).to(device)
                hidden = model.student(batch).hidden
                rows = word_rows(dev.features, batch_ids)
                assert dev.teacher is not None and dev.teacher.hidden is not None
                target = _scatter_rows(dev.teacher.hidden[rows], batch.mask, device)
                out.append((float(hidden_mse(model.projection(hidden), target, batch.mask)) * len(rows), len(rows)))
        return sum(t for t, _ in out), sum(c for _, c in out)

    world = accelerator.num_processes
    parts = [sums(share(len(dev.features), accelerator.process_index, world))]
    if world > 1:  # one (sum, count) per process
        from accelerate.utils import gather_object

        parts = gather_object(parts)
    total, count = sum(t for t, _ in parts), sum(c for _, c in parts)
    return total / max(count, 1)


def _scatter_rows(rows: np.ndarray, mask: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """Place flat word rows ``(n_words, d)`` into a ``(batch, seq, d)`` tensor at True positions of ``mask``."""
    values = torch.from_numpy(np.ascontiguousarray(rows)).to(device)
    out = values.new_zeros(*mask.shape, *values.shape[1:])
    out[mask] = values
    return out


class MixedBatches:
    """The transfer batches a gold stage with ``soft_mix`` adds.

    Step ``k`` takes global batch ``k`` of a walk through the transfer set, reshuffled (seeded) at each pass,
    so a resumed stage draws the same batches.

    Args:
        data: the transfer set (teacher logits needed).
        batch_size: global sentences per batch.
        seed: base seed of the walk.
        accelerator: gives this process's share of a global batch.
    """

    def __init__(self, data: TrainSet | None, batch_size: int, seed: int, accelerator: Accelerator) -> None:
        if data is None or data.targets.logits is None:
            raise ValueError("a gold stage with soft_mix needs the transfer set and its teacher logits")
        self.data = data
        self.batch_size = batch_size
        self.seed = seed
        self.accelerator = accelerator
        self.lengths = data.features.lengths().tolist()
        self.per_pass = steps_per_epoch(self.lengths, batch_size)
        self._pass: tuple[int, list[list[int]]] = (-1, [])

    def global_batch(self, step: int) -> list[int]:
        """Transfer sentence ids of global batch ``step`` (0-based)."""
        walk, position = divmod(step, self.per_pass)
        if self._pass[0] != walk:
            self._pass = (walk, epoch_batches(self.lengths, self.batch_size, self.seed + 104729 + 7919 * walk))
        return self._pass[1][position]

    def share(self, step: int) -> list[int]:
        """This process's part of global batch ``step``."""
        acc = self.accelerator
        return batch_share(self.global_batch(step), acc.process_index, acc.num_processes)

    def words(self, step: int) -> int:
        """Words in global batch ``step`` (for the stage's words/s)."""
        return sum(self.lengths[i] for i in self.global_batch(step))


def evals_since_best(result: StageResult) -> int:
    """Dev evaluations of a stage after its best checkpoint (its start, step 0, is not an evaluation)."""
    return sum(1 for step, _ in result.dev_curve if step > result.best_step)


class Distiller:
    """Runs a schedule of stages over a student.

    Args:
        student: the student (unwrapped).
        teacher_hidden: width of the teacher layer the ``hidden`` objective matches.
        tags: the tag set.
        cfg: loss and optimisation settings.
        accelerator: the one Accelerator of the run.
        seed: base seed of batch shuffling.
    """

    def __init__(
        self,
        student: StudentTagger,
        teacher_hidden: int,
        tags: TagVocab,
        cfg: DistillConfig,
        accelerator: Accelerator,
        seed: int,
        eval_mode: str = "conlleval",
    ) -> None:
        self.model = DistillModel(student, teacher_hidden)
        self.tags = tags
        self.cfg = cfg
        self.accelerator = accelerator
        self.seed = seed
        self.eval_mode = eval_mode
        # (metric, value, teacher agreement) of the state the next stage starts from
        self._carry: tuple[str, float, float] | None = None

    def _forward(
        self, model: nn.Module, data: TrainSet, ids: list[int], lookup: np.ndarray
    ) -> tuple[DistillModel, StudentBatch, StudentOutput, np.ndarray]:
        """The student over sentences ``ids`` of ``data``: (unwrapped model, batch, output, their word rows)."""
        batch = make_batch(data.features, lookup, ids).to(self.accelerator.device)
        inner: DistillModel = getattr(model, "module", model)  # type: ignore[arg-type]
        return inner, batch, inner.student(batch), word_rows(data.features, ids)

    def _loss(self, model: nn.Module, stage: Stage, data: TrainSet, ids: list[int], lookup: np.ndarray) -> dict:
        device = self.accelerator.device
        inner, batch, out, rows = self._forward(model, data, ids, lookup)
        losses: dict[str, torch.Tensor] = {}
        if stage.objective == "hidden":
            assert data.targets.hidden is not None
            target = _scatter_rows(data.targets.hidden[rows], batch.mask, device).float()
            losses["hidden"] = hidden_mse(inner.projection(out.hidden), target, batch.mask)
        elif stage.objective == "soft":
            losses["soft"] = self._soft(inner, out, batch.mask, data, rows)
        else:
            gold = _scatter_rows(data.targets.tags[rows], batch.mask, device).long()
            losses[stage.objective] = -inner.student.head.crf.log_likelihood(
                out.emissions, gold, batch.mask, reduction="token_mean"
            )
        return losses

    def _soft(
        self, inner: DistillModel, out: StudentOutput, mask: torch.Tensor, data: TrainSet, rows: np.ndarray
    ) -> torch.Tensor:
        """The soft loss of ``out`` ``(batch, seq, num_tags)`` emissions against the teacher logits of ``rows``."""
        assert data.targets.logits is not None
        target = _scatter_rows(data.targets.logits[rows], mask, self.accelerator.device).float()
        inputs = SoftInputs(out.emissions, target, mask, self.cfg.temperature, inner.student.head.crf)
        return SOFT_LOSSES[self.cfg.soft_loss](inputs)

    def _mixed_soft(self, model: nn.Module, transfer: TrainSet, ids: list[int], lookup: np.ndarray) -> torch.Tensor:
        """The soft loss on transfer sentences ``ids`` (a gold stage's ``soft_mix`` term)."""
        inner, batch, out, rows = self._forward(model, transfer, ids, lookup)
        return self._soft(inner, out, batch.mask, transfer, rows)

    def restore_finished(self, store: ResumeStore, finished: Sequence[dict]) -> list[StageResult]:
        """Continue after the finished stages recorded in ``store``: their chosen state, carry and RNG."""
        last = len(finished) - 1
        self.model.load_state_dict(store.finished_model(last))
        metric, value, *agree = finished[last]["carry"]
        self._carry = (metric, float(value), float(agree[0]) if agree else -1.0)
        rng = store.finished_rng(last)
        if rng is not None:
            set_rng(rng)
        return [StageResult.from_dict(f["result"]) for f in finished]

    def run_stage(
        self,
        stage: Stage,
        data: TrainSet,
        dev: DevSet,
        lookup: np.ndarray,
        on_step: Callable[[int], None] | None = None,
        store: ResumeStore | None = None,
        index: int = 0,
        transfer: TrainSet | None = None,
    ) -> StageResult:
        """Train one stage and leave the student at the stage's best dev checkpoint.

        With ``store``, the stage saves its state at every dev evaluation, continues from a saved state of
        stage ``index`` when there is one, and is recorded as finished at the end. A gold stage with
        ``soft_mix`` reads ``transfer`` too: step ``k`` adds the soft loss on the ``k``-th batch of a seeded,
        cycled walk through it (the same on a resumed stage).
        """
        import time

        acc = self.accelerator
        model = self.model
        acc.free_memory()
        student = model.student
        prefixes = [
            p if p == "projection" else f"student.{name}" for p in stage.trainable for name in student.prefixes(p)
        ]
        set_trainable(model, prefixes)
        params = [p for p in model.parameters() if p.requires_grad]
        # distill.embedding_grad = "sparse": the table's gradient holds only the rows of the batch's pieces
        sparse_rows = self.cfg.embedding_grad == "sparse" and model.student.embedding.weight.requires_grad
        model.student.embedding.sparse = sparse_rows
        base_lr = stage.lr or self.cfg.lr
        optimizer = make_adam(params, lr=base_lr, weight_decay=self.cfg.weight_decay, sparse_rows=sparse_rows)
        wrapped, optimizer = acc.prepare(model, optimizer)
        average = WeightAverage(model, self.cfg.ema) if self.cfg.ema else None
        lengths = data.features.lengths().tolist()
        total = max(1, math.ceil(steps_per_epoch(lengths, self.cfg.batch_size) * stage.epochs))
        evals = stage.evals or self.cfg.evals_per_stage
        checkpoints = sorted({max(1, round(total * (k + 1) / evals)) for k in range(evals)})
        metric = "dev_hidden_mse" if stage.objective == "hidden" else "dev_macro_f1"
        result = StageResult(stage.name, stage.objective, stage.trainable, total, 0.0, 0.0, metric=metric)
        # The stage's starting point is a candidate too: a stage that never beats it on dev changes nothing.
        best_state, best, best_agree = copy.deepcopy(model.state_dict()), None, -1.0
        if self._carry is not None and self._carry[0] == metric:
            best, best_agree = self._carry[1], self._carry[2]
            result.dev_curve.append((0, best))
        begin, words, running, elapsed = LoopPosition(), 0, 0.0, 0.0
        saved = store.checkpoint(index) if store is not None else None
        if saved is not None:  # resume: model, best state, optimizer, RNG and data position as saved
            model.load_state_dict(saved.model)
            best_state = saved.best
            optimizer.load_state_dict(saved.optimizer)
            if average is not None:
                if saved.average is None:
                    raise XdnerError(f"{stage.name}: the saved stage has no weight average; delete the state dir")
                average.load(saved.average)
            if saved.rng is not None:
                set_rng(saved.rng)
            p = saved.progress
            begin = LoopPosition(p["step"], p["epoch"], p["position"])
            words, elapsed, best, best_agree = p["words"], p["elapsed"], p["best"], p.get("best_agree", -1.0)
            result = StageResult.from_dict(p["result"])
            logger.info(f"{stage.name}: resumed at step {begin.step}/{total}")
            if on_step:
                on_step(begin.step)
        start = time.perf_counter() - elapsed

        def set_lr(step: int) -> None:
            # stage.lr_decay = "linear": the lr of the step after ``step`` steps, a function of the step alone
            if stage.lr_decay == "linear":
                for group in optimizer.param_groups:
                    group["lr"] = base_lr * max(0.0, 1.0 - step / total)

        set_lr(begin.step)
        mix = MixedBatches(transfer, self.cfg.batch_size, self.seed, acc) if stage.soft_mix else None
        done_steps = [begin.step]
        stopping = [False]  # stage.patience reached: the loop ends after this step

        bf16 = use_bf16(self.cfg.autocast, acc.device)

        def loss(ids: list[int]) -> torch.Tensor:
            wrapped.train()
            # acc.autocast: run.mixed_precision (GPU fp16/bf16); autocast: distill.autocast (bf16 steps on a CPU)
            with acc.autocast(), autocast(bf16, acc.device):
                losses = self._loss(wrapped, stage, data, ids, lookup)
                if mix is not None:
                    losses["soft_mix"] = stage.soft_mix * self._mixed_soft(
                        wrapped, mix.data, mix.share(done_steps[0]), lookup
                    )
            return sum(losses.values())  # type: ignore[return-value]

        def after_step(done: StepDone) -> None:
            nonlocal words, running, best, best_agree, best_state
            step = done_steps[0] = done.step
            set_lr(step)
            if average is not None:
                average.update()
            words += sum(lengths[i] for i in done.global_ids) + (mix.words(step - 1) if mix is not None else 0)
            running += float(done.loss)
            if on_step:
                on_step(1)
            if step % TRIM_EVERY == 0:
                trim_heap()
            if step in checkpoints:
                result.train_loss.append(
                    (step, running / max(1, step - (result.train_loss[-1][0] if result.train_loss else 0)))
                )
                running = 0.0
                eval_start = time.perf_counter()
                with average.applied() if average is not None else contextlib.nullcontext():
                    value, agree = self._dev_metric(stage, dev, lookup)
                    # equal dev F1 (a tiny dev set, or one with few entities): the state closer to the teacher wins
                    better = best is None or (
                        value < best if stage.objective == "hidden" else (value, agree) > (best, best_agree)
                    )
                    if better:
                        best, best_agree, result.best_step = value, agree, step
                        best_state = copy.deepcopy(model.state_dict())
                result.eval_seconds += time.perf_counter() - eval_start
                result.dev_curve.append((step, value))
                logger.info(f"{stage.name} step {step}/{total}: {metric} {value:.4f}")
                stopping[0] = 0 < stage.patience <= evals_since_best(result) and step < total
                if stopping[0]:
                    logger.info(
                        f"{stage.name}: no better dev checkpoint in {stage.patience} evaluations: "
                        f"stage ends at step {step}/{total}"
                    )
                # a stage that ends here saves no checkpoint: a crash before it is recorded as finished resumes
                # from the evaluation before, which trains to this one and stops here again
                if store is not None and step < total and not stopping[0]:
                    progress = {
                        "stage_index": index,
                        "stage": stage.name,
                        "step": step,
                        "epoch": done.epoch,
                        "position": done.position + 1,
                        "words": words,
                        "best": best,
                        "best_agree": best_agree,
                        "elapsed": time.perf_counter() - start,
                        "result": dataclasses.asdict(result),
                    }
                    store.save_checkpoint(
                        progress, model, best_state, optimizer, average.state() if average is not None else None
                    )
            emit(f"step:{stage.name}:{step}")

        clip = (lambda: clip_gradients(acc, params, self.cfg.grad_clip)) if self.cfg.grad_clip else None
        hooks = LoopHooks(loss=loss, clip=clip, after_step=after_step, stop=lambda: stopping[0])
        run_loop(acc, optimizer, lengths, self.cfg.batch_size, total, lambda e: self.seed + 7919 * e, hooks, begin)
        result.steps, result.stopped_early = done_steps[0], done_steps[0] < total
        result.seconds = time.perf_counter() - start
        # training throughput: dev evaluations are timed apart (eval_seconds)
        result.words_per_second = words / max(result.seconds - result.eval_seconds, 1e-9)
        result.best_metric = float(best if best is not None else 0.0)
        model.load_state_dict(best_state)
        model.student.embedding.sparse = False
        self._carry = (metric, result.best_metric, best_agree)
        set_trainable(model, [n for n, _ in model.named_parameters()])
        if store is not None:
            store.save_finished(index, {"result": dataclasses.asdict(result), "carry": list(self._carry)}, model)
        return result

    def _dev_metric(self, stage: Stage, dev: DevSet, lookup: np.ndarray) -> tuple[float, float]:
        """(dev metric, agreement with the teacher's dev tags): the second only breaks ties of the first."""
        if stage.objective == "hidden":
            return _dev_hidden_mse(self.model, dev, lookup, self.accelerator), 0.0
        pred = predict_tags_gathered(self.accelerator, self.model.student, dev.features, lookup, 256)
        return macro_dev_f1(pred, dev, self.tags, self.eval_mode), teacher_agreement(pred, dev)
