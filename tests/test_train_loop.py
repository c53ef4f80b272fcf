"""The shared training loop: step counts, epochs, the process's share, and resuming mid-epoch bit for bit."""

from __future__ import annotations

import torch
from accelerate import Accelerator

from xtremedistil_ner.train_loop import LoopHooks, LoopPosition, StepDone, run_loop, steps_per_epoch

LENGTHS = [3, 7, 2, 9, 4, 4, 1, 8, 5, 6, 2, 3, 7]


def _train(total: int, start: LoopPosition | None = None, state: dict | None = None):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    if state is not None:
        model.load_state_dict(state)
    data = torch.randn(len(LENGTHS), 4)
    seen: list[StepDone] = []
    epochs: list[int] = []
    scheduled = []

    def loss(ids: list[int]) -> torch.Tensor:
        return model(data[ids]).pow(2).mean()

    hooks = LoopHooks(
        loss=loss,
        clip=lambda: torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0),
        after_optimizer=lambda: scheduled.append(1),
        after_step=seen.append,
        end_epoch=epochs.append,
    )
    run_loop(Accelerator(cpu=True), optimizer, LENGTHS, 4, total, lambda e: 100 + e, hooks, start)
    return model, seen, epochs, scheduled


def test_the_loop_runs_total_steps_over_shuffled_epochs_and_every_hook():
    per_epoch = steps_per_epoch(LENGTHS, 4)
    assert per_epoch == 4  # 13 examples in batches of 4
    _, seen, epochs, scheduled = _train(10)
    assert [d.step for d in seen] == list(range(1, 11)) and len(scheduled) == 10
    assert epochs == [0, 1, 2]  # the third epoch is cut short by total, and still ends
    first_epoch = [i for d in seen[:per_epoch] for i in d.global_ids]
    assert sorted(first_epoch) == list(range(len(LENGTHS)))  # an epoch sees every example once
    assert [d.position for d in seen[:5]] == [0, 1, 2, 3, 0]


def test_starting_mid_epoch_continues_exactly_where_a_run_stopped():
    whole, seen, _, _ = _train(9)
    part, first, _, _ = _train(6)
    resumed, rest, _, _ = _train(9, LoopPosition(6, first[-1].epoch, first[-1].position + 1), part.state_dict())
    assert [d.global_ids for d in first + rest] == [d.global_ids for d in seen]
    assert torch.equal(whole.weight, resumed.weight) and torch.equal(whole.bias, resumed.bias)
