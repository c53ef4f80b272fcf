"""The one training loop: teacher fine-tuning and every distillation stage step through it.

Each epoch draws length-bucketed, shuffled global batches (seeded per epoch); every process takes its share of
each global batch, so a recipe's ``batch_size`` means the same on 1 or N processes (Accelerate's
``split_batches`` idea, done on indices because our batches are variable-length buckets, not a DataLoader's
fixed ones). A step is: the caller's loss on its share, ``accelerator.backward``, the caller's clipping,
``optimizer.step()``, the caller's scheduler, ``optimizer.zero_grad()``. What happens between steps (dev
evaluation, choosing the best state, checkpointing, progress) is the caller's, through :class:`LoopHooks`.
The loop can start mid-epoch (a resumed stage), skipping the batches already done, as
``accelerate.skip_first_batches`` does for a DataLoader.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from accelerate import Accelerator

from xtremedistil_ner.data.batching import bucket_batches
from xtremedistil_ner.distributed import batch_share
from xtremedistil_ner.malloc_tuning import training_allocation


@dataclass(frozen=True)
class LoopPosition:
    """Where the loop is: ``step`` steps done, in ``epoch``, the next batch being ``position`` of that epoch."""

    step: int = 0
    epoch: int = 0
    position: int = 0


@dataclass(frozen=True)
class StepDone:
    """What the loop tells :attr:`LoopHooks.after_step` after each step.

    Attributes:
        step: steps done so far (1 after the first).
        epoch: the epoch of this step.
        position: index of this step's global batch within its epoch.
        global_ids: the whole global batch (every process's share).
        loss: this process's loss of the step (detached).
    """

    step: int
    epoch: int
    position: int
    global_ids: Sequence[int]
    loss: torch.Tensor


@dataclass
class LoopHooks:
    """The caller's part of a loop.

    Attributes:
        loss: ``ids -> loss`` for this process's share of a global batch (forward pass, autocast, train mode).
        clip: called between backward and the optimizer step (gradient clipping), or None.
        after_optimizer: called after ``optimizer.step()`` and before ``zero_grad`` (a learning-rate scheduler).
        after_step: called after every step with a :class:`StepDone`.
        end_epoch: called with the epoch number when an epoch ends (also when ``total`` or ``stop`` ends it early).
        stop: asked after every step (after ``after_step``); True ends training there (early stopping).
    """

    loss: Callable[[list[int]], torch.Tensor]
    clip: Callable[[], object] | None = None
    after_optimizer: Callable[[], object] | None = None
    after_step: Callable[[StepDone], None] | None = None
    end_epoch: Callable[[int], None] | None = None
    stop: Callable[[], bool] | None = None


def epoch_batches(lengths: Sequence[int], batch_size: int, seed: int) -> list[list[int]]:
    """The shuffled, length-bucketed global batches of one epoch."""
    return bucket_batches(lengths, batch_size=batch_size, shuffle=True, seed=seed)


def steps_per_epoch(lengths: Sequence[int], batch_size: int) -> int:
    """Global batches in one epoch (the same count whatever the shuffle)."""
    return len(bucket_batches(lengths, batch_size=batch_size))


@training_allocation()  # the steps' buffers reused from the heap (malloc_tuning.py); no result changes
def run_loop(
    accelerator: Accelerator,
    optimizer: torch.optim.Optimizer,
    lengths: Sequence[int],
    batch_size: int,
    total: int,
    epoch_seed: Callable[[int], int],
    hooks: LoopHooks,
    start: LoopPosition | None = None,
) -> int:
    """Train until ``total`` steps are done, or until ``hooks.stop`` says so.

    Args:
        accelerator: the run's Accelerator (backward, process index and count).
        optimizer: a prepared optimizer over the trainable parameters.
        lengths: ``(n_examples,)`` length of each training example, for bucketing.
        batch_size: global batch size (examples per step over all processes).
        total: steps to reach.
        epoch_seed: the shuffle seed of each epoch.
        hooks: the caller's loss, clipping, scheduler and between-step work.
        start: where to begin (a resumed stage); default the very beginning.

    Returns:
        The number of epochs begun.
    """
    start = start or LoopPosition()
    step, epoch, skip = start.step, start.epoch, start.position
    stopped = False
    while step < total and not stopped:
        batches = epoch_batches(lengths, batch_size, epoch_seed(epoch))
        for position in range(skip, len(batches)):
            if step >= total or stopped:
                break
            # every process takes its part of the same global batch: the recipe's batch_size is global
            ids = batch_share(batches[position], accelerator.process_index, accelerator.num_processes)
            loss = hooks.loss(ids)
            accelerator.backward(loss)
            if hooks.clip is not None:
                hooks.clip()
            optimizer.step()
            if hooks.after_optimizer is not None:
                hooks.after_optimizer()
            optimizer.zero_grad()
            step += 1
            if hooks.after_step is not None:
                hooks.after_step(StepDone(step, epoch, position, batches[position], loss.detach()))
            stopped = hooks.stop is not None and hooks.stop()
        skip = 0
        if hooks.end_epoch is not None:
            hooks.end_epoch(epoch)
        epoch += 1
    return epoch
