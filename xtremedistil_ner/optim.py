"""Optimizer construction and gradient clipping for the student stages (CPU-friendly, results unchanged)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedType

# Plain data parallel (or none): gradients are ordinary local tensors, so clipping is torch's own arithmetic.
PLAIN = {DistributedType.NO, DistributedType.MULTI_CPU, DistributedType.MULTI_GPU}
EPS = 1e-6  # torch.nn.utils.clip_grads_with_norm_: coefficient = max_norm / (total_norm + 1e-6), clamped to 1


def make_adam(
    params: list, lr: float, weight_decay: float = 0.0, decoupled: bool = False, sparse_rows: bool = False
) -> torch.optim.Optimizer:
    """Adam/AdamW, fused where the parameters' device supports it (far faster steps on CPU for big tables).

    ``sparse_rows``: :class:`RowSparseAdam`, for a model whose embedding table gives sparse gradients.
    """
    if sparse_rows and decoupled:
        raise ValueError("sparse row gradients take Adam's coupled weight decay, not AdamW's")
    cls = RowSparseAdam if sparse_rows else torch.optim.AdamW if decoupled else torch.optim.Adam
    try:
        return cls(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return cls(params, lr=lr, weight_decay=weight_decay)


class RowSparseAdam(torch.optim.Adam):
    """Adam that also takes sparse row gradients (an ``nn.EmbeddingBag(sparse=True)`` table).

    Dense gradients go to torch's Adam (fused where it can be), unchanged. A sparse gradient updates only its
    rows, as ``torch.optim.SparseAdam`` does: their moments are advanced, the bias correction uses the
    parameter's step count, rows absent from the batch stay as they are. Each parameter keeps Adam's state keys
    (``step``, ``exp_avg``, ``exp_avg_sq``), so a saved state resumes like any Adam's. No closure.
    """

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        """One update of every parameter with a gradient."""
        if closure is not None:
            raise ValueError("RowSparseAdam.step takes no closure")
        sparse = [(g, p) for g in self.param_groups for p in g["params"] if p.grad is not None and p.grad.is_sparse]
        grads = {id(p): p.grad for _, p in sparse}
        for _, p in sparse:
            p.grad = None  # hidden from torch's Adam, which refuses sparse gradients
        try:
            super().step()
        finally:
            for _, p in sparse:
                p.grad = grads[id(p)]
        for group, p in sparse:
            self._row_update(group, p, grads[id(p)])

    def _row_update(self, group: dict, p: torch.Tensor, grad: torch.Tensor) -> None:
        beta1, beta2 = group["betas"]
        grad = grad.coalesce()
        # shape: (rows,) row ids; (rows, dim) their gradients
        rows, values = grad.indices()[0], grad.values()
        state = self.state[p]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["step"] += 1
        step = float(state["step"])
        if group["weight_decay"]:
            values = values.add(p[rows], alpha=group["weight_decay"])
        exp_avg = state["exp_avg"][rows].mul_(beta1).add_(values, alpha=1 - beta1)
        exp_avg_sq = state["exp_avg_sq"][rows].mul_(beta2).addcmul_(values, values, value=1 - beta2)
        state["exp_avg"].index_copy_(0, rows, exp_avg)
        state["exp_avg_sq"].index_copy_(0, rows, exp_avg_sq)
        denom = (exp_avg_sq.sqrt() / math.sqrt(1 - beta2**step)).add_(group["eps"])
        p.index_add_(0, rows, exp_avg / denom, alpha=-group["lr"] / (1 - beta1**step))


def clip_gradients(accelerator: Accelerator, params: Sequence[torch.nn.Parameter], max_norm: float) -> float:
    """``accelerator.clip_grad_norm_`` that skips the scaling pass when it would multiply by exactly 1.

    torch scales every gradient by ``min(max_norm / (norm + 1e-6), 1)`` at every step; when the norm is within
    bounds that is a multiplication by 1.0 (exact), yet a full read and write of each gradient (a 3M-row
    embedding gradient here: ~2 ms a step on 2 cores). The norm and, when clipping happens, the scaling are
    torch's own functions, so results are bit-identical. Off the CPU (where deciding would cost a device sync
    and the pass is cheap) and in sharded setups (FSDP, DeepSpeed, XLA) this is Accelerate's own call.

    Returns:
        The total gradient norm before clipping (NaN when the engine does not report it).
    """
    for p in params:
        if p.grad is not None and p.grad.is_sparse:
            p.grad = p.grad.coalesce()  # repeated rows summed: the values' norm is the gradient's norm
    grads = [p.grad.values() if p.grad.is_sparse else p.grad for p in params if p.grad is not None]
    sparse = any(p.grad is not None and p.grad.is_sparse for p in params)
    if not sparse and (accelerator.distributed_type not in PLAIN or any(g.device.type != "cpu" for g in grads)):
        norm = accelerator.clip_grad_norm_(params, max_norm)  # DeepSpeed clips inside and may return None
        return float(norm) if norm is not None else float("nan")
    if not grads:
        return 0.0
    accelerator.unscale_gradients()  # no-op unless a gradient scaler is in use
    total = torch.nn.utils.get_total_norm(grads)
    coefficient = torch.clamp(max_norm / (total + EPS), max=1.0)
    if bool(coefficient < 1.0):
        torch.nn.utils.clip_grads_with_norm_(params, max_norm, total)
    return float(total)
